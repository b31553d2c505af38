/** Per-map-type facts the loader needs: per-CPU values, fd values, defaults. */
import type { MapTypeName } from '../sys/constants.js';

/** Map types whose values are one slot per possible CPU. */
export const perCpuMapTypes = ['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage'] as const;
/** A per-CPU map type. */
export type PerCpuMapType = (typeof perCpuMapTypes)[number];

/** Map types whose values are written as fds and read back as ids. */
export const fdMapTypes = [
  'prog_array', 'array_of_maps', 'hash_of_maps', 'sockmap', 'sockhash', 'perf_event_array',
  'cgroup_array', 'devmap', 'devmap_hash', 'cpumap', 'xskmap', 'reuseport_sockarray',
] as const;

/** Map types with no keys (values pushed/popped, or a ring). */
export const keylessMapTypes = ['queue', 'stack', 'bloom_filter', 'ringbuf', 'user_ringbuf'] as const;

/** Map-in-map types: need an inner map template at creation. */
export const mapInMapTypes = ['array_of_maps', 'hash_of_maps'] as const;

/** Array-like map types: every index in [0, max_entries) exists; NOEXIST and delete fail. */
export const arrayMapTypes = ['array', 'percpu_array', 'prog_array', 'array_of_maps', 'perf_event_array', 'cgroup_array'] as const;

const has = (list: readonly string[], t: string) => list.includes(t);

/** Whether `type` stores one value per CPU. */
export function isPerCpu(type: string): boolean {
  return has(perCpuMapTypes, type);
}
/** Whether `type` stores fds (written) / ids (read). */
export function isFdMap(type: string): boolean {
  return has(fdMapTypes, type);
}
/** Whether `type` is a map-in-map. */
export function isMapInMap(type: string): boolean {
  return has(mapInMapTypes, type);
}

/** Value as stored for map type `T`: an array (one per possible CPU) for per-CPU maps. */
export type Stored<T, V> = T extends PerCpuMapType ? V[] : V;

/** Map types with a sensible default for `flags` (LPM tries must not preallocate). */
export function defaultFlags(type: MapTypeName | string): number {
  return type === 'lpm_trie' ? 1 /* NO_PREALLOC */ : 0;
}
