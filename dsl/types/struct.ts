/**
 * Structs, unions and bitfields with C layout rules (the SysV/clang rules the BPF
 * target uses): each member at the next multiple of its alignment, the aggregate
 * aligned to its most aligned member and padded to a multiple of that; `packed`
 * drops all alignment. Bitfields share a storage unit of their base type unless
 * they would straddle its boundary (packed: never moved).
 */
import { SchemaError } from './errors.js';
import { IntSchemaImpl, type IntSchema } from './int.js';
import type { PadSchema } from './pad.js';
import {
  BaseSchema,
  checkName,
  describeValue,
  isSchema,
  type AnySchema,
  type Infer,
  type InferInput,
  type Schema,
  type Simplify,
} from './schema.js';

/** A bitfield member declaration, `bits(u32, 3)` ≙ C `__u32 x:3`. Only valid inside struct/union fields. */
export interface Bitfield<B extends IntSchema<string, unknown, unknown> = IntSchema> {
  readonly kind: 'bitfield';
  /** Declared type of the bitfield (its storage unit and signedness). */
  readonly base: B;
  /** Width in bits, 1…base.bits. */
  readonly bits: number;
}

/** What a struct or union field may be declared as. */
export type FieldSchema = AnySchema | Bitfield<IntSchema<string, unknown, unknown>>;

/** A struct/union field table: names (C identifiers) to schemas, in declaration order. */
export type Fields = { readonly [name: string]: FieldSchema };

/** Host value of one field declaration. */
export type FieldValue<F> = F extends Bitfield<infer B> ? Infer<B> : Infer<F>;
/** Host input of one field declaration. */
export type FieldInput<F> = F extends Bitfield<infer B> ? InferInput<B> : InferInput<F>;

/** Decoded host value of a struct/union with fields `F` (padding fields left out). */
export type StructValue<F extends Fields> = Simplify<{
  -readonly [K in keyof F as F[K] extends PadSchema ? never : K]: FieldValue<F[K]>;
}>;
/** Encode input of a struct/union with fields `F`: every field optional (zero default). */
export type StructInput<F extends Fields> = Simplify<{
  -readonly [K in keyof F as F[K] extends PadSchema ? never : K]?: FieldInput<F[K]>;
}>;

/** One laid-out member, in declaration order. */
export interface Member {
  readonly name: string;
  /** Member schema; for a bitfield, its base integer. */
  readonly schema: AnySchema;
  /** Byte offset from the aggregate start (for a bitfield: the byte holding its first bit). */
  readonly offset: number;
  /** Bit offset from the aggregate start (`offset * 8` unless a bitfield), as BTF records it. */
  readonly bitOffset: number;
  /** Bitfield width, 0 for ordinary members (as BTF's bitfield_size). */
  readonly bitSize: number;
}

/** Description shared by structs and unions. */
export interface CompositeSchema<K extends 'struct' | 'union', F extends Fields>
  extends Schema<StructValue<F>, StructInput<F>> {
  readonly kind: K;
  /** Tag name, `''` if anonymous. */
  readonly name: string;
  /** Field declarations by name (typed: `S['fields']['address']` is that field's schema). */
  readonly fields: F;
  /** Laid-out members in declaration order. */
  readonly members: readonly Member[];
  /** Declared `__attribute__((packed))`. */
  readonly packed: boolean;
}

/** Description of a C struct. */
export type StructSchema<F extends Fields = Fields> = CompositeSchema<'struct', F>;
/** Description of a C union (every member at offset 0). */
export type UnionSchema<F extends Fields = Fields> = CompositeSchema<'union', F>;

/** Options of `struct()`. */
export interface StructOptions {
  /** `__attribute__((packed))`: no padding, alignment 1. */
  readonly packed?: boolean;
  /**
   * `__attribute__((aligned(n)))` on the type: alignment at least `n` (a power of
   * two), size rounded up to it; e.g. `union bpf_attr` is aligned(8).
   */
  readonly align?: number;
}

class BitfieldImpl {
  readonly kind = 'bitfield' as const;
  constructor(
    readonly base: IntSchemaImpl,
    readonly bits: number,
  ) {}
}

/**
 * A bitfield member: `bits(u8, 3)` ≙ `__u8 x:3`. Base must be a host-order
 * integer; width 1…base width.
 */
