/**
 * A minimal C-struct writer/reader for `union bpf_attr` members and the
 * `bpf_*_info` structs: fields in declaration order, natural alignment, zeroed
 * tail. Pointer fields take a buffer and store its address.
 *
 * Interim: the design wants these layouts described with dsl/types struct
 * schemas; this stays small and private to loader/sys so the switch is local.
 */
import { addressOf } from './ffi.js';

/** Field kinds the bpf() structs need. `ptr` is `__aligned_u64` holding an address. */
export type FieldKind = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 'ptr' | { bytes: number };

type FieldValue<K> = K extends 'u64'
  ? bigint | number
  : K extends 'ptr'
    ? Uint8Array | bigint | null
    : K extends { bytes: number }
      ? Uint8Array | string
      : number;

type DecodedValue<K> = K extends 'u64' | 'ptr' ? bigint : K extends { bytes: number } ? Uint8Array : number;

/** Field list: `[name, kind]` pairs. */
export type Fields = readonly (readonly [string, FieldKind])[];

/** What `encode` accepts: any subset of the fields. */
export type LayoutInput<F extends Fields> = { [E in F[number] as E[0]]?: FieldValue<E[1]> };
/** What `decode` returns: every field. */
export type LayoutOutput<F extends Fields> = { [E in F[number] as E[0]]: DecodedValue<E[1]> };

function sizeOf(k: FieldKind): number {
  if (typeof k === 'object') return k.bytes;
  return { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8, ptr: 8 }[k];
}
function alignOf(k: FieldKind): number {
  return typeof k === 'object' ? 1 : sizeOf(k);
}

/** A laid-out struct: offsets, total size (multiple of 8, like bpf_attr), codec. */
export class Layout<F extends Fields> {
  readonly offsets: Readonly<Record<string, number>>;
  readonly size: number;
  private readonly kinds: ReadonlyMap<string, FieldKind>;

  constructor(
    readonly name: string,
    readonly fields: F,
  ) {
    const offsets: Record<string, number> = {};
    const kinds = new Map<string, FieldKind>();
    let off = 0;
    for (const [n, k] of fields) {
      const a = alignOf(k);
      off = Math.ceil(off / a) * a;
      offsets[n] = off;
      kinds.set(n, k);
      off += sizeOf(k);
    }
    this.offsets = offsets;
    this.kinds = kinds;
    this.size = Math.ceil(off / 8) * 8;
  }

  /**
   * Bytes of the struct with the given fields set (others zero). `size` may ask
   * for a larger, zero-padded buffer (the kernel checks that unknown tails are 0).
   */
  encode(values: LayoutInput<F>, size = this.size): Uint8Array {
    const buf = new Uint8Array(Math.max(size, this.size));
    const dv = new DataView(buf.buffer);
    for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
      if (value === undefined) continue;
      const kind = this.kinds.get(name);
      if (kind === undefined) throw new Error(`${this.name}: no field '${name}'`);
      const off = this.offsets[name]!;
      writeField(buf, dv, off, kind, value, `${this.name}.${name}`);
    }
    return buf;
  }

  /** Every field of `bytes` (which may be longer than the layout). */
  decode(bytes: Uint8Array): LayoutOutput<F> {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out: Record<string, unknown> = {};
    for (const [name, kind] of this.kinds) {
      const off = this.offsets[name]!;
      if (off + sizeOf(kind) > bytes.byteLength) continue;
      out[name] = readField(bytes, dv, off, kind);
    }
    return out as LayoutOutput<F>;
  }

  /** Reads one field from `bytes`. */
  get<N extends F[number][0]>(bytes: Uint8Array, name: N): DecodedValue<Extract<F[number], readonly [N, FieldKind]>[1]> {
    const kind = this.kinds.get(name)!;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return readField(bytes, dv, this.offsets[name]!, kind) as never;
  }

  /** Writes one field into `bytes` in place (for output fields the kernel also reads). */
  set<N extends F[number][0]>(bytes: Uint8Array, name: N, value: FieldValue<Extract<F[number], readonly [N, FieldKind]>[1]>): void {
    const kind = this.kinds.get(name)!;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    writeField(bytes, dv, this.offsets[name]!, kind, value, `${this.name}.${name}`);
  }
}

/** Declares a struct layout. */
export function layout<const F extends Fields>(name: string, fields: F): Layout<F> {
  return new Layout(name, fields);
}

function writeField(buf: Uint8Array, dv: DataView, off: number, kind: FieldKind, value: unknown, what: string): void {
  if (typeof kind === 'object') {
    const src = typeof value === 'string' ? new TextEncoder().encode(value) : (value as Uint8Array);
    if (src.length > kind.bytes) throw new Error(`${what}: ${src.length} bytes do not fit in ${kind.bytes}`);
    buf.set(src, off);
    return;
  }
  switch (kind) {
    case 'u8':
      dv.setUint8(off, Number(value));
      return;
    case 'u16':
      dv.setUint16(off, Number(value), true);
      return;
    case 'u32':
      dv.setUint32(off, Number(value) >>> 0, true);
      return;
    case 's32':
      dv.setInt32(off, Number(value), true);
      return;
    case 'u64':
      dv.setBigUint64(off, BigInt.asUintN(64, BigInt(value as bigint | number)), true);
      return;
    case 'ptr': {
      let addr: bigint;
      if (value === null) addr = 0n;
      else if (typeof value === 'bigint') addr = value;
      else {
        addr = addressOf(value as Uint8Array);
      }
      dv.setBigUint64(off, addr, true);
      return;
    }
  }
}

function readField(buf: Uint8Array, dv: DataView, off: number, kind: FieldKind): unknown {
  if (typeof kind === 'object') return buf.slice(off, off + kind.bytes);
  switch (kind) {
    case 'u8':
      return dv.getUint8(off);
    case 'u16':
      return dv.getUint16(off, true);
    case 'u32':
      return dv.getUint32(off, true);
    case 's32':
      return dv.getInt32(off, true);
    case 'u64':
    case 'ptr':
      return dv.getBigUint64(off, true);
  }
}

/** A NUL-terminated C string out of a fixed char array. */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}
