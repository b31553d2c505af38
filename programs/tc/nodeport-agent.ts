/**
 * The userspace half of the NodePort path: writes the node configuration and
 * the local endpoints into a loaded object's maps, and reads the counters —
 * through the same schemas the programs use (the service tables themselves
 * belong to the programs/lb service manager).
 */
import type { MapDef } from '../../dsl/program/index.js';
import type { AnySchema } from '../../dsl/types/index.js';
import type { LoadedObject } from '../../loader/object/index.js';
import { localEndpoints4, localEndpoints6, npConfig4, npConfig6, npDrops, npPaths } from './nodeport-maps.js';
import { NP_DROP_REASONS, NP_PATHS, NpDrop, NpPath } from './nodeport-schemas.js';
import { snatRetries } from './snat-maps.js';
import { SNAT_HIST_BUCKETS } from './snat-schemas.js';

/** Default SNAT port range (host order, inclusive): above the NodePort range 30000–32767. */
export const DEFAULT_SNAT_PORTS = { min: 32768, max: 65535 } as const;

/** The node as the NodePort programs see it, for one address family. */
export interface NodePortNodeConfig {
  /** The node address clients connect to and remote backends are SNATed from ('10.0.0.1' or 'fd00::1'). */
  readonly nodeIp: string;
  /** ifindex of the native device (FIB lookups and redirects). */
  readonly ifindex: number;
  /** MAC of the native device ('aa:bb:cc:dd:ee:ff'), used when the FIB has no neighbour. */
  readonly mac: string;
  /** SNAT port range; default {@link DEFAULT_SNAT_PORTS}. */
  readonly portMin?: number;
  readonly portMax?: number;
}

/** A backend pod on this node. */
export interface LocalEndpointConfig {
  /** ifindex of its host-side veth. */
  readonly ifindex: number;
  readonly podMac: string;
  /** MAC of the host-side veth. */
  readonly hostMac: string;
}

const isV6 = (address: string) => address.includes(':');

function put(obj: LoadedObject, def: MapDef, key: unknown, value: unknown): void {
  obj.map(def.name).update((def.key as AnySchema).encode(key as never) as never, (def.value as AnySchema).encode(value as never) as never);
}

function counters(obj: LoadedObject, def: MapDef, n: number): bigint[] {
  const m = obj.map(def.name);
  const v = def.value as AnySchema;
  return Array.from({ length: n }, (_, i) => v.decode(m.get((def.key as AnySchema).encode(i as never) as never) as Uint8Array) as bigint);
}

/** Writes the node configuration of the address family of `cfg.nodeIp`. */
export function setNodeConfig(obj: LoadedObject, cfg: NodePortNodeConfig): void {
  const value = { nodeIp: cfg.nodeIp, ifindex: cfg.ifindex, mac: cfg.mac, portMin: cfg.portMin ?? DEFAULT_SNAT_PORTS.min, portMax: cfg.portMax ?? DEFAULT_SNAT_PORTS.max };
  if (value.portMin < 1 || value.portMax > 65535 || value.portMin > value.portMax) throw new RangeError(`SNAT port range ${value.portMin}-${value.portMax} is not within 1-65535`);
  put(obj, isV6(cfg.nodeIp) ? npConfig6 : npConfig4, 0, value);
}

/** Adds or replaces a local backend pod (by its address). */
export function setLocalEndpoint(obj: LoadedObject, address: string, ep: LocalEndpointConfig): void {
  put(obj, isV6(address) ? localEndpoints6 : localEndpoints4, address, ep);
}

/** Removes a local backend pod; true when it was there. */
export function deleteLocalEndpoint(obj: LoadedObject, address: string): boolean {
  const def = isV6(address) ? localEndpoints6 : localEndpoints4;
  return obj.map(def.name).delete((def.key as AnySchema).encode(address as never) as never);
}

/** The SNAT retry histogram: tries 0..31, then failed, rolled back, reclaimed. */
export function snatHistogram(obj: LoadedObject): bigint[] {
  return counters(obj, snatRetries, SNAT_HIST_BUCKETS);
}

/** Drop counters by reason name. */
export function dropCounters(obj: LoadedObject): Record<keyof typeof NpDrop, bigint> {
  const c = counters(obj, npDrops, NP_DROP_REASONS);
  return Object.fromEntries(Object.entries(NpDrop).map(([k, i]) => [k, c[i]!])) as Record<keyof typeof NpDrop, bigint>;
}

/** Path counters by name. */
export function pathCounters(obj: LoadedObject): Record<keyof typeof NpPath, bigint> {
  const c = counters(obj, npPaths, NP_PATHS);
  return Object.fromEntries(Object.entries(NpPath).map(([k, i]) => [k, c[i]!])) as Record<keyof typeof NpPath, bigint>;
}
