/**
 * Rewriting a parsed packet's addresses and ports with the L3 and L4 checksums
 * fixed incrementally in the program (see nodeport-csum.ts), and the router hop
 * every NodePort rewrite is: the TTL / hop limit goes down by one. Each new value
 * is read once, every old word is summed before anything is written.
 */
import type { B, Int } from '../../dsl/program/index.js';
import { IPPROTO_TCP } from '../lb/schemas.js';
import { applyCsum, applyUdpCsum, CsumDelta, type AnyPlace } from './nodeport-csum.js';
import type { NpFamily } from './nodeport-family.js';
import { NpCsum, TCP_CSUM_OFF, UDP_CSUM_OFF } from './nodeport-headers.js';
import { drop } from './fib-redirect.js';
import type { Scratch } from './nodeport-scratch.js';
import { NpDrop } from './nodeport-schemas.js';

/**
 * ~m + m' for the IPv4 header word (TTL, protocol) when the TTL goes down by
 * one: m' = m - 0x100, so ~m + m' = 0xffff - 0x100, whatever the TTL was.
 */
export const TTL_DECREMENT_DELTA = 0xfeff;

/**
 * Drops the packet (counted as TTL_EXCEEDED) when forwarding it would take its
 * TTL / hop limit to zero. Call before the flow's state is written; no ICMP
 * time exceeded is sent.
 */
export function dropExpired(b: B, fam: NpFamily, pkt: { readonly ip: AnyPlace }, s: Scratch): void {
  b.if(fam.hops(pkt.ip).le(1), () => drop(b, s, NpDrop.TTL_EXCEEDED));
}

/** The parsed packet: L3 header view, ports view and L4 protocol. */
export interface Parsed {
  readonly ip: AnyPlace;
  readonly ports: AnyPlace;
  readonly proto: Int<'u8'>;
}

/** New values for some of the tuple's fields (places or values of the field's type). */
export interface TupleRewrite {
  readonly saddr?: AnyPlace;
  readonly daddr?: AnyPlace;
  readonly sport?: AnyPlace;
  readonly dport?: AnyPlace;
}

/**
 * Writes the given fields, takes one off the TTL / hop limit (the caller has
 * checked it with {@link dropExpired}), and fixes the IPv4 header checksum
 * (addresses, TTL) and the TCP/UDP checksum (pseudo-header addresses and
 * ports). Returns `drop` from the program when the L4 checksum field is beyond
 * the packet.
 */
export function rewriteTuple(b: B, fam: NpFamily, pkt: Parsed, to: TupleRewrite, drop: number): void {
  const l3 = new CsumDelta(b);
  const l4 = new CsumDelta(b);
  const { ip, ports } = pkt;
  if (to.saddr) {
    fam.words(l3, ip.saddr, true);
    fam.words(l3, to.saddr, false);
  }
  if (to.daddr) {
    fam.words(l3, ip.daddr, true);
    fam.words(l3, to.daddr, false);
  }
  if (to.sport) {
    l4.port(ports.sport, true);
    l4.port(to.sport, false);
  }
  if (to.dport) {
    l4.port(ports.dport, true);
    l4.port(to.dport, false);
  }
  if (to.saddr) ip.saddr.set(to.saddr);
  if (to.daddr) ip.daddr.set(to.daddr);
  if (to.sport) ports.sport.set(to.sport);
  if (to.dport) ports.dport.set(to.dport);
  const hops = fam.hops(ip);
  hops.set(hops.sub(1));
  // The TTL is in the IPv4 header checksum but not in the L4 pseudo header.
  if (fam.l3Csum) applyCsum(ip.check, l3.value.add(TTL_DECREMENT_DELTA));
  const total = l3.value.add(l4.value);
  b.if(
    pkt.proto.eq(IPPROTO_TCP),
    () => applyCsum(b.parse(NpCsum, fam.l4Off + TCP_CSUM_OFF).orReturn(drop).check, total),
    () => applyUdpCsum(b, b.parse(NpCsum, fam.l4Off + UDP_CSUM_OFF).orReturn(drop).check, total),
  );
}
