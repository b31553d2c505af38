/**
 * Conntrack layouts of the tc datapath (reference: datapath.md §3). A key is a
 * tuple plus `flags` saying which kind of entry it names:
 * - `CT_OUT` (egress): the original direction after DNAT; replies find it by
 *   their reversed tuple and are reverse-NATed with its `revNatIndex`;
 * - `CT_IN` (ingress): accounting of flows that arrive at a local backend;
 * - `CT_SERVICE`: the original direction before DNAT (daddr = the frontend);
 *   holds the flow's backend so later packets stay on it;
 * - `CT_RELATED`: the egress tuple again, for ICMP errors about the flow.
 * Addresses and ports are network order, everything else host order.
 */
import { be16, ipv4, ipv6, pad, struct, u16, u32, u64, u8 } from '../../dsl/types/index.js';

/** Conntrack key (IPv4), 14 bytes packed. */
export const CtKey4 = struct(
  'ct4_key',
  { daddr: ipv4, saddr: ipv4, dport: be16, sport: be16, nexthdr: u8, flags: u8 },
  { packed: true },
);

/** Conntrack key (IPv6), 38 bytes packed. */
export const CtKey6 = struct(
  'ct6_key',
  { daddr: ipv6, saddr: ipv6, dport: be16, sport: be16, nexthdr: u8, flags: u8 },
  { packed: true },
);

/**
 * Conntrack entry. Counters count packets/bytes in the original (`tx`) and reply
 * (`rx`) directions; `lifetime` is the absolute expiry in seconds of
 * `bpf_ktime_get_ns()`; `flags` holds the CT_F_* bits; `txFlagsSeen` /
 * `rxFlagsSeen` the TCP flags seen per direction.
 */
export const CtEntry = struct('ct_entry', {
  rxPackets: u64,
  rxBytes: u64,
  txPackets: u64,
  txBytes: u64,
  lifetime: u32,
  backendId: u32,
  revNatIndex: u16,
  flags: u16,
  txFlagsSeen: u8,
  rxFlagsSeen: u8,
  _pad: pad(2),
  /** Creation time, seconds of `bpf_ktime_get_ns()`. */
  created: u32,
  _pad2: pad(4),
});

/** `CtKey*.flags`: egress entry (original direction). */
export const CT_OUT = 0;
/** `CtKey*.flags`: ingress entry. */
export const CT_IN = 1;
/** `CtKey*.flags`: ICMP errors related to a flow. */
export const CT_RELATED = 2;
/** `CtKey*.flags`: service entry (pre-DNAT tuple, sticky backend). */
export const CT_SERVICE = 4;

/** `CtEntry.flags`: the reply direction sent FIN or RST. */
export const CT_F_RX_CLOSING = 1 << 0;
/** `CtEntry.flags`: the original direction sent FIN or RST. */
export const CT_F_TX_CLOSING = 1 << 1;
/** `CtEntry.flags`: hairpin flow (a pod reaching itself through its service): the source was rewritten to the loopback address. */
export const CT_F_LB_LOOPBACK = 1 << 2;
/** `CtEntry.flags`: a TCP packet without SYN was seen (the connection is established). */
export const CT_F_SEEN_NON_SYN = 1 << 3;
/** `CtEntry.flags`: the flow came in through NodePort. */
export const CT_F_NODE_PORT = 1 << 4;

/** Lifetime of an established TCP connection, seconds (6 h). */
export const CT_LIFETIME_TCP = 6 * 3600;
/** Lifetime of a TCP connection that has only seen SYNs, seconds. */
export const CT_LIFETIME_SYN = 60;
/** Lifetime of a non-TCP flow, seconds. */
export const CT_LIFETIME_NONTCP = 60;
/** Lifetime once both directions closed (FIN each way, or RST), seconds. */
export const CT_LIFETIME_CLOSE = 10;

/** Result of a conntrack lookup: no entry. */
export const CT_NEW = 0;
/** Result: the packet continues a flow in its original direction. */
export const CT_ESTABLISHED = 1;
/** Result: the packet is a reply of a flow. */
export const CT_REPLY = 2;
/** Result: the packet is an ICMP error about a flow. */
export const CT_RELATED_HIT = 3;
