/**
 * Wire layouts of the headers the tc datapath reads (Ethernet, IPv4 without
 * options, IPv6 fixed header, TCP, UDP, ICMP/ICMPv6) and the constant offsets
 * the datapath works at. Multi-byte fields are network order.
 */
import type { Cond, Int } from '../../dsl/program/index.js';
import { array, be16, be32, ipv4, ipv6, struct, u8 } from '../../dsl/types/index.js';

/** Ethernet II header. */
export const EthHdr = struct('tc_ethhdr', { dst: array(u8, 6), src: array(u8, 6), proto: be16 });

/** IPv4 header (the datapath handles IHL 5, i.e. no options). */
export const Ipv4Hdr = struct('tc_iphdr', {
  verIhl: u8,
  tos: u8,
  totLen: be16,
  id: be16,
  /** Flags (3 bits) and fragment offset (13 bits). */
  frag: be16,
  ttl: u8,
  proto: u8,
  check: be16,
  saddr: ipv4,
  daddr: ipv4,
});

/** IPv6 fixed header. */
export const Ipv6Hdr = struct('tc_ipv6hdr', {
  /** Version, traffic class, flow label. */
  vtcFlow: be32,
  payloadLen: be16,
  nexthdr: u8,
  hopLimit: u8,
  saddr: ipv6,
  daddr: ipv6,
});

/** TCP header without options. */
export const TcpHdr = struct('tc_tcphdr', {
  sport: be16,
  dport: be16,
  seq: be32,
  ack: be32,
  /** Data offset (high 4 bits). */
  doff: u8,
  /** TCP_FLAG_* bits. */
  flags: u8,
  window: be16,
  check: be16,
  urgPtr: be16,
});

/** UDP header. */
export const UdpHdr = struct('tc_udphdr', { sport: be16, dport: be16, len: be16, check: be16 });

/** The first 4 bytes of TCP and UDP: the ports. */
export const L4Ports = struct('tc_l4ports', { sport: be16, dport: be16 });

/** ICMP / ICMPv6 header (type, code, checksum, 4 bytes of type-specific data). */
export const IcmpHdr = struct('tc_icmphdr', { type: u8, code: u8, check: be16, rest: be32 });

/** EtherType of IPv4. */
export const ETH_P_IP = 0x0800;
/** EtherType of IPv6. */
export const ETH_P_IPV6 = 0x86dd;
/** Ethernet header length: where the IP header starts. */
export const ETH_HLEN = 14;
/** IPv4 header length without options. */
export const IPV4_HLEN = 20;
/** IPv6 fixed header length. */
export const IPV6_HLEN = 40;
/** ICMP header length: where an ICMP error's embedded packet starts. */
export const ICMP_HLEN = 8;

/** IP protocol numbers. */
export const PROTO_ICMP = 1;
/** TCP. */
export const PROTO_TCP = 6;
/** UDP. */
export const PROTO_UDP = 17;
/** ICMPv6. */
export const PROTO_ICMPV6 = 58;

/** TCP flag bits (`TcpHdr.flags`). */
export const TCP_FLAG_FIN = 0x01;
/** SYN. */
export const TCP_FLAG_SYN = 0x02;
/** RST. */
export const TCP_FLAG_RST = 0x04;
/** ACK. */
export const TCP_FLAG_ACK = 0x10;

/** ICMP error types translated through NAT. */
export const ICMP_DEST_UNREACH = 3;
/** ICMP time exceeded. */
export const ICMP_TIME_EXCEEDED = 11;
/** ICMPv6 destination unreachable. */
export const ICMPV6_DEST_UNREACH = 1;
/** ICMPv6 packet too big (path MTU discovery: IPv6 routers never fragment). */
export const ICMPV6_PKT_TOOBIG = 2;
/** ICMPv6 time exceeded. */
export const ICMPV6_TIME_EXCEED = 3;
/** ICMPv6 parameter problem. */
export const ICMPV6_PARAMPROB = 4;

/** The ICMPv4 errors translated through NAT: destination unreachable (fragmentation needed among them) and time exceeded. */
export function isIcmp4Error(type: Int<'u8'>): Cond {
  return type.eq(ICMP_DEST_UNREACH).or(type.eq(ICMP_TIME_EXCEEDED));
}

/** The ICMPv6 errors translated through NAT: destination unreachable, packet too big, time exceeded, parameter problem (types 1–4). */
export function isIcmp6Error(type: Int<'u8'>): Cond {
  return type.ge(ICMPV6_DEST_UNREACH).and(type.le(ICMPV6_PARAMPROB));
}

/** Byte offset of the checksum inside a TCP header. */
export const TCP_CSUM_OFF = 16;
/** Byte offset of the checksum inside a UDP header. */
export const UDP_CSUM_OFF = 6;
/** Byte offset of the checksum inside an ICMP header. */
export const ICMP_CSUM_OFF = 2;
