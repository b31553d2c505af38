/**
 * `sizeof`, `alignof`, `offsetof` and field lookup by path (`'a.b[2].c'`), with
 * paths and the schema found there checked and inferred by TypeScript.
 */
import type { ArraySchema } from './array.js';
import { SchemaError } from './errors.js';
import type { Bitfield, Member } from './struct.js';
import type { TypedefSchema } from './typedef.js';
import { describeValue, type AnySchema } from './schema.js';

/** Follows typedefs at the type level. */
export type ResolveTypedef<S> = S extends TypedefSchema<string, infer T> ? ResolveTypedef<T> : S;

type Prev = [never, 0, 1, 2, 3, 4, 5, 6];

/**
 * Every valid field path of a struct/union schema `S`, nested through structs,
 * unions, typedefs and arrays (`'key.address'`, `'slots[3].id'`), up to `D`
 * levels. The union grows with the product of the fields at each level, so keep
 * it for small types; `offsetof`/`fieldOf` check paths with {@link CheckPath},
 * which costs only the length of the path.
 */
export type FieldPath<S, D extends number = 3> = [D] extends [never]
  ? never
  : ResolveTypedef<S> extends { readonly kind: 'struct' | 'union'; readonly fields: infer F }
    ? { [K in keyof F & string]: K | SubPath<K, F[K], Prev[D]> }[keyof F & string]
    : never;

type SubPath<K extends string, S, D extends number> =
  ResolveTypedef<S> extends ArraySchema<infer E>
    ? `${K}[${number}]` | `${K}[${number}].${FieldPath<E, D>}`
    : `${K}.${FieldPath<S, D>}`;

/** Names of the direct fields of a struct/union schema. */
export type FieldName<S> = ResolveTypedef<S> extends { readonly fields: infer F } ? keyof F & string : never;

type MemberOf<S, N extends string> =
  ResolveTypedef<S> extends { readonly fields: infer F } ? (N extends keyof F ? F[N] : never) : never;
type ElemOf<S> = ResolveTypedef<S> extends ArraySchema<infer E> ? E : never;
type Indexes<S, I extends string> = I extends ''
  ? S
  : I extends `[${number}]${infer R}`
    ? Indexes<ElemOf<S>, R>
    : never;
type Step<S, H extends string> = H extends `${infer N}[${infer R}` ? Indexes<MemberOf<S, N>, `[${R}`> : MemberOf<S, H>;

/** The field declaration found at path `P` of schema `S` (a schema, or a `Bitfield`); `never` if there is none. */
export type FieldAt<S, P extends string> = P extends `${infer H}.${infer R}` ? FieldAt<Step<S, H>, R> : Step<S, P>;

/**
 * `P` when it is a valid field path of `S`; otherwise the names of the direct
 * fields, so that tsc's error lists what exists.
 */
export type CheckPath<S, P extends string> = [FieldAt<S, P>] extends [never] ? FieldName<S> : P;

/** What `fieldOf` returns: where a field is and its schema. */
export interface FieldInfo<S = AnySchema> {
  /** Byte offset from the start of the outermost schema. */
  readonly offset: number;
  /** Bit offset from the start (offset * 8 unless a bitfield). */
  readonly bitOffset: number;
  /** Bitfield width, 0 for ordinary fields. */
  readonly bitSize: number;
  /** Schema of the field (a bitfield's base integer). */
  readonly schema: S extends Bitfield<infer B> ? B : S;
}

/** C `sizeof`. */
export function sizeof(schema: AnySchema): number {
  return schema.size;
}

/** C `_Alignof`. */
export function alignof(schema: AnySchema): number {
  return schema.align;
}

const SEGMENT = /^([A-Za-z_][A-Za-z0-9_]*)((?:\[[0-9]+\])*)$/;

/**
 * Finds the field at `path` (dots between members, `[i]` for array elements) and
 * returns its offsets and schema. Unknown paths are a `SCHEMA_PATH` error.
 */
export function fieldOf<S extends AnySchema, const P extends string>(schema: S, path: CheckPath<S, P>): FieldInfo<FieldAt<S, P>> {
  if (typeof path !== 'string' || path === '') {
    throw new SchemaError('SCHEMA_PATH', schema.name, `field path must be a non-empty string, got ${describeValue(path)}`);
  }
  let current: AnySchema = schema;
  let offset = 0;
  let walked = schema.name;
  let found: Member | undefined;
  for (const segment of (path as string).split('.')) {
    const m = SEGMENT.exec(segment);
    if (m === null) throw new SchemaError('SCHEMA_PATH', walked, `bad path segment ${describeValue(segment)} in ${describeValue(path)}`);
    if (found !== undefined && found.bitSize !== 0) {
      throw new SchemaError('SCHEMA_PATH', walked, 'is a bitfield and has no members');
    }
    current = resolve(current);
    if (current.kind !== 'struct' && current.kind !== 'union') {
      throw new SchemaError('SCHEMA_PATH', walked, `is not a struct or union (kind ${current.kind}); cannot select ${describeValue(m[1])}`);
    }
    const members = (current as unknown as { members: readonly Member[] }).members;
    found = members.find((x) => x.name === m[1]);
    walked = walked === '' ? m[1]! : `${walked}.${m[1]}`;
    if (found === undefined) {
      throw new SchemaError('SCHEMA_PATH', walked, `no such field (has ${members.map((x) => x.name).join(', ')})`);
    }
    offset += found.offset;
    current = found.schema;
    for (const idx of m[2]!.matchAll(/\[([0-9]+)\]/g)) {
      const i = Number(idx[1]);
      current = resolve(current);
      if (current.kind !== 'array') throw new SchemaError('SCHEMA_PATH', walked, `is not an array (kind ${current.kind})`);
      const arr = current as unknown as ArraySchema;
      if (i >= arr.count) throw new SchemaError('SCHEMA_PATH', walked, `index ${i} out of range (length ${arr.count})`);
      offset += i * arr.elem.size;
      walked += `[${i}]`;
      current = arr.elem;
      found = undefined;
    }
  }
  const bitSize = found?.bitSize ?? 0;
  const bitOffset = bitSize === 0 ? offset * 8 : (offset - found!.offset) * 8 + found!.bitOffset;
  return Object.freeze({ offset, bitOffset, bitSize, schema: current }) as FieldInfo<FieldAt<S, P>>;
}

/** C `offsetof(type, a.b.c)` with nested paths and array indexes. */
export function offsetof<S extends AnySchema, const P extends string>(schema: S, path: CheckPath<S, P>): number {
  return fieldOf<S, P>(schema, path).offset;
}

function resolve(s: AnySchema): AnySchema {
  while (s.kind === 'typedef') s = (s as TypedefSchema).target;
  return s;
}
