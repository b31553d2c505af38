/**
 * BTF string tables: a deduplicating writer and a lazy reader. Both share one
 * offset space with a base BTF for split BTF (module BTF), where local offsets
 * start at the base's string length.
 */
import { isAscii } from 'node:buffer';
import { BtfError } from './errors.js';
import { BTF_MAX_NAME_OFFSET } from './kinds.js';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/** Writes a NUL-separated string table, returning one offset per distinct string. */
export class BtfStringTable {
  private readonly offsets = new Map<string, number>();
  private buf = new Uint8Array(256);
  private byteLength = 0;

  /**
   * @param startOffset first offset of this table (the base's string length for split BTF)
   * @param baseLookup finds strings already present in a base table
   */
  constructor(
    readonly startOffset = 0,
    private readonly baseLookup?: (s: string) => number | undefined,
  ) {
    // A table of its own starts with the empty string; split BTF reuses the base's.
    if (!baseLookup) this.append('');
  }

  /** Offset of `s`, adding it when new. */
  add(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const inBase = this.baseLookup?.(s);
    if (inBase !== undefined) {
      this.offsets.set(s, inBase);
      return inBase;
    }
    return this.append(s);
  }

  /** Appends `s` even if present (used to replay a decoded table in its exact order). */
  append(s: string): number {
    if (s.includes('\0')) throw new BtfError('BTF_BAD_STRING', `string ${JSON.stringify(s)} contains a NUL byte`);
    const offset = this.startOffset + this.byteLength;
    if (offset > BTF_MAX_NAME_OFFSET) {
      throw new BtfError('BTF_TOO_LARGE', `string table exceeds the kernel limit of ${BTF_MAX_NAME_OFFSET} bytes`);
    }
    // UTF-8 needs at most 3 bytes per UTF-16 unit, plus the NUL.
    const need = this.byteLength + s.length * 3 + 1;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(need, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.byteLength));
      this.buf = grown;
    }
    const { written } = utf8.encodeInto(s, this.buf.subarray(this.byteLength));
    this.buf[this.byteLength + written] = 0;
    this.byteLength += written + 1;
    if (!this.offsets.has(s)) this.offsets.set(s, offset);
    return offset;
  }

  /** Offset of `s` if already present. */
  get(s: string): number | undefined {
    return this.offsets.get(s) ?? this.baseLookup?.(s);
  }

  /** Size in bytes of this table's own part. */
  get size(): number {
    return this.byteLength;
  }

  /** The table's bytes. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.byteLength);
  }
}

/**
 * Reads strings by offset from a string section. When the section is plain
 * ASCII (vmlinux is) it is decoded once and sliced, which keeps decoding
 * 100k+ names cheap; otherwise each string is decoded as UTF-8 on first use.
 */
export class BtfStringReader {
  private readonly ascii: string | undefined;
  private readonly cache = new Map<number, string>();

  /**
   * @param bytes the string section (its own part for split BTF)
   * @param startOffset offset of `bytes[0]` (the base's string length for split BTF)
   * @param base the base BTF's reader for lower offsets
   */
  constructor(
    readonly bytes: Uint8Array,
    readonly startOffset = 0,
    readonly base?: BtfStringReader,
  ) {
    this.ascii = isAscii(bytes) ? latin1(bytes) : undefined;
  }

  /** Total offset space (base + own). */
  get end(): number {
    return this.startOffset + this.bytes.length;
  }

  /** The string at `offset`; throws a BtfError when out of range or unterminated. */
  at(offset: number): string {
    if (offset < this.startOffset) {
      if (this.base) return this.base.at(offset);
      throw new BtfError('BTF_BAD_STRING', `string offset ${offset} is below the table start ${this.startOffset}`);
    }
    const local = offset - this.startOffset;
    if (local >= this.bytes.length) {
      throw new BtfError('BTF_BAD_STRING', `string offset ${offset} is past the string table end ${this.end}`);
    }
    if (this.ascii !== undefined) {
      const end = this.ascii.indexOf('\0', local);
      if (end < 0) throw new BtfError('BTF_BAD_STRING', `string at offset ${offset} is not NUL-terminated`);
      return this.ascii.slice(local, end);
    }
    const cached = this.cache.get(offset);
    if (cached !== undefined) return cached;
    const end = this.bytes.indexOf(0, local);
    if (end < 0) throw new BtfError('BTF_BAD_STRING', `string at offset ${offset} is not NUL-terminated`);
    const s = utf8Decoder.decode(this.bytes.subarray(local, end));
    this.cache.set(offset, s);
    return s;
  }

  /** Offset of `s` in this table or its base (first occurrence), for reuse by split BTF. */
  find(s: string): number | undefined {
    let index = this.offsetIndex;
    if (!index) {
      index = new Map();
      let start = 0;
      for (let i = 0; i < this.bytes.length; i++) {
        if (this.bytes[i] === 0) {
          const str = this.ascii !== undefined ? this.ascii.slice(start, i) : utf8Decoder.decode(this.bytes.subarray(start, i));
          if (!index.has(str)) index.set(str, this.startOffset + start);
          start = i + 1;
        }
      }
      this.offsetIndex = index;
    }
    return this.base?.find(s) ?? index.get(s);
  }
  private offsetIndex: Map<string, number> | undefined;

  /** Every NUL-terminated string of the own part in table order, without a leading `''`. */
  list(): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < this.bytes.length; i++) {
      if (this.bytes[i] === 0) {
        out.push(this.ascii !== undefined ? this.ascii.slice(start, i) : utf8Decoder.decode(this.bytes.subarray(start, i)));
        start = i + 1;
      }
    }
    if (!this.base && out[0] === '') out.shift();
    return out;
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
