/**
 * Layouts of the SNAT tables. Each translated flow has two entries: the
 * *forward* one (direction OUT, keyed by the tuple as it leaves after DNAT:
 * client → backend) holding the new source (node address, allocated port), and
 * the *reverse* one (direction IN, keyed by the reply tuple as it arrives:
 * backend → node:port) holding the original source (client address and port)
 * plus the service's `revNatIndex` so the reply can also be reverse-DNATed.
 * A NodePort flow to a local backend has only a reverse entry (flag
 * `SNAT_FLAG_NO_SNAT`), keyed backend → client.
 *
 * Byte order as in programs/lb: addresses and ports network order, the rest host order.
 */
import { be16, ipv4, ipv6, pad, struct, u16, u64, u8 } from '../../dsl/types/index.js';

/** Tuple key of the IPv4 SNAT table. */
export const SnatKey4 = struct('snat4_key', {
  daddr: ipv4, saddr: ipv4, dport: be16, sport: be16, proto: u8,
  /** SNAT_DIR_OUT or SNAT_DIR_IN. */
  dir: u8, _pad: pad(2),
});
/** Tuple key of the IPv6 SNAT table. */
export const SnatKey6 = struct('snat6_key', {
  daddr: ipv6, saddr: ipv6, dport: be16, sport: be16, proto: u8, dir: u8, _pad: pad(2),
});

/** IPv4 SNAT entry: the address and port to write (source on OUT, destination on IN). */
export const SnatEntry4 = struct('snat4_entry', {
  /** bpf_ktime_get_ns() when created. */
  created: u64,
  addr: ipv4,
  port: be16,
  /** Service to reverse-DNAT replies with (0: none). */
  revNatIndex: u16,
  /** SNAT_FLAG_* bits. */
  flags: u8,
  _pad: pad(7),
});
/** IPv6 SNAT entry. */
export const SnatEntry6 = struct('snat6_entry', {
  created: u64, addr: ipv6, port: be16, revNatIndex: u16, flags: u8, _pad: pad(3),
});

/** Key direction: the original direction (rewrite the source). */
export const SNAT_DIR_OUT = 0;
/** Key direction: replies (rewrite the destination back). */
export const SNAT_DIR_IN = 1;

/** Entry flag: the flow was not source-translated (local backend): only reverse DNAT applies. */
export const SNAT_FLAG_NO_SNAT = 1 << 0;
/** Entry flag: the flow is the node's own (a host flow holding its port); never rewritten. */
export const SNAT_FLAG_HOST = 1 << 1;

/** Candidate ports tried before giving up (Cilium found ~25 enough; a real loop on ≥ 5.3). */
export const SNAT_TRIES = 32;
/** The first candidates after the original port come from a hash of the previous one; the rest are random. */
export const SNAT_HASHED_TRIES = 16;
/** Golden-ratio multiplier (2^32 / φ) for the hashed candidates. */
export const SNAT_GOLDEN = 0x9e3779b1;
/** Histogram bucket counting allocations that found no port. */
export const SNAT_HIST_FAILED = SNAT_TRIES;
/** Histogram bucket counting rollbacks (reverse entry inserted, forward insert refused). */
export const SNAT_HIST_ROLLBACK = SNAT_TRIES + 1;
/** Buckets of the retry histogram: tries 0..SNAT_TRIES-1, failed, rolled back. */
export const SNAT_HIST_BUCKETS = SNAT_TRIES + 2;
