/**
 * Netlink attribute (TLV) codec: `struct nlattr { u16 len; u16 type; }` followed by
 * the payload, each attribute padded to 4 bytes. Nested attributes carry a list of
 * attributes as their payload and set NLA_F_NESTED.
 */
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';
import { NetlinkUsageError } from './errors.js';

/** Netlink alignment: every header and attribute starts on a 4-byte boundary. */
export const NLA_ALIGNTO = 4;

/** Rounds `n` up to the netlink alignment. */
export function nlAlign(n: number): number {
  return (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
}

/** An attribute to encode: raw bytes, or a nested list of attributes. */
export type Attr =
  | { readonly type: number; readonly data: Uint8Array }
  | { readonly type: number; readonly nested: readonly Attr[] };

/** An attribute carrying raw bytes. */
export function bytesAttr(type: number, data: Uint8Array): Attr {
  return { type, data };
}

/** An attribute carrying a host-endian u32. */
export function u32Attr(type: number, value: number): Attr {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, value >>> 0, true);
  return { type, data };
}

/** An attribute carrying a host-endian s32 (e.g. a file descriptor, or -1). */
export function s32Attr(type: number, value: number): Attr {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setInt32(0, value | 0, true);
  return { type, data };
}

/** An attribute carrying a NUL-terminated string. */
export function stringAttr(type: number, value: string): Attr {
  const text = new TextEncoder().encode(value);
  const data = new Uint8Array(text.length + 1);
  data.set(text);
  return { type, data };
}

/** A nested attribute (NLA_F_NESTED is set on encode). */
export function nestedAttr(type: number, children: readonly Attr[]): Attr {
  return { type, nested: children };
}

/** Bytes an attribute list takes once encoded (with padding). */
export function attrsLength(attrs: readonly Attr[]): number {
  let n = 0;
  for (const a of attrs) n += nlAlign(4 + attrPayloadLength(a));
  return n;
}

function attrPayloadLength(a: Attr): number {
  return 'data' in a ? a.data.length : attrsLength(a.nested);
}

/** Encodes `attrs` into `out` at `offset`; returns the offset after the last one. */
export function encodeAttrs(attrs: readonly Attr[], out: Uint8Array, offset: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const a of attrs) {
    const payload = attrPayloadLength(a);
    const len = 4 + payload;
    if (len > 0xffff) throw new NetlinkUsageError(`attribute type ${a.type} is ${len} bytes; netlink attributes hold at most 65535`);
    view.setUint16(offset, len, true);
    view.setUint16(offset + 2, 'data' in a ? a.type : a.type | NLA_F_NESTED, true);
    if ('data' in a) out.set(a.data, offset + 4);
    else encodeAttrs(a.nested, out, offset + 4);
    // Padding bytes stay zero: `out` is freshly allocated by the caller.
    offset += nlAlign(len);
  }
  return offset;
}

/** One decoded attribute: its type (flags stripped), whether it was marked nested, its payload. */
export interface DecodedAttr {
  readonly type: number;
  readonly nestedFlag: boolean;
  readonly data: Uint8Array;
}

/**
 * A decoded attribute list with typed accessors. Later duplicates of a type are kept
 * in `all` but `get` returns the first, as the kernel's own parser does.
 */
export class AttrSet {
  readonly all: readonly DecodedAttr[];

  constructor(all: readonly DecodedAttr[]) {
    this.all = all;
  }

  /** Decodes a buffer that holds nothing but attributes. */
  static decode(buf: Uint8Array): AttrSet {
    return new AttrSet(decodeAttrs(buf));
  }

  /** Whether an attribute of `type` is present. */
  has(type: number): boolean {
    return this.all.some((a) => a.type === type);
  }

  /** The payload of the first attribute of `type`. */
  get(type: number): Uint8Array | undefined {
    return this.all.find((a) => a.type === type)?.data;
  }

  /** A u32 attribute, or undefined when absent; throws when it is too short. */
  u32(type: number): number | undefined {
    const d = this.get(type);
    if (d === undefined) return undefined;
    if (d.length < 4) throw new NetlinkUsageError(`attribute ${type} has ${d.length} bytes; a u32 needs 4`);
    return new DataView(d.buffer, d.byteOffset, d.byteLength).getUint32(0, true);
  }

  /** An s32 attribute, or undefined when absent. */
  s32(type: number): number | undefined {
    const v = this.u32(type);
    return v === undefined ? undefined : v | 0;
  }

  /** A u8 attribute, or undefined when absent. */
  u8(type: number): number | undefined {
    const d = this.get(type);
    if (d === undefined) return undefined;
    if (d.length < 1) throw new NetlinkUsageError(`attribute ${type} is empty; a u8 needs 1 byte`);
    return d[0];
  }

  /** A string attribute (up to its first NUL), or undefined when absent. */
  string(type: number): string | undefined {
    const d = this.get(type);
    if (d === undefined) return undefined;
    const nul = d.indexOf(0);
    return new TextDecoder().decode(nul < 0 ? d : d.subarray(0, nul));
  }

  /** A nested attribute list, or undefined when absent. */
  nested(type: number): AttrSet | undefined {
    const d = this.get(type);
    return d === undefined ? undefined : AttrSet.decode(d);
  }
}

/** Decodes a packed attribute list; throws on a length that runs past the buffer. */
export function decodeAttrs(buf: Uint8Array): DecodedAttr[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: DecodedAttr[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = view.getUint16(off, true);
    const rawType = view.getUint16(off + 2, true);
    if (len < 4 || off + len > buf.length) {
      throw new NetlinkUsageError(`malformed netlink attribute at offset ${off}: length ${len}, ${buf.length - off} bytes left`);
    }
    out.push({
      type: rawType & NLA_TYPE_MASK,
      nestedFlag: (rawType & NLA_F_NESTED) !== 0,
      data: buf.subarray(off + 4, off + len),
    });
    off += nlAlign(len);
  }
  return out;
}
