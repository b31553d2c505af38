/**
 * Layouts of the service tables shared by the socket load balancer
 * (`programs/sock`), the tc datapath (`programs/tc`) and the service manager.
 * One schema each gives the C layout the programs read, the BTF in the object
 * and the host codec the manager writes with, so the two sides cannot drift.
 *
 * Byte order: addresses and ports are network order (`ipv4`/`ipv6`/`be16`);
 * slots, counts, ids and indexes are host order.
 */
import { be16, ipv4, ipv6, pad, struct, u16, u32, u64, u8 } from '../../dsl/types/index.js';

/**
 * Key of the services table. `backendSlot = 0` is the frontend entry (its value
 * holds the backend count); slots `1..count` hold one backend id each. The
 * wildcard NodePort frontend has `address = 0.0.0.0`.
 */
export const ServiceKey4 = struct('lb4_key', {
  address: ipv4,
  port: be16,
  backendSlot: u16,
  /** IPPROTO_TCP (6) or IPPROTO_UDP (17). */
  proto: u8,
  /** SERVICE_SCOPE_*: which traffic the frontend applies to. */
  scope: u8,
  _pad: pad(2),
});

/** IPv6 twin of {@link ServiceKey4}. */
export const ServiceKey6 = struct('lb6_key', {
  address: ipv6,
  port: be16,
  backendSlot: u16,
  proto: u8,
  scope: u8,
  _pad: pad(2),
});

/**
 * Value of the services table. Frontend entry (slot 0): `count` backends and the
 * service's `revNatIndex`; `backendId` is 0, or the session-affinity timeout in
 * seconds with SERVICE_FLAG_AFFINITY. Slot entry: `backendId`, with
 * `count`/`revNatIndex` repeated so a datapath that only holds the slot entry
 * still knows its service.
 */
export const ServiceEntry = struct('lb_service', {
  backendId: u32,
  count: u16,
  revNatIndex: u16,
  /** SERVICE_FLAG_* bits. */
  flags: u8,
  flags2: u8,
  _pad: pad(2),
});

/** A backend (IPv4): where connections really go. */
export const Backend4 = struct('lb4_backend', {
  address: ipv4,
  port: be16,
  proto: u8,
  /** BACKEND_FLAG_* bits. */
  flags: u8,
});

/** A backend (IPv6). */
export const Backend6 = struct('lb6_backend', {
  address: ipv6,
  port: be16,
  proto: u8,
  flags: u8,
});

/** Reverse NAT by a service's `revNatIndex` (IPv4): the frontend to restore on replies. */
export const RevNat4 = struct('lb4_reverse_nat', { address: ipv4, port: be16, _pad: pad(2) });

/** Reverse NAT by `revNatIndex` (IPv6). */
export const RevNat6 = struct('lb6_reverse_nat', { address: ipv6, port: be16, _pad: pad(2) });

/**
 * Key of the socket reverse-NAT table (IPv4): the socket's cookie plus the
 * backend it was sent to. The cookie keeps sockets that talk to the backend
 * directly from being rewritten.
 */
export const SockRevNatKey4 = struct('lb4_sock_rnat_key', { cookie: u64, address: ipv4, port: be16, _pad: pad(2) });

/** Key of the socket reverse-NAT table (IPv6). */
export const SockRevNatKey6 = struct('lb6_sock_rnat_key', { cookie: u64, address: ipv6, port: be16, _pad: pad(6) });

/** Value of the socket reverse-NAT table (IPv4): the frontend the socket asked for. */
export const SockRevNat4 = struct('lb4_sock_rnat', { address: ipv4, port: be16, revNatIndex: u16 });

/** Value of the socket reverse-NAT table (IPv6). */
export const SockRevNat6 = struct('lb6_sock_rnat', { address: ipv6, port: be16, revNatIndex: u16 });

/**
 * Value of the socket → last backend tables (IPv4), keyed by socket cookie: which
 * socket reverse-NAT entry belongs to a socket, so `cgroup/sock_release` can
 * delete it when the socket closes.
 */
export const SockBackend4 = struct('lb4_sock_backend', { address: ipv4, port: be16, _pad: pad(2) });

/** Value of the socket → last backend table (IPv6). */
export const SockBackend6 = struct('lb6_sock_backend', { address: ipv6, port: be16, _pad: pad(2) });

/** `ServiceKey*.scope`: the frontend applies to all traffic. */
export const SERVICE_SCOPE_EXTERNAL = 0;
/** `ServiceKey*.scope`: second frontend of an `externalTrafficPolicy=Local` service, local backends only. */
export const SERVICE_SCOPE_INTERNAL = 1;

/** `ServiceEntry.flags`: a NodePort frontend (wildcard address, node port). */
export const SERVICE_FLAG_NODEPORT = 1 << 0;
/** `ServiceEntry.flags`: `externalTrafficPolicy=Local`: no SNAT, local backends only. */
export const SERVICE_FLAG_EXTERNAL_LOCAL = 1 << 1;
/** `ServiceEntry.flags`: an ExternalIP/LoadBalancer frontend. */
export const SERVICE_FLAG_EXTERNAL_IP = 1 << 2;
/**
 * `ServiceEntry.flags`: session affinity by client (Kubernetes'
 * `sessionAffinity: ClientIP`). The frontend entries (slot 0, both scopes)
 * then hold the affinity timeout in seconds in `backendId`, which is 0 there
 * otherwise; the slot entries carry the flag like every other.
 */
export const SERVICE_FLAG_AFFINITY = 1 << 3;

/**
 * Key of the session-affinity table (IPv4): who the client is, per service
 * (`revNatIndex`). The socket LB names a client by its network namespace
 * (`netnsCookie`, `client` 0: at connect time the source address is not
 * chosen yet, and a pod is one namespace); the tc datapaths by its source
 * address (`netnsCookie` 0).
 */
export const AffinityKey4 = struct('lb4_affinity_key', { netnsCookie: u64, client: ipv4, revNatIndex: u16, _pad: pad(2) });

/** Key of the session-affinity table (IPv6). */
export const AffinityKey6 = struct('lb6_affinity_key', { netnsCookie: u64, client: ipv6, revNatIndex: u16, _pad: pad(6) });

/**
 * Value of the session-affinity tables: the backend the client was last sent
 * to, the slot it was picked from, and when (`bpf_ktime_get_ns`). A datapath
 * reuses it while `now - lastUsed` is under the frontend's timeout, the slot
 * is still one of `1..count` and that slot still names `backendId` (so a
 * backend removed, drained or moved is never reused), and refreshes it on
 * every pick.
 */
export const AffinityEntry = struct('lb_affinity', { lastUsed: u64, backendId: u32, slot: u16, _pad: pad(2) });

/** `Backend*.flags`: the backend is terminating (keeps its flows, gets no new ones). */
export const BACKEND_FLAG_TERMINATING = 1 << 0;
/** `Backend*.flags`: the backend runs on this node. */
export const BACKEND_FLAG_LOCAL = 1 << 1;

/** IP protocol numbers used as `proto`. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;
