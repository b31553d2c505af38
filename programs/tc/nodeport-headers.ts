/**
 * Packet headers the NodePort path reads and rewrites: Ethernet, IPv4 without
 * options, IPv6 without extension headers, and the L4 ports and checksum fields
 * of TCP and UDP. NodePort only handles packets whose L4 header sits at a fixed
 * offset (IHL 5 / no extension headers), so every pointer has a constant offset
 * and can cross an automatic tail-call cut.
 */
import { be16, mac, struct } from '../../dsl/types/index.js';
import { IcmpHdr, Ipv4Hdr, Ipv6Hdr } from './parse-headers.js';

/** Ethernet II header. */
export const NpEth = struct('np_eth', { dst: mac, src: mac, proto: be16 });
/** IPv4 (no options), IPv6 fixed header and the L4 ports: the datapath's shared layouts. */
export { Ipv4Hdr as NpIp4, Ipv6Hdr as NpIp6, L4Ports as NpPorts } from './parse-headers.js';
/** The 16-bit checksum field alone (TCP at L4 + 16, UDP at L4 + 6). */
export const NpCsum = struct('np_csum', { check: be16 });

/**
 * An ICMPv4 error at the L4 offset with what NodePort translates of its
 * embedded packet: the IPv4 header (no options) and the 8 bytes every error
 * carries — the ports, then the UDP length and checksum (w1, w2) or the TCP
 * sequence number.
 */
export const NpIcmpError4 = struct('np_icmp_error4', { icmp: IcmpHdr, ip: Ipv4Hdr, sport: be16, dport: be16, w1: be16, w2: be16 });
/** An ICMPv6 error with the embedded IPv6 fixed header and 8 bytes. */
export const NpIcmpError6 = struct('np_icmp_error6', { icmp: IcmpHdr, ip: Ipv6Hdr, sport: be16, dport: be16, w1: be16, w2: be16 });

export { ETH_P_IP, ETH_P_IPV6, TCP_CSUM_OFF, UDP_CSUM_OFF } from './parse-headers.js';
/** Offset of the L4 header behind an option-less IPv4 header. */
export const L4_OFF4 = 14 + 20;
/** Offset of the L4 header behind the IPv6 fixed header. */
export const L4_OFF6 = 14 + 40;
