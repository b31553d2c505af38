/**
 * Layouts of the NodePort path's own tables: the node configuration, local
 * endpoints (where a local backend's packets are redirected), sticky NodePort
 * flows (which backend a client connection was given) and the drop counters.
 */
import { be16, ipv4, ipv6, mac, pad, struct, u16, u32, u64, u8 } from '../../dsl/types/index.js';

/**
 * Node configuration (IPv4), one entry at index 0: the node address NodePort
 * traffic is addressed to and SNATed from, the native device (ifindex + MAC)
 * FIB lookups and redirects use, and the SNAT port range (host order, inclusive).
 */
export const NodeConfig4 = struct('np4_config', {
  nodeIp: ipv4, ifindex: u32, mac, _pad: pad(2), portMin: u16, portMax: u16,
});
/** Node configuration (IPv6). */
export const NodeConfig6 = struct('np6_config', {
  nodeIp: ipv6, ifindex: u32, mac, _pad: pad(2), portMin: u16, portMax: u16,
});

/**
 * A backend pod on this node, by its address: the host-side veth to redirect to
 * and the MACs to write (the pod's as destination, the veth's as source). The
 * backends table has no room for an ifindex; this is the "small map" for it.
 */
export const LocalEndpoint = struct('np_local_endpoint', { ifindex: u32, podMac: mac, hostMac: mac, _pad: pad(4) });

/** Sticky NodePort flow (IPv4): the backend a client tuple was sent to. */
export const NodePortFlow4 = struct('np4_flow', {
  created: u64, backendAddr: ipv4, backendPort: be16, revNatIndex: u16,
  /** NP_FLOW_* bits. */
  flags: u8, _pad: pad(3),
  /** The backend's id: a flow is reused only while that backend and its frontend's reverse-NAT index are still in the tables. */
  backendId: u32,
});
/** Sticky NodePort flow (IPv6). */
export const NodePortFlow6 = struct('np6_flow', {
  created: u64, backendAddr: ipv6, backendPort: be16, revNatIndex: u16, flags: u8, _pad: pad(3), backendId: u32, _pad2: pad(4),
});

/** `NodePortFlow*.flags`: the backend is local (DNAT + redirect, no SNAT). */
export const NP_FLOW_LOCAL = 1 << 0;

/**
 * The `skb->mark` bit a translated packet carries when NodePort redirects it
 * through the FIB. The native device's egress program sees those packets again
 * (a redirect to a device runs its egress hook): the bit tells them from the
 * node's own flows, which have the same tuple as a NodePort flow only on a real
 * port clash. The egress program clears it. Outside kube-proxy's 0x4000/0x8000
 * and Cilium's 0x0f00 magic nibble.
 */
export const NP_MARK_FORWARDED = 0x0010_0000;

/** Drop reasons: index into the `np_drops` counters. */
export const NpDrop = {
  /** The service has no backends (or none local under externalTrafficPolicy=Local). */
  NO_BACKEND: 0,
  /** A slot named a backend id that is not in the backends table. */
  BACKEND_GONE: 1,
  /** A local backend without a local-endpoint entry. */
  NO_ENDPOINT: 2,
  /** SNAT found no free port (or rolled back). */
  SNAT_EXHAUSTED: 3,
  /** FIB lookup failed (no route, blackhole, fragmentation needed…). */
  FIB_FAILED: 4,
  /** No neighbour in the FIB nor in the cache, and no bpf_redirect_neigh on this kernel. */
  NO_NEIGH: 5,
  /** Node configuration missing. */
  NO_CONFIG: 6,
  /** The packet would be forwarded with a TTL / hop limit of 1 or 0 (no ICMP time exceeded is sent). */
  TTL_EXCEEDED: 7,
} as const;
/** Number of drop counters. */
export const NP_DROP_REASONS = 8;

/** Path counters (how packets were handled, not drops): index into `np_paths`. */
export const NpPath = {
  /** FIB gave the neighbour. */
  FIB: 0,
  /** FIB had no neighbour; the neighbour cache did. */
  NEIGH_CACHE: 1,
  /** Neither had it; bpf_redirect_neigh resolves it (5.10+). */
  REDIRECT_NEIGH: 2,
  /** A host flow leaving the native device registered its port (egress). */
  HOST_FLOW: 3,
  /** A host flow's port is held by a NodePort SNAT flow to the same backend (the host flow passes unregistered). */
  HOST_CLASH: 4,
  /** An ICMP error about a NodePort flow was translated (and redirected like the flow's packets). */
  ICMP_ERROR: 5,
} as const;
/** Number of path counters. */
export const NP_PATHS = 8;

/** Key of the local-endpoint table (IPv4): the backend address. */
export const EndpointKey4 = ipv4;
/** Key of the local-endpoint table (IPv6): the backend address. */
export const EndpointKey6 = ipv6;
