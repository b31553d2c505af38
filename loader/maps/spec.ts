/**
 * The map spec is the one of dsl/object (`MapDefinition` / `MapSpec`: UAPI type
 * names, key/value as a schema, a BTF type or a byte size). What only matters
 * when creating a map in this process — a loaded BTF object's type ids, custom
 * codecs, an open map as inner template — is given as {@link MapCreateOptions}.
 */
import type { Btf } from '../../dsl/btf/index.js';
import type { AnyCodec, HasFd } from './codec.js';

export type { MapDefinition, MapSpec, TypeSpec } from '../../dsl/object/index.js';

/** BTF type information attached to a map at creation. */
export interface MapBtf {
  /** Fd of the loaded BTF object (a number, or anything with `.fd`). */
  readonly fd: number | { readonly fd: number };
  readonly keyTypeId: number;
  readonly valueTypeId: number;
}

/** Load-time options of `BpfMap.create`. */
export interface MapCreateOptions<KC extends AnyCodec = AnyCodec, VC extends AnyCodec = AnyCodec> {
  /** Key codec other than the spec's schema (any `Codec` of the key's size). */
  readonly key?: KC;
  /** Value codec other than the spec's schema. */
  readonly value?: VC;
  /** BTF key/value type ids in a loaded BTF object. */
  readonly btf?: MapBtf;
  /** For a map-in-map: an open map as the inner template (instead of the spec's `innerMap`). */
  readonly innerMap?: HasFd;
  /** The BTF graph `{ btfType }` key/value references point into (an ObjectSpec's `btf`). */
  readonly objectBtf?: Btf;
}