export function bits<B extends IntSchema<string, unknown, unknown>>(base: B, width: number): Bitfield<B> {
  if (!(base instanceof IntSchemaImpl) || base.byteOrder !== 'little' || base.format !== undefined) {
    throw new SchemaError('SCHEMA_DEFINITION', '', `bitfield base must be a host-order integer, got ${describeValue(base)}`);
  }
  if (!Number.isInteger(width) || width < 1 || width > base.bits) {
    throw new SchemaError('SCHEMA_DEFINITION', '', `bitfield width must be 1..${base.bits} for ${base.name}, got ${describeValue(width)}`);
  }
  return Object.freeze(new BitfieldImpl(base, width)) as unknown as Bitfield<B>;
}

interface MemberImpl extends Member {
  readonly schema: AnySchema & BaseSchema;
}

class CompositeSchemaImpl extends BaseSchema {
  readonly kind: 'struct' | 'union';
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly members: readonly MemberImpl[];
  readonly packed: boolean;

  constructor(kind: 'struct' | 'union', name: string, fields: Record<string, unknown>, packed: boolean, minAlign: number) {
    super();
    this.kind = kind;
    this.name = name;
    this.packed = packed;
    const label = name || kind;
    const members: MemberImpl[] = [];
    let bitPos = 0; // struct: next free bit
    let maxEnd = 0; // union: largest member
    let align = minAlign;
    for (const fieldName of Object.keys(fields)) {
      checkName(fieldName, `field of ${label}`, false);
      const decl = fields[fieldName];
      if (decl instanceof BitfieldImpl) {
        const unit = decl.base.size * 8;
        let at = kind === 'union' ? 0 : bitPos;
        if (!packed) {
          // Move to the next storage unit when the bits would straddle one.
          if (Math.floor(at / unit) !== Math.floor((at + decl.bits - 1) / unit)) at = Math.ceil(at / unit) * unit;
          align = Math.max(align, decl.base.align);
        }
        members.push(Object.freeze({ name: fieldName, schema: decl.base, offset: at >> 3, bitOffset: at, bitSize: decl.bits }));
        bitPos = at + decl.bits;
        maxEnd = Math.max(maxEnd, Math.ceil(decl.bits / 8));
        continue;
      }
      if (!isSchema(decl)) {
        throw new SchemaError(
          'SCHEMA_DEFINITION',
          `${label}.${fieldName}`,
          `field must be a schema or bits(), got ${describeValue(decl)}`,
        );
      }
      const a = packed ? 1 : decl.align;
      const offset = kind === 'union' ? 0 : Math.ceil(Math.ceil(bitPos / 8) / a) * a;
      members.push(Object.freeze({ name: fieldName, schema: decl, offset, bitOffset: offset * 8, bitSize: 0 }));
      bitPos = (offset + decl.size) * 8;
      maxEnd = Math.max(maxEnd, decl.size);
      align = Math.max(align, a);
    }
    const raw = kind === 'union' ? maxEnd : Math.ceil(bitPos / 8);
    this.align = align;
    this.size = Math.ceil(raw / align) * align;
    this.fields = Object.freeze({ ...fields });
    this.members = Object.freeze(members);
  }

  write(b: Uint8Array, o: number, v: unknown): void {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
      throw new SchemaError('SCHEMA_TYPE', '', `expected an object for ${this.kind} ${this.name}, got ${describeValue(v)}`);
    }
    const obj = v as Record<string, unknown>;
    let present = 0;
    for (const key in obj) {
      if (obj[key] === undefined) continue;
      if (!Object.hasOwn(this.fields, key)) {
        throw new SchemaError(
          'SCHEMA_UNKNOWN_FIELD',
          key,
          `unknown field (${this.kind} ${this.name || '(anonymous)'} has ${Object.keys(this.fields).join(', ') || 'no fields'})`,
        );
      }
      present++;
    }
    if (this.kind === 'union' && present > 1) {
      const given = Object.keys(obj).filter((k) => obj[k] !== undefined);
      throw new SchemaError('SCHEMA_TYPE', '', `a union takes at most one member, got ${given.join(', ')}`);
    }
    const members = this.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      const fv = obj[m.name];
      if (fv === undefined) continue;
      try {
        if (m.bitSize === 0) m.schema.write(b, o + m.offset, fv);
        else writeBitfield(b, o, m, fv);
      } catch (e) {
        throw e instanceof SchemaError ? e.within(m.name) : e;
      }
    }
  }

  read(b: Uint8Array, o: number): unknown {
    const out: Record<string, unknown> = {};
    const members = this.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      if (m.schema.kind === 'pad') continue;
      out[m.name] = m.bitSize === 0 ? m.schema.read(b, o + m.offset) : readBitfield(b, o, m);
    }
    return out;
  }
}

