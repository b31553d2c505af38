/**
 * Scalars: host-order integers (`u8`…`u64`, `s8`…`s64`), network-order integers
 * (`be16`, `be32`, `be64`) and `bool`. Integers of up to 32 bits are JS numbers;
 * 64-bit ones decode to bigint and accept bigint or a safe-integer number.
 */
import { SchemaError } from './errors.js';
import { BaseSchema, describeValue, type Schema } from './schema.js';

/** Byte order of an integer in memory. BPF (bpfel) host order is little-endian. */
export type ByteOrder = 'little' | 'big';

/** DSL names of the integer schemas. */
export type IntName = 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64' | 'be16' | 'be32' | 'be64' | 'char';

/** Names of the 64-bit integers (bigint host values). */
export type Int64Name = 'u64' | 's64' | 'be64';

/** Host value a decoded integer of name `N` has. */
export type IntValue<N extends string> = N extends Int64Name ? bigint : number;
/** Host value an integer of name `N` accepts. */
export type IntInput<N extends string> = N extends Int64Name ? bigint | number : number;

/** Description of an integer schema. `N` keeps `u16` and `be16` apart at the type level. */
export interface IntSchema<N extends string = IntName, Out = IntValue<N>, In = IntInput<N>> extends Schema<Out, In> {
  readonly kind: 'int';
  readonly name: N;
  /** Two's complement signed. */
  readonly signed: boolean;
  /** Width in bits (`size * 8`). */
  readonly bits: number;
  /** Memory byte order: `big` for be16/be32/be64 (and addresses). */
  readonly byteOrder: ByteOrder;
  /** Host rendering of the value: `ipv4` addresses are text; `undefined` for plain integers. */
  readonly format: 'ipv4' | undefined;
}

/** Description of `bool` (C `_Bool`: one byte, 0 or 1). */
export interface BoolSchema extends Schema<boolean, boolean> {
  readonly kind: 'bool';
  readonly name: 'bool';
}

const TWO32 = 4294967296;

// 64-bit conversions go through one shared 8-byte scratch in host (little-endian
// on every platform Node supports for BPF) order.
const SCRATCH_U64 = new BigUint64Array(1);
const SCRATCH_S64 = new BigInt64Array(SCRATCH_U64.buffer);
const SCRATCH = new Uint8Array(SCRATCH_U64.buffer);
if (new Uint16Array(new Uint8Array([1, 0]).buffer)[0] !== 1) throw new Error('tsbpf needs a little-endian host');

/** Implementation of every integer schema; `format` subclasses override the host conversion. */
export class IntSchemaImpl extends BaseSchema {
  readonly kind = 'int' as const;
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly signed: boolean;
  readonly bits: number;
  readonly byteOrder: ByteOrder;
  readonly format: 'ipv4' | undefined;
  /** Range bounds for ≤32-bit values (numbers). */
  private readonly min: number;
  private readonly max: number;
  /** Range bounds for 64-bit values. */
  private readonly min64: bigint;
  private readonly max64: bigint;

  constructor(name: string, size: 1 | 2 | 4 | 8, signed: boolean, byteOrder: ByteOrder, format?: 'ipv4') {
    super();
    this.name = name;
    this.size = size;
    this.align = size;
    this.signed = signed;
    this.bits = size * 8;
    this.byteOrder = byteOrder;
    this.format = format;
    const bits = size * 8;
    this.min = signed ? -(2 ** (bits - 1)) : 0;
    this.max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    this.min64 = signed ? -(1n << 63n) : 0n;
    this.max64 = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
    // The private bounds are implementation detail, not description: hide them from walkers.
    for (const k of ['min', 'max', 'min64', 'max64']) Object.defineProperty(this, k, { enumerable: false });
  }

  write(b: Uint8Array, o: number, v: unknown): void {
    if (this.size === 8) {
      this.write64(b, o, v);
      return;
    }
    if (typeof v !== 'number') {
      throw new SchemaError('SCHEMA_TYPE', '', `expected a number for ${this.name}, got ${describeValue(v)}`);
    }
    if (!Number.isInteger(v) || v < this.min || v > this.max) {
      throw new SchemaError(
        'SCHEMA_RANGE',
        '',
        `expected an integer in ${this.min}..${this.max} for ${this.name}, got ${describeValue(v)}`,
      );
    }
    // Uint8Array stores values modulo 256, so shifted numbers need no masking.
    switch (this.size) {
      case 1:
        b[o] = v;
        return;
      case 2:
        if (this.byteOrder === 'big') {
          b[o] = v >> 8;
          b[o + 1] = v;
        } else {
          b[o] = v;
          b[o + 1] = v >> 8;
        }
        return;
      default:
        if (this.byteOrder === 'big') {
          b[o] = v >>> 24;
          b[o + 1] = v >> 16;
          b[o + 2] = v >> 8;
          b[o + 3] = v;
        } else {
          b[o] = v;
          b[o + 1] = v >> 8;
          b[o + 2] = v >> 16;
          b[o + 3] = v >>> 24;
        }
    }
  }

