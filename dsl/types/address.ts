/**
 * Well-known address schemas with textual host values: `ipv4` (a be32 that takes
 * `'10.96.0.10'` or a number and decodes to text), `ipv6` (16 bytes) and `mac`
 * (6 bytes), both taking text or bytes and decoding to canonical text.
 */
import { ArraySchemaImpl, type ArraySchema } from './array.js';
import { SchemaError } from './errors.js';
import { IntSchemaImpl, u8, type IntSchema, type IntName } from './int.js';
import { describeValue } from './schema.js';

/** An IPv4 address stored big-endian like `__be32`; host value is dotted text. */
export type Ipv4Schema = IntSchema<'ipv4', string, string | number> & { readonly format: 'ipv4' };

/** A byte-array address (`ipv6`: 16 bytes, `mac`: 6 bytes) with textual host values. */
export type AddressBytesSchema<Fmt extends 'ipv6' | 'mac'> = Omit<
  ArraySchema<IntSchema<'u8'>>,
  'format' | 'encode' | 'encodeInto' | 'decode' | 'decodeFrom'
> & {
  readonly format: Fmt;
  encode(value?: string | ArrayLike<number>): Uint8Array;
  encodeInto(target: Uint8Array, offset: number, value?: string | ArrayLike<number>): number;
  decode(bytes: Uint8Array): string;
  decodeFrom(bytes: Uint8Array, offset: number): string;
};

/** Parses dotted-quad IPv4 text to its 32-bit value, or returns undefined. */
export function parseIpv4(text: string): number | undefined {
  // A character loop rather than split + regex: the service manager parses tens of thousands per sync.
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    if (c < 48 || c > 57) return undefined;
    // Leading zeros are rejected: '010' means octal to some parsers and decimal to others.
    if (digits === 1 && part === 0) return undefined;
    part = part * 10 + (c - 48);
    digits++;
    if (part > 255) return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + part;
}

/** Renders a 32-bit value as dotted-quad text. */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

class Ipv4SchemaImpl extends IntSchemaImpl {
  constructor() {
    super('ipv4', 4, false, 'big', 'ipv4');
  }

  override write(b: Uint8Array, o: number, v: unknown): void {
    if (typeof v === 'string') {
      const n = parseIpv4(v);
      if (n === undefined) throw new SchemaError('SCHEMA_RANGE', '', `expected an IPv4 address like '10.0.0.1', got ${describeValue(v)}`);
      super.write(b, o, n);
      return;
    }
    if (typeof v !== 'number') {
      throw new SchemaError('SCHEMA_TYPE', '', `expected an IPv4 address (text or number), got ${describeValue(v)}`);
    }
    super.write(b, o, v);
  }

  override read(b: Uint8Array, o: number): string {
    return formatIpv4(super.read(b, o) as number);
  }
}

/** Parses IPv6 text (with `::` and an optional dotted IPv4 tail) into 16 bytes, or undefined. */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length > 45 || text.length < 2) return undefined;
  let head = text;
  let v4: number | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    // Keep the colon(s) before the IPv4 part so '::1.2.3.4' still has its '::'.
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  if (left === undefined || right === undefined) return undefined;
  const total = left.length + right.length;
  if (halves.length === 2 ? total > 7 : total !== 8) return undefined;
  const groups = [...left, ...new Array<number>(8 - total).fill(0), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]!;
  }
  if (v4 !== undefined) {
    out[12] = v4 >>> 24;
    out[13] = v4 >>> 16;
    out[14] = v4 >>> 8;
    out[15] = v4;
  }
  return out;
}

/**
 * Canonical IPv6 text (RFC 5952): lowercase hex, no leading zeros, the longest run
 * of two or more zero groups (the first on a tie) as `::`, and IPv4-mapped
 * addresses as `::ffff:a.b.c.d`.
 */
export function formatIpv6(bytes: ArrayLike<number>, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[offset + i * 2]! << 8) | bytes[offset + i * 2 + 1]!);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${bytes[offset + 12]}.${bytes[offset + 13]}.${bytes[offset + 14]}.${bytes[offset + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart === -1) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated, any case) into 6 bytes, or undefined. */
export function parseMac(text: string): Uint8Array | undefined {
  const m = /^([0-9a-fA-F]{2})([:-])([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/.exec(text);
  if (m === null) return undefined;
  return Uint8Array.from([m[1], m[3], m[4], m[5], m[6], m[7]], (h) => parseInt(h!, 16));
}

/** Renders 6 bytes as lowercase `aa:bb:cc:dd:ee:ff`. */
export function formatMac(bytes: ArrayLike<number>, offset = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + bytes[offset + i]!.toString(16).padStart(2, '0');
  return s;
}

class AddressBytesImpl extends ArraySchemaImpl {
  constructor(format: 'ipv6' | 'mac') {
    super(u8 as unknown as IntSchemaImpl, format === 'ipv6' ? 16 : 6, format);
  }

  override write(b: Uint8Array, o: number, v: unknown): void {
    if (typeof v === 'string') {
      const parsed = this.format === 'ipv6' ? parseIpv6(v) : parseMac(v);
      if (parsed === undefined) {
        const what = this.format === 'ipv6' ? "an IPv6 address like 'fd00::1'" : "a MAC address like 'aa:bb:cc:dd:ee:ff'";
        throw new SchemaError('SCHEMA_RANGE', '', `expected ${what}, got ${describeValue(v)}`);
      }
      b.set(parsed, o);
      return;
    }
    if (typeof v === 'object' && v !== null && 'length' in v && v.length !== this.count) {
      throw new SchemaError('SCHEMA_RANGE', '', `expected ${this.count} address bytes, got ${String(v.length)}`);
    }
    super.write(b, o, v);
  }

  override read(b: Uint8Array, o: number): string {
    return this.format === 'ipv6' ? formatIpv6(b, o) : formatMac(b, o);
  }
}

/** IPv4 address, `__be32` in memory; encode takes `'10.96.0.10'` or the number, decode gives text. */
export const ipv4 = Object.freeze(new Ipv4SchemaImpl()) as unknown as Ipv4Schema;
/** IPv6 address, 16 bytes in network order; encode takes text or 16 bytes, decode gives RFC 5952 text. */
export const ipv6 = Object.freeze(new AddressBytesImpl('ipv6')) as unknown as AddressBytesSchema<'ipv6'>;
/** MAC address, 6 bytes; encode takes `'aa:bb:cc:dd:ee:ff'` or 6 bytes, decode gives lowercase text. */
export const mac = Object.freeze(new AddressBytesImpl('mac')) as unknown as AddressBytesSchema<'mac'>;

/** Names the BTF mapping and the DSL treat as integers. */
export type ScalarName = IntName | 'ipv4';
