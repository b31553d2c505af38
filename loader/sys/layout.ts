/**
 * The `union bpf_attr` members and `bpf_*_info` structs as dsl/types struct
 * schemas (one schema gives the C layout and the codec), wrapped with what a
 * syscall needs on top: pointer fields that take a buffer and store its
 * address, char arrays that take strings, and a size padded to 8 like
 * `bpf_attr` (`__attribute__((aligned(8)))`).
 */
import { array, s32, struct, u16, u32, u64, u8, type AnySchema, type StructSchema } from '../../dsl/types/index.js';
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

function schemaOf(k: FieldKind): AnySchema {
  if (typeof k === 'object') return array(u8, k.bytes);
  return { u8, u16, u32, s32, u64, ptr: u64 }[k];
}

/** A laid-out struct: offsets, total size (multiple of 8, like bpf_attr), codec. */
export class Layout<F extends Fields> {
  readonly offsets: Readonly<Record<string, number>>;
  readonly size: number;
  /** The dsl/types schema describing the C layout. */
  readonly schema: StructSchema<Record<string, AnySchema>>;
  private readonly kinds: ReadonlyMap<string, FieldKind>;
  private readonly schemas: ReadonlyMap<string, AnySchema>;

  constructor(
    readonly name: string,
    readonly fields: F,
  ) {
    const decl: Record<string, AnySchema> = {};
    for (const [n, k] of fields) decl[n] = schemaOf(k);
    this.schema = struct(name, decl) as unknown as StructSchema<Record<string, AnySchema>>;
    const offsets: Record<string, number> = {};
    for (const m of this.schema.members) offsets[m.name] = m.offset;
    this.offsets = offsets;
    this.kinds = new Map(fields.map(([n, k]) => [n, k]));
    this.schemas = new Map(Object.entries(decl));
    this.size = Math.ceil(this.schema.size / 8) * 8;
  }

  /**
   * Bytes of the struct with the given fields set (others zero). `size` may ask
   * for a larger, zero-padded buffer (the kernel checks that unknown tails are 0).
   */
  encode(values: LayoutInput<F>, size = this.size): Uint8Array {
    const buf = new Uint8Array(Math.max(size, this.size));
    const input: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
      if (value === undefined) continue;
      const kind = this.kinds.get(name);
      if (kind === undefined) throw new Error(`${this.name}: no field '${name}'`);
      input[name] = toSchemaInput(kind, value, `${this.name}.${name}`);
    }
    this.schema.encodeInto(buf, 0, input as never);
    return buf;
  }

  /** Every field of `bytes` (which may be longer than the layout). */
  decode(bytes: Uint8Array): LayoutOutput<F> {
    const raw = this.schema.decodeFrom(bytes, 0) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [name, kind] of this.kinds) out[name] = fromSchemaOutput(kind, raw[name]);
    return out as LayoutOutput<F>;
  }

  /** Reads one field from `bytes`. */
  get<N extends F[number][0]>(bytes: Uint8Array, name: N): DecodedValue<Extract<F[number], readonly [N, FieldKind]>[1]> {
    const v = this.schemas.get(name)!.decodeFrom(bytes, this.offsets[name]!);
    return fromSchemaOutput(this.kinds.get(name)!, v) as never;
  }

  /** Writes one field into `bytes` in place (for output fields the kernel also reads). */
  set<N extends F[number][0]>(bytes: Uint8Array, name: N, value: FieldValue<Extract<F[number], readonly [N, FieldKind]>[1]>): void {
    const kind = this.kinds.get(name)!;
    this.schemas.get(name)!.encodeInto(bytes, this.offsets[name]!, toSchemaInput(kind, value, `${this.name}.${name}`) as never);
  }
}

/** Declares a struct layout. */
export function layout<const F extends Fields>(name: string, fields: F): Layout<F> {
  return new Layout(name, fields);
}

function toSchemaInput(kind: FieldKind, value: unknown, what: string): unknown {
  if (typeof kind === 'object') {
    const src = typeof value === 'string' ? new TextEncoder().encode(value) : (value as Uint8Array);
    if (src.length > kind.bytes) throw new Error(`${what}: ${src.length} bytes do not fit in ${kind.bytes}`);
    return src;
  }
  switch (kind) {
    case 'u64':
      return BigInt.asUintN(64, BigInt(value as bigint | number));
    case 'ptr':
      if (value === null) return 0n;
      if (typeof value === 'bigint') return value;
      return addressOf(value as Uint8Array);
    case 'u32':
      return Number(value) >>> 0;
    default:
      return Number(value);
  }
}

function fromSchemaOutput(kind: FieldKind, value: unknown): unknown {
  if (typeof kind === 'object') return Uint8Array.from(value as number[]);
  return value;
}

/** A NUL-terminated C string out of a fixed char array. */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}
