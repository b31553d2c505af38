/**
 * Map declarations from schemas. A map is a value shared by programs (they
 * reference it by name); its key/value schemas give the BPF-side access, the BTF
 * and the userspace codec.
 */
import { callerLocation, type SourceLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { MapTypeName } from '../kernel/index.js';
import type { MapPinning } from '../object/index.js';
import { u32, type AnySchema } from '../types/index.js';

/** What a map supports from BPF code. */
export type MapKind = 'hash' | 'array' | 'lpm' | 'prog_array' | 'ringbuf' | 'perf';

declare const mapBrand: unique symbol;

/** Options of a map declaration. */
export interface MapOptions {
  readonly maxEntries: number;
  /** `map_flags` bits (see `MapFlags` in dsl/kernel). */
  readonly flags?: number;
  /** `byName` pins at `<pin root>/<name>`. */
  readonly pinning?: MapPinning;
}

/** A declared map. */
export interface MapDef<K extends AnySchema | undefined = AnySchema | undefined, V extends AnySchema | undefined = AnySchema | undefined, T extends MapKind = MapKind> {
  readonly name: string;
  readonly type: MapTypeName;
  readonly kind: T;
  readonly key: K;
  readonly value: V;
  readonly maxEntries: number;
  readonly flags: number;
  readonly pinning: MapPinning;
  readonly src: SourceLocation | undefined;
  /** Prog arrays: program names per slot, filled at load. */
  readonly slots?: readonly (string | null)[];
  readonly [mapBrand]?: T;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

function declare<K extends AnySchema | undefined, V extends AnySchema | undefined, T extends MapKind>(
  name: string,
  type: MapTypeName,
  kind: T,
  key: K,
  value: V,
  opts: MapOptions,
  defaultFlags = 0,
): MapDef<K, V, T> {
  const src = callerLocation();
  if (typeof name !== 'string' || !NAME.test(name)) throw new DslError('DSL_MAP', `map name '${String(name)}' is not an identifier`, src);
  if (!opts || !Number.isInteger(opts.maxEntries) || opts.maxEntries < 1) throw new DslError('DSL_MAP', `map ${name}: maxEntries must be a positive integer`, src);
  for (const [what, s] of [['key', key], ['value', value]] as const) {
    if (s !== undefined && (typeof s !== 'object' || s === null || typeof (s as AnySchema).size !== 'number'))
      throw new DslError('DSL_MAP', `map ${name}: ${what} must be a schema`, src);
  }
  return Object.freeze({
    name,
    type,
    kind,
    key,
    value,
    maxEntries: opts.maxEntries,
    flags: opts.flags ?? defaultFlags,
    pinning: opts.pinning ?? 'none',
    src,
  });
}

/** BPF_MAP_TYPE_HASH. */
export function hashMap<K extends AnySchema, V extends AnySchema>(name: string, key: K, value: V, opts: MapOptions): MapDef<K, V, 'hash'> {
  return declare(name, 'HASH', 'hash', key, value, opts);
}
/** BPF_MAP_TYPE_LRU_HASH. */
export function lruHashMap<K extends AnySchema, V extends AnySchema>(name: string, key: K, value: V, opts: MapOptions): MapDef<K, V, 'hash'> {
  return declare(name, 'LRU_HASH', 'hash', key, value, opts);
}
/** BPF_MAP_TYPE_PERCPU_HASH. */
export function percpuHashMap<K extends AnySchema, V extends AnySchema>(name: string, key: K, value: V, opts: MapOptions): MapDef<K, V, 'hash'> {
  return declare(name, 'PERCPU_HASH', 'hash', key, value, opts);
}
/** BPF_MAP_TYPE_ARRAY (u32 keys). */
export function arrayMap<V extends AnySchema>(name: string, value: V, opts: MapOptions): MapDef<typeof u32, V, 'array'> {
  return declare(name, 'ARRAY', 'array', u32, value, opts);
}
/** BPF_MAP_TYPE_PERCPU_ARRAY (u32 keys). */
export function percpuArrayMap<V extends AnySchema>(name: string, value: V, opts: MapOptions): MapDef<typeof u32, V, 'array'> {
  return declare(name, 'PERCPU_ARRAY', 'array', u32, value, opts);
}
/** BPF_MAP_TYPE_LPM_TRIE (key: a struct starting with a u32 prefix length; NO_PREALLOC by default). */
export function lpmTrie<K extends AnySchema, V extends AnySchema>(name: string, key: K, value: V, opts: MapOptions): MapDef<K, V, 'lpm'> {
  return declare(name, 'LPM_TRIE', 'lpm', key, value, opts, 1);
}
/** Initial slots of a prog array: programs (by declaration or name) or null for empty slots. */
export type ProgSlots = readonly ({ readonly name: string; readonly kind: 'program' } | string | null)[];

/** BPF_MAP_TYPE_PROG_ARRAY, for `b.tailCall`; `programs` fills slots at load (they must be built in the same object). */
export function progArray(name: string, opts: MapOptions & { readonly programs?: ProgSlots }): MapDef<typeof u32, typeof u32, 'prog_array'> {
  const def = declare(name, 'PROG_ARRAY', 'prog_array', u32, u32, opts);
  if (!opts.programs) return def;
  if (opts.programs.length > opts.maxEntries) throw new DslError('DSL_MAP', `prog array ${name}: ${opts.programs.length} programs for ${opts.maxEntries} slots`, def.src);
  const slots = opts.programs.map((p) => (p === null ? null : typeof p === 'string' ? p : p.name));
  return Object.freeze({ ...def, slots });
}
/** BPF_MAP_TYPE_RINGBUF of `size` bytes (a power of two, multiple of the page size). */
export function ringbuf(name: string, opts: { readonly size: number; readonly pinning?: MapPinning }): MapDef<undefined, undefined, 'ringbuf'> {
  return declare(name, 'RINGBUF', 'ringbuf', undefined, undefined, { maxEntries: opts.size, ...(opts.pinning ? { pinning: opts.pinning } : {}) });
}
/** BPF_MAP_TYPE_PERF_EVENT_ARRAY (one slot per CPU; sized by the loader when 0). */
export function perfEventArray(name: string, opts: { readonly maxEntries?: number } = {}): MapDef<typeof u32, typeof u32, 'perf'> {
  return declare(name, 'PERF_EVENT_ARRAY', 'perf', u32, u32, { maxEntries: opts.maxEntries ?? 128 });
}

/** Whether `x` is a map declaration. */
export function isMapDef(x: unknown): x is MapDef {
  return typeof x === 'object' && x !== null && 'maxEntries' in x && 'kind' in x && 'type' in x && 'pinning' in x;
}
