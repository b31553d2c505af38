/**
 * Packet headers the NodePort path reads and rewrites: Ethernet, IPv4 without
 * options, IPv6 without extension headers, and the L4 ports and checksum fields
 * of TCP and UDP. NodePort only handles packets whose L4 header sits at a fixed
 * offset (IHL 5 / no extension headers), so every pointer has a constant offset
 * and can cross an automatic tail-call cut.
 */
import { be16, be32, ipv4, ipv6, mac, struct, u8 } from '../../dsl/types/index.js';

/** Ethernet II header. */
export const NpEth = struct('np_eth', { dst: mac, src: mac, proto: be16 });
/** IPv4 header without options (`verIhl` = 0x45). */
export const NpIp4 = struct('np_ip4', {
  verIhl: u8, tos: u8, totLen: be16, id: be16, frag: be16, ttl: u8, proto: u8, check: be16, saddr: ipv4, daddr: ipv4,
});
/** IPv6 fixed header. */
export const NpIp6 = struct('np_ip6', { vtcFlow: be32, payloadLen: be16, nexthdr: u8, hopLimit: u8, saddr: ipv6, daddr: ipv6 });
/** The ports at the start of a TCP or UDP header. */
export const NpPorts = struct('np_ports', { sport: be16, dport: be16 });
/** The 16-bit checksum field alone (TCP at L4 + 16, UDP at L4 + 6). */
export const NpCsum = struct('np_csum', { check: be16 });

/** EtherType of IPv4. */
export const ETH_P_IP = 0x0800;
/** EtherType of IPv6. */
export const ETH_P_IPV6 = 0x86dd;
/** Offset of the L4 header behind an option-less IPv4 header. */
export const L4_OFF4 = 14 + 20;
/** Offset of the L4 header behind the IPv6 fixed header. */
export const L4_OFF6 = 14 + 40;
/** Offset of the TCP checksum inside the TCP header. */
export const TCP_CSUM_OFF = 16;
/** Offset of the UDP checksum inside the UDP header. */
export const UDP_CSUM_OFF = 6;