function writeBitfield(b: Uint8Array, o: number, m: MemberImpl, v: unknown): void {
  const base = m.schema as unknown as IntSchemaImpl;
  const width = m.bitSize;
  let value: bigint;
  if (typeof v === 'number' && Number.isSafeInteger(v)) value = BigInt(v);
  else if (typeof v === 'bigint' && base.size === 8) value = v;
  else if (typeof v === 'number' || typeof v === 'bigint') {
    throw new SchemaError('SCHEMA_RANGE', '', `expected an integer for ${base.name}:${width}, got ${describeValue(v)}`);
  } else {
    throw new SchemaError('SCHEMA_TYPE', '', `expected a number for ${base.name}:${width}, got ${describeValue(v)}`);
  }
  const w = BigInt(width);
  const min = base.signed ? -(1n << (w - 1n)) : 0n;
  const max = base.signed ? (1n << (w - 1n)) - 1n : (1n << w) - 1n;
  if (value < min || value > max) {
    throw new SchemaError('SCHEMA_RANGE', '', `expected an integer in ${min}..${max} for ${base.name}:${width}, got ${describeValue(v)}`);
  }
  let bitsLeft = BigInt.asUintN(width, value);
  let pos = o * 8 + m.bitOffset;
  let remaining = width;
  while (remaining > 0) {
    const byte = pos >> 3;
    const shift = pos & 7;
    const take = Math.min(8 - shift, remaining);
    const mask = ((1 << take) - 1) << shift;
    const chunk = Number(bitsLeft & BigInt((1 << take) - 1));
    b[byte] = (b[byte]! & ~mask) | (chunk << shift);
    bitsLeft >>= BigInt(take);
    pos += take;
    remaining -= take;
  }
}

function readBitfield(b: Uint8Array, o: number, m: MemberImpl): number | bigint {
  const base = m.schema as unknown as IntSchemaImpl;
  const width = m.bitSize;
  let value = 0n;
  let pos = o * 8 + m.bitOffset;
  let got = 0;
  while (got < width) {
    const shift = pos & 7;
    const take = Math.min(8 - shift, width - got);
    const chunk = (b[pos >> 3]! >> shift) & ((1 << take) - 1);
    value |= BigInt(chunk) << BigInt(got);
    pos += take;
    got += take;
  }
  if (base.signed) value = BigInt.asIntN(width, value);
  return base.size === 8 ? value : Number(value);
}

function composite(kind: 'struct' | 'union', name: unknown, fields: unknown, options: unknown): CompositeSchemaImpl {
  checkName(name, kind, true);
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new SchemaError('SCHEMA_DEFINITION', String(name), `${kind} fields must be an object, got ${describeValue(fields)}`);
  }
  const packed = (options as StructOptions | undefined)?.packed ?? false;
  if (typeof packed !== 'boolean') {
    throw new SchemaError('SCHEMA_DEFINITION', String(name), `packed must be a boolean, got ${describeValue(packed)}`);
  }
  const minAlign = (options as StructOptions | undefined)?.align ?? 1;
  if (!Number.isSafeInteger(minAlign) || minAlign < 1 || (minAlign & (minAlign - 1)) !== 0) {
    throw new SchemaError('SCHEMA_DEFINITION', String(name), `align must be a power of two, got ${describeValue(minAlign)}`);
  }
  const schema = new CompositeSchemaImpl(kind, name as string, fields as Record<string, unknown>, packed, minAlign);
  Object.freeze(schema);
  return schema;
}

/**
 * A C struct: `struct('lb4_key', { address: be32, dport: be16, ... })`. Field order
 * is declaration order; names must be C identifiers; `''` makes it anonymous.
 */
export function struct<const F extends Fields>(name: string, fields: F, options?: StructOptions): StructSchema<F> {
  return composite('struct', name, fields, options) as unknown as StructSchema<F>;
}

/** A C union: all members at offset 0; encode takes at most one member. */
export function union<const F extends Fields>(name: string, fields: F, options?: StructOptions): UnionSchema<F> {
  return composite('union', name, fields, options) as unknown as UnionSchema<F>;
}
