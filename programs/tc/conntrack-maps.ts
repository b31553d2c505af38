/**
 * Conntrack and drop-counter maps of the tc datapath, pinned by name so a
 * reloaded datapath keeps its flows. One LRU table per address family holds
 * every entry kind (the key's `flags` tells them apart); LRU so that a full
 * table forgets the oldest flows instead of refusing new ones.
 */
import { lruHashMap, percpuArrayMap } from '../../dsl/program/index.js';
import { u64 } from '../../dsl/types/index.js';
import { CtEntry, CtKey4, CtKey6 } from './conntrack-schemas.js';

/** Capacity of each conntrack table (entries of every kind). */
export const CT_MAP_ENTRIES = 262144;

/** IPv4 conntrack. */
export const ct4 = lruHashMap('tc_ct4', CtKey4, CtEntry, { maxEntries: CT_MAP_ENTRIES, pinning: 'byName' });
/** IPv6 conntrack. */
export const ct6 = lruHashMap('tc_ct6', CtKey6, CtEntry, { maxEntries: CT_MAP_ENTRIES, pinning: 'byName' });

/** Number of drop-reason slots in {@link dropReasons}. */
export const DROP_REASON_SLOTS = 16;
/** Per-CPU packet counters by DROP_* reason. */
export const dropReasons = percpuArrayMap('tc_drop_reasons', u64, { maxEntries: DROP_REASON_SLOTS, pinning: 'byName' });

/** Drop reason: the service has no backends. */
export const DROP_NO_BACKEND = 1;
/** Drop reason: the chosen backend slot or backend id is not in the tables. */
export const DROP_BACKEND_MISSING = 2;
/** Drop reason: a conntrack entry could not be created. */
export const DROP_CT_CREATE = 3;
/** Drop reason: SNAT found no free port (NodePort). */
export const DROP_NAT_NO_PORT = 4;
/** Drop reason: no route/neighbour for the packet (NodePort). */
export const DROP_NO_ROUTE = 5;
