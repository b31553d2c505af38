/**
 * `struct bpf_fib_lookup` (UAPI linux/bpf.h, 64 bytes) as two typed views of the
 * same layout: {@link FibLookup4} for AF_INET lookups and {@link FibLookup6} for
 * AF_INET6. The kernel's unions are given by their role: inputs carry the C input
 * names, outputs share their bytes (after the call `tot_len` holds `mtu_result`,
 * `ifindex` the egress device, the `*_dst` address the gateway, and `smac`/`dmac`
 * the MACs to write). test/dsl/gaps-sockets.test.ts checks every offset against
 * the kernel's BTF. `b.fibLookup(params, flags)` returns the result code
 * (`FibLookupResult` in dsl/kernel).
 */
import { be16, be32, ipv6, mac, pad, struct, u8, u16, u32 } from '../types/index.js';

/** The fields both variants share, before the addresses… */
const HEAD = {
  family: u8,
  l4_protocol: u8,
  sport: be16,
  dport: be16,
  /** In: L3 length; out: mtu_result. */
  tot_len: u16,
  /** In: device for the lookup; out: egress device. */
  ifindex: u32,
} as const;
/** …and after them (outputs: VLAN and the MACs to write). */
const TAIL = {
  h_vlan_proto: be16,
  h_vlan_TCI: be16,
  smac: mac,
  dmac: mac,
} as const;

/** bpf_fib_lookup for IPv4 (`family` = AF_INET = 2). */
export const FibLookup4 = struct('bpf_fib_lookup4', {
  ...HEAD,
  tos: u8,
  _tos: pad(3),
  ipv4_src: be32,
  _src: pad(12),
  /** In: destination; out: gateway when the route has one. */
  ipv4_dst: be32,
  _dst: pad(12),
  ...TAIL,
});

/** bpf_fib_lookup for IPv6 (`family` = AF_INET6 = 10). */
export const FibLookup6 = struct('bpf_fib_lookup6', {
  ...HEAD,
  /** Flow label and priority (network order). */
  flowinfo: be32,
  ipv6_src: ipv6,
  /** In: destination; out: gateway when the route has one. */
  ipv6_dst: ipv6,
  ...TAIL,
});

/** Either variant. */
export type FibParams = typeof FibLookup4 | typeof FibLookup6;
