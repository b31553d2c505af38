/**
 * Neighbour caches: client address → MAC, filled when a NodePort request
 * arrives (its Ethernet source is the next hop back to the client) and read
 * on the reply path when the FIB has no neighbour entry for the client.
 */
import { lruHashMap } from '../../dsl/program/index.js';
import { ipv4, ipv6, mac, pad, struct } from '../../dsl/types/index.js';
import { SNAT_MAP_ENTRIES } from './snat-maps.js';

/** A cached MAC, padded to 8 bytes. */
export const NeighEntry = struct('neigh_entry', { mac, _pad: pad(2) });

/** IPv4 neighbours. */
export const neigh4 = lruHashMap('neigh4_map', ipv4, NeighEntry, { maxEntries: SNAT_MAP_ENTRIES, pinning: 'byName' });
/** IPv6 neighbours. */
export const neigh6 = lruHashMap('neigh6_map', ipv6, NeighEntry, { maxEntries: SNAT_MAP_ENTRIES, pinning: 'byName' });
