/**
 * The service tables as map declarations, shared by every program that includes
 * them and pinned by name so a reload (or a restarted agent) finds the same
 * state. Sizes follow the reference datapath (65,536 services/backends, 256k
 * socket reverse-NAT entries).
 */
import { hashMap, lruHashMap } from '../../dsl/program/index.js';
import { ipv4, ipv6, u16, u32, u64, u8 } from '../../dsl/types/index.js';
import {
  AffinityEntry, AffinityKey4, AffinityKey6, Backend4, Backend6, RevNat4, RevNat6, ServiceEntry, ServiceKey4, ServiceKey6,
  SockBackend4, SockBackend6, SockRevNat4, SockRevNat6, SockRevNatKey4, SockRevNatKey6,
} from './schemas.js';

/** Capacity of the services tables (frontends plus backend slots). */
export const SERVICE_MAP_ENTRIES = 65536;
/** Capacity of the backends tables. */
export const BACKEND_MAP_ENTRIES = 65536;
/** Capacity of the reverse-NAT tables (one entry per frontend). */
export const REV_NAT_MAP_ENTRIES = 65536;
/** Capacity of the socket reverse-NAT LRU tables. */
export const SOCK_REV_NAT_MAP_ENTRIES = 262144;

/** IPv4 services: frontends and their backend slots. */
export const services4 = hashMap('lb4_services', ServiceKey4, ServiceEntry, { maxEntries: SERVICE_MAP_ENTRIES, pinning: 'byName' });
/** IPv6 services. */
export const services6 = hashMap('lb6_services', ServiceKey6, ServiceEntry, { maxEntries: SERVICE_MAP_ENTRIES, pinning: 'byName' });
/** IPv4 backends by id. */
export const backends4 = hashMap('lb4_backends', u32, Backend4, { maxEntries: BACKEND_MAP_ENTRIES, pinning: 'byName' });
/** IPv6 backends by id. */
export const backends6 = hashMap('lb6_backends', u32, Backend6, { maxEntries: BACKEND_MAP_ENTRIES, pinning: 'byName' });
/** IPv4 reverse NAT: `revNatIndex` → frontend. */
export const revNat4 = hashMap('lb4_reverse_nat', u16, RevNat4, { maxEntries: REV_NAT_MAP_ENTRIES, pinning: 'byName' });
/** IPv6 reverse NAT. */
export const revNat6 = hashMap('lb6_reverse_nat', u16, RevNat6, { maxEntries: REV_NAT_MAP_ENTRIES, pinning: 'byName' });
/** IPv4 socket reverse NAT for UDP replies (LRU: forgotten sockets age out). */
export const sockRevNat4 = lruHashMap('lb4_sock_rnat', SockRevNatKey4, SockRevNat4, { maxEntries: SOCK_REV_NAT_MAP_ENTRIES, pinning: 'byName' });
/** IPv6 socket reverse NAT. */
export const sockRevNat6 = lruHashMap('lb6_sock_rnat', SockRevNatKey6, SockRevNat6, { maxEntries: SOCK_REV_NAT_MAP_ENTRIES, pinning: 'byName' });
/** IPv4 socket → the backend of its reverse-NAT entry, for `sock_release` clean-up (same size as the LRU it cleans). */
export const sockBackend4 = lruHashMap('lb4_sock_backend', u64, SockBackend4, { maxEntries: SOCK_REV_NAT_MAP_ENTRIES, pinning: 'byName' });
/** IPv6 socket → backend of its reverse-NAT entry. */
export const sockBackend6 = lruHashMap('lb6_sock_backend', u64, SockBackend6, { maxEntries: SOCK_REV_NAT_MAP_ENTRIES, pinning: 'byName' });

/** Capacity of each session-affinity table (LRU: the least recently used clients go first). */
export const AFFINITY_MAP_ENTRIES = 65536;
/** Session affinity (IPv4): client (netns cookie or source address) and service → last backend; see {@link AffinityEntry}. */
export const affinity4 = lruHashMap('lb4_affinity', AffinityKey4, AffinityEntry, { maxEntries: AFFINITY_MAP_ENTRIES, pinning: 'byName' });
/** Session affinity (IPv6). */
export const affinity6 = lruHashMap('lb6_affinity', AffinityKey6, AffinityEntry, { maxEntries: AFFINITY_MAP_ENTRIES, pinning: 'byName' });

/** Capacity of the node-address tables. */
export const NODE_ADDR_MAP_ENTRIES = 256;
/**
 * The node's own IPv4 addresses (value: 1), filled by the agent: a connect to one
 * of them (or to loopback) on a port in the NodePort range is looked up as the
 * wildcard NodePort frontend.
 */
export const nodeAddrs4 = hashMap('lb4_node_addrs', ipv4, u8, { maxEntries: NODE_ADDR_MAP_ENTRIES, pinning: 'byName' });
/** The node's own IPv6 addresses. */
export const nodeAddrs6 = hashMap('lb6_node_addrs', ipv6, u8, { maxEntries: NODE_ADDR_MAP_ENTRIES, pinning: 'byName' });
