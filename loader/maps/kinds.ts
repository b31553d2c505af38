/** Per-map-type facts the loader needs: per-CPU values, fd values, defaults. */
import type { MapTypeName } from '../sys/constants.js';

/** Map types whose values are one slot per possible CPU. */
export const perCpuMapTypes = ['PERCPU_HASH', 'PERCPU_ARRAY', 'LRU_PERCPU_HASH', 'PERCPU_CGROUP_STORAGE'] as const;
/** A per-CPU map type. */
export type PerCpuMapType = (typeof perCpuMapTypes)[number];

/** Map types whose values are written as fds and read back as ids. */
export const fdMapTypes = [
  'PROG_ARRAY', 'ARRAY_OF_MAPS', 'HASH_OF_MAPS', 'SOCKMAP', 'SOCKHASH', 'PERF_EVENT_ARRAY',
  'CGROUP_ARRAY', 'DEVMAP', 'DEVMAP_HASH', 'CPUMAP', 'XSKMAP', 'REUSEPORT_SOCKARRAY',
] as const;

/** Map types with no keys (values pushed/popped, or a ring). */
export const keylessMapTypes = ['QUEUE', 'STACK', 'BLOOM_FILTER', 'RINGBUF', 'USER_RINGBUF'] as const;

/** Map-in-map types: need an inner map template at creation. */
export const mapInMapTypes = ['ARRAY_OF_MAPS', 'HASH_OF_MAPS'] as const;

/** Array-like map types: every index in [0, max_entries) exists; NOEXIST and delete fail. */
export const arrayMapTypes = ['ARRAY', 'PERCPU_ARRAY', 'PROG_ARRAY', 'ARRAY_OF_MAPS', 'PERF_EVENT_ARRAY', 'CGROUP_ARRAY'] as const;

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
  return type === 'LPM_TRIE' ? 1 /* NO_PREALLOC */ : 0;
}
