/**
 * Map declarations of the NodePort path (beyond the shared service tables in
 * programs/lb/maps.ts, the SNAT tables and the neighbour caches).
 */
import { arrayMap, lruHashMap, hashMap } from '../../dsl/program/index.js';
import { u64 } from '../../dsl/types/index.js';
import { SnatKey4, SnatKey6 } from './snat-schemas.js';
import {
  EndpointKey4, EndpointKey6, LocalEndpoint, NodeConfig4, NodeConfig6, NodePortFlow4, NodePortFlow6, NP_DROP_REASONS, NP_PATHS,
} from './nodeport-schemas.js';

/** IPv4 node configuration (index 0). */
export const npConfig4 = arrayMap('np4_config', NodeConfig4, { maxEntries: 1, pinning: 'byName' });
/** IPv6 node configuration (index 0). */
export const npConfig6 = arrayMap('np6_config', NodeConfig6, { maxEntries: 1, pinning: 'byName' });
/** Local backends (IPv4 address → host-side veth and MACs). */
export const localEndpoints4 = hashMap('np4_local_eps', EndpointKey4, LocalEndpoint, { maxEntries: 65536, pinning: 'byName' });
/** Local backends (IPv6). */
export const localEndpoints6 = hashMap('np6_local_eps', EndpointKey6, LocalEndpoint, { maxEntries: 65536, pinning: 'byName' });
/** Sticky NodePort flows (IPv4), keyed by the client's tuple (direction OUT). */
export const npFlows4 = lruHashMap('np4_flows', SnatKey4, NodePortFlow4, { maxEntries: 262144, pinning: 'byName' });
/** Sticky NodePort flows (IPv6). */
export const npFlows6 = lruHashMap('np6_flows', SnatKey6, NodePortFlow6, { maxEntries: 262144, pinning: 'byName' });
/** Dropped packets by `NpDrop` reason (both families). */
export const npDrops = arrayMap('np_drops', u64, { maxEntries: NP_DROP_REASONS, pinning: 'byName' });
/** Redirected packets by `NpPath` (how the next-hop MAC was found). */
export const npPaths = arrayMap('np_paths', u64, { maxEntries: NP_PATHS, pinning: 'byName' });
