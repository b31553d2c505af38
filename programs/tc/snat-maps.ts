/**
 * The SNAT tables and the port-allocation retry histogram. LRU hashes, so
 * forgotten flows age out instead of filling the table; pinned by name so a
 * datapath reload keeps established flows.
 */
import { arrayMap, lruHashMap } from '../../dsl/program/index.js';
import { u64 } from '../../dsl/types/index.js';
import { SNAT_HIST_BUCKETS, SnatEntry4, SnatEntry6, SnatKey4, SnatKey6 } from './snat-schemas.js';

/** Capacity of each SNAT table (two entries per flow). */
export const SNAT_MAP_ENTRIES = 524288;

/** IPv4 SNAT entries (forward and reverse). */
export const snat4 = lruHashMap('snat4_map', SnatKey4, SnatEntry4, { maxEntries: SNAT_MAP_ENTRIES, pinning: 'byName' });
/** IPv6 SNAT entries. */
export const snat6 = lruHashMap('snat6_map', SnatKey6, SnatEntry6, { maxEntries: SNAT_MAP_ENTRIES, pinning: 'byName' });
/**
 * Port allocations by the try that found the port (0 = the first candidate),
 * then SNAT_HIST_FAILED and SNAT_HIST_ROLLBACK. Shared by both families.
 */
export const snatRetries = arrayMap('snat_retries', u64, { maxEntries: SNAT_HIST_BUCKETS, pinning: 'byName' });
