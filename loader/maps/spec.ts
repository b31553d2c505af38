/**
 * MapSpec: the plain blueprint of a map (what an ELF object or the DSL
 * declares), kept apart from a loaded `BpfMap`, which owns an fd.
 */
import type { MapTypeName } from '../sys/constants.js';
import type { AnyCodec } from './codec.js';

/** BTF type information attached to a map at creation. */
export interface MapBtf {
  /** Fd of the loaded BTF object (a number, or anything with `.fd`). */
  readonly fd: number | { readonly fd: number };
  readonly keyTypeId: number;
  readonly valueTypeId: number;
}

/** Something that can serve as an inner-map template: a spec, or an open map. */
export type InnerMap = MapSpec | { readonly fd: number };

/** Blueprint of a map. Sizes default to the codecs' sizes. */
export interface MapSpec<KC extends AnyCodec = AnyCodec, VC extends AnyCodec = AnyCodec, T extends MapTypeName = MapTypeName> {
  readonly type: T;
  /** Kernel-visible name: [A-Za-z0-9_.], at most 15 characters are kept. */
  readonly name?: string;
  /** Key codec (a dsl/types schema or any `Codec`); raw bytes when omitted. */
  readonly key?: KC;
  /** Value codec; raw bytes (or fds/ids for fd maps) when omitted. */
  readonly value?: VC;
  /** Key size in bytes; defaults to `key.size`. */
  readonly keySize?: number;
  /** Value size in bytes (per CPU for per-CPU maps); defaults to `value.size`. */
  readonly valueSize?: number;
  readonly maxEntries: number;
  /** `map_flags` (MapFlag bits); LPM tries default to NO_PREALLOC. */
  readonly flags?: number;
  /** For array_of_maps / hash_of_maps: the template every inner map must match. */
  readonly innerMap?: InnerMap;
  readonly btf?: MapBtf;
  /** NUMA node (sets the NUMA_NODE flag). */
  readonly numaNode?: number;
  /** `map_extra` (bloom filter hash count, arena address). */
  readonly mapExtra?: bigint | number;
  /** Offload to this interface (hardware offload only). */
  readonly ifindex?: number;
}