  private write64(b: Uint8Array, o: number, v: unknown): void {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < this.min || v > this.max) {
        throw new SchemaError(
          'SCHEMA_RANGE',
          '',
          `expected a safe integer (or bigint) in range for ${this.name}, got ${describeValue(v)}`,
        );
      }
      const hi = Math.floor(v / TWO32);
      const lo = v - hi * TWO32;
      if (this.byteOrder === 'big') {
        write32be(b, o, hi);
        write32be(b, o + 4, lo);
      } else {
        write32le(b, o, lo);
        write32le(b, o + 4, hi);
      }
      return;
    }
    if (typeof v !== 'bigint') {
      throw new SchemaError('SCHEMA_TYPE', '', `expected a bigint or number for ${this.name}, got ${describeValue(v)}`);
    }
    if (v < this.min64 || v > this.max64) {
      throw new SchemaError(
        'SCHEMA_RANGE',
        '',
        `expected a bigint in ${this.min64}..${this.max64} for ${this.name}, got ${describeValue(v)}`,
      );
    }
    // Through a typed-array scratch: no intermediate bigints on the hot path.
    if (this.signed) SCRATCH_S64[0] = v;
    else SCRATCH_U64[0] = v;
    if (this.byteOrder === 'big') for (let i = 0; i < 8; i++) b[o + i] = SCRATCH[7 - i]!;
    else for (let i = 0; i < 8; i++) b[o + i] = SCRATCH[i]!;
  }

  read(b: Uint8Array, o: number): unknown {
    const big = this.byteOrder === 'big';
    switch (this.size) {
      case 1:
        return this.signed ? (b[o]! << 24) >> 24 : b[o]!;
      case 2: {
        const v = big ? (b[o]! << 8) | b[o + 1]! : b[o]! | (b[o + 1]! << 8);
        return this.signed ? (v << 16) >> 16 : v;
      }
      case 4: {
        const v = big ? read32be(b, o) : read32le(b, o);
        return this.signed ? v | 0 : v;
      }
      default: {
        if (big) for (let i = 0; i < 8; i++) SCRATCH[i] = b[o + 7 - i]!;
        else for (let i = 0; i < 8; i++) SCRATCH[i] = b[o + i]!;
        return this.signed ? SCRATCH_S64[0]! : SCRATCH_U64[0]!;
      }
    }
  }
}

function write32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

function write32be(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Unsigned 32-bit little-endian read. */
export function read32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** Unsigned 32-bit big-endian read. */
export function read32be(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

class BoolSchemaImpl extends BaseSchema {
  readonly kind = 'bool' as const;
  readonly name = 'bool';
  readonly size = 1;
  readonly align = 1;

  write(b: Uint8Array, o: number, v: unknown): void {
    if (typeof v !== 'boolean') {
      throw new SchemaError('SCHEMA_TYPE', '', `expected a boolean, got ${describeValue(v)}`);
    }
    b[o] = v ? 1 : 0;
  }

  read(b: Uint8Array, o: number): boolean {
    return b[o] !== 0;
  }
}

function int<N extends IntName>(name: N, size: 1 | 2 | 4 | 8, signed: boolean, order: ByteOrder): IntSchema<N> {
  return Object.freeze(new IntSchemaImpl(name, size, signed, order)) as unknown as IntSchema<N>;
}

/** `__u8` / `unsigned char`. */
export const u8 = int('u8', 1, false, 'little');
/** `__u16`, host (little-endian) order. */
export const u16 = int('u16', 2, false, 'little');
/** `__u32`, host order. */
export const u32 = int('u32', 4, false, 'little');
/** `__u64`, host order; bigint host values. */
export const u64 = int('u64', 8, false, 'little');
/** C `char` (signed on the BPF target); the element of `cstring(n)`. */
export const char = int('char', 1, true, 'little');
/** `__s8`. */
export const s8 = int('s8', 1, true, 'little');
/** `__s16`. */
export const s16 = int('s16', 2, true, 'little');
/** `__s32`. */
export const s32 = int('s32', 4, true, 'little');
/** `__s64`; bigint host values. */
export const s64 = int('s64', 8, true, 'little');
/** `__be16`: network byte order; the host value is the ordinary number (port 80 is `80`). */
export const be16 = int('be16', 2, false, 'big');
/** `__be32`: network byte order. */
export const be32 = int('be32', 4, false, 'big');
/** `__be64`: network byte order; bigint host values. */
export const be64 = int('be64', 8, false, 'big');
/** C `_Bool`: one byte; host value `boolean`. */
export const bool = Object.freeze(new BoolSchemaImpl()) as unknown as BoolSchema;
