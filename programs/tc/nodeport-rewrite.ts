/**
 * Rewriting a parsed packet's addresses and ports with the L3 and L4 checksums
 * fixed incrementally in the program (see nodeport-csum.ts). Each new value is
 * read once, every old word is summed before anything is written.
 */
import type { B, Int } from '../../dsl/program/index.js';
import { IPPROTO_TCP } from '../lb/schemas.js';
import { applyCsum, applyUdpCsum, CsumDelta, type AnyPlace } from './nodeport-csum.js';
import type { NpFamily } from './nodeport-family.js';
import { NpCsum, TCP_CSUM_OFF, UDP_CSUM_OFF } from './nodeport-headers.js';

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
 * Writes the given fields and fixes the IPv4 header checksum (addresses) and
 * the TCP/UDP checksum (pseudo-header addresses and ports). Returns `drop`
 * from the program when the L4 checksum field is beyond the packet.
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
  if (fam.l3Csum) applyCsum(ip.check, l3.value);
  const total = l3.value.add(l4.value);
  b.if(
    pkt.proto.eq(IPPROTO_TCP),
    () => applyCsum(b.parse(NpCsum, fam.l4Off + TCP_CSUM_OFF).orReturn(drop).check, total),
    () => applyUdpCsum(b, b.parse(NpCsum, fam.l4Off + UDP_CSUM_OFF).orReturn(drop).check, total),
  );
}
