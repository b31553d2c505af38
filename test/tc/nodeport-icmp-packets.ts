/**
 * ICMP error test packets for the NodePort path, built and checksummed from
 * scratch here (independently of the programs): Ethernet + IPv4 + ICMP or
 * IPv6 + ICMPv6 (its checksum over the pseudo header), quoting an embedded
 * packet. An expected translation is built the same way from the translated
 * embedded packet, so comparing bytes checks every field and every checksum.
 */
import { ipv6 } from '../../dsl/types/index.js';
import { DEFAULT_TTL, finish, macBytes, sum16, v4Bytes } from './nodeport-packets.js';

/** One ICMP error's fields. IPv6 when the addresses contain ':'. */
export interface IcmpErrorSpec {
  readonly smac: string;
  readonly dmac: string;
  readonly saddr: string;
  readonly daddr: string;
  readonly type: number;
  readonly code: number;
  /** The 4 bytes after the checksum (the next-hop MTU of fragmentation needed / packet too big), host order. */
  readonly rest?: number;
  /** The embedded packet from its IP header on (see {@link quote}). */
  readonly embedded: Uint8Array;
  /** Outer TTL / hop limit (default {@link DEFAULT_TTL}). */
  readonly ttl?: number;
}

/** ICMPv4 destination unreachable. */
export const ICMP_UNREACH = 3;
/** ICMPv4 time exceeded. */
export const ICMP_TIME_EXCEEDED = 11;
/** Codes of destination unreachable: port unreachable, fragmentation needed. */
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
/** ICMPv6 destination unreachable (code 4: port unreachable), packet too big, time exceeded. */
export const ICMP6_UNREACH = 1;
export const ICMP6_PORT_UNREACH = 4;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;


/** The first `bytes` bytes of a built Ethernet packet's L3 packet (all of it when omitted): what an error quotes. */
export function quote(frame: Uint8Array, bytes?: number): Uint8Array {
  const l3 = frame.subarray(14);
  return Uint8Array.from(bytes === undefined ? l3 : l3.subarray(0, bytes));
}

/** Builds the error with correct IPv4 header and ICMP / ICMPv6 checksums. */
export function icmpError(f: IcmpErrorSpec): Uint8Array {
  const v6 = f.saddr.includes(':');
  const l3 = v6 ? 40 : 20;
  const icmpLen = 8 + f.embedded.length;
  const p = new Uint8Array(14 + l3 + icmpLen);
  p.set(macBytes(f.dmac), 0);
  p.set(macBytes(f.smac), 6);
  const ttl = f.ttl ?? DEFAULT_TTL;
  if (v6) {
    p.set([0x86, 0xdd], 12);
    p.set([0x60, 0, 0, 0, icmpLen >> 8, icmpLen & 0xff, 58, ttl], 14);
    p.set(ipv6.encode(f.saddr) as Uint8Array, 22);
    p.set(ipv6.encode(f.daddr) as Uint8Array, 38);
  } else {
    p.set([0x08, 0x00], 12);
    const tot = 20 + icmpLen;
    p.set([0x45, 0xc0, tot >> 8, tot & 0xff, 0x56, 0x78, 0, 0, ttl, 1, 0, 0], 14);
    p.set(v4Bytes(f.saddr), 26);
    p.set(v4Bytes(f.daddr), 30);
    const c = finish(sum16(p, 14, 34));
    p[24] = c >> 8;
    p[25] = c & 0xff;
  }
  const l4 = 14 + l3;
  const rest = f.rest ?? 0;
  p.set([f.type, f.code, 0, 0, (rest >>> 24) & 0xff, (rest >>> 16) & 0xff, (rest >>> 8) & 0xff, rest & 0xff], l4);
  p.set(f.embedded, l4 + 8);
  // ICMPv6 covers a pseudo header (addresses, upper-layer length, next header 58); ICMPv4 only the message.
  const pseudo = v6 ? sum16(p, 22, 54) + icmpLen + 58 : 0;
  const c = finish(sum16(p, l4, p.length, pseudo));
  p[l4 + 2] = c >> 8;
  p[l4 + 3] = c & 0xff;
  return p;
}

/** `to` with the embedded TCP checksum of `from` (both quoted packets): the translation leaves it as it was. */
export function keepTcpCsum(to: Uint8Array, from: Uint8Array): Uint8Array {
  const v6 = (from[0]! >> 4) === 6;
  const at = (v6 ? 40 : 20) + 16;
  const out = Uint8Array.from(to);
  if (from.length >= at + 2) out.set(from.subarray(at, at + 2), at);
  return out;
}
