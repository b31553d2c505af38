/**
 * ICMP errors about a NATed flow — destination unreachable (IPv4
 * fragmentation needed among them) and time exceeded; for IPv6 also packet too
 * big, which path MTU discovery needs since IPv6 routers never fragment, and
 * parameter problem — translated through the NAT (CT_RELATED), in both
 * directions:
 * - towards the client, about a request it sent (as DNATed: client → backend):
 *   the flow's CT_RELATED entry gives the revNatIndex; the embedded destination
 *   becomes the frontend again, and the outer source too when the backend itself
 *   sent the error (a router stays the sender);
 * - from the client, about a reply it got (as reverse-NATed: frontend → client):
 *   the flow's CT_SERVICE entry gives the backend; the embedded source and the
 *   outer destination become the backend.
 * Embedded checksums (IPv4 header, UDP over its pseudo header and port) are
 * fixed in BPF code, the ICMP checksum from a `csum_diff` of the embedded bytes,
 * an IPv6 outer address change through the ICMPv6 pseudo header. The embedded
 * TCP checksum lies beyond the 8 bytes every error carries and is left as is
 * (the receiving stack does not check it).
 */
import type { B, Value } from '../../dsl/program/index.js';
import { be16, struct, u8, u16, u32 } from '../../dsl/types/index.js';
import { ctLookup, type CtPacket } from './conntrack.js';
import { TC_ACT_OK } from './conntrack-drops.js';
import { CT_RELATED, CT_SERVICE } from './conntrack-schemas.js';
import { natAddr } from './nat.js';
import { addrWords, csumReplaced, word16 } from './nat-csum.js';
import type { AddrView, Family, FamilyView } from './parse-family.js';
import { innerIpOff, type Parsed } from './parse.js';
import { ICMP_CSUM_OFF, Ipv4Hdr, Ipv6Hdr, PROTO_UDP } from './parse-headers.js';

/** An embedded IPv4 packet's first 28 bytes (w1/w2: UDP length and checksum, or the TCP sequence number). */
const Embedded4 = struct('tc_embedded4', { ip: Ipv4Hdr, sport: be16, dport: be16, w1: be16, w2: be16 });
/** An embedded IPv6 packet's first 48 bytes. */
const Embedded6 = struct('tc_embedded6', { ip: Ipv6Hdr, sport: be16, dport: be16, w1: be16, w2: be16 });

/**
 * Rewrites the embedded packet's source or destination to `addr`:`port` with
 * its checksums and the ICMP checksum; returns TC_ACT_OK when the packet holds
 * less than the embedded IP header plus 8 bytes.
 */
function rewriteEmbedded(F: Family, b: B, nexthdr: Value<'u8'>, side: 'saddr' | 'daddr', addr: AddrView, port: Value<'be16'>): void {
  const portField = side === 'saddr' ? 'sport' : 'dport';
  const schema = F.v6 ? Embedded6 : Embedded4;
  const before: FamilyView = b.local(schema as never);
  b.if(b.skbLoadBytes(innerIpOff(F), before).ne(0), () => b.return(TC_ACT_OK));
  const after: FamilyView = b.local(schema as never);
  after.set(before);
  F.copyAddr(after.ip[side], addr);
  after[portField].set(port);
  if (!F.v6) after.ip.check.set(csumReplaced(before.ip.check, addrWords(F, before.ip[side]), addrWords(F, addr)));
  // The embedded UDP checksum covers the address (pseudo header) and the port; 0 in IPv4 means none.
  const udpSum = nexthdr.eq(PROTO_UDP);
  b.if(F.v6 ? udpSum : udpSum.and(() => before.w2.ne(0)), () => {
    const from = [...addrWords(F, before.ip[side]), word16(before[portField])];
    const to = [...addrWords(F, addr), word16(port)];
    const sum = b.let(be16, csumReplaced(before.w2, from, to));
    b.if(sum.eq(0), () => sum.set(0xffff));
    after.w2.set(sum);
  });
  const diff = b.csumDiff(before, after, 0);
  b.l4CsumReplace(F.l4Off + ICMP_CSUM_OFF, 0, diff, 0);
  b.skbStoreBytes(innerIpOff(F), after);
}

/** Rewrites the outer address at `addrOff` (ICMPv6: its checksum covers the addresses). */
function rewriteOuter(F: Family, b: B, addrOff: number, from: AddrView, to: AddrView): void {
  const icmp = F.v6 ? { off: b.let(u32, F.l4Off + ICMP_CSUM_OFF), udp: b.let(u8, 0) } : undefined;
  natAddr(F, b, icmp, addrOff, from, to);
}

/** Towards the client: the embedded packet is its DNATed request. Returns from the program when translated. */
function errorToClient(F: Family, b: B, pkt: Parsed, p: CtPacket): void {
  const { tuple, outerSaddr } = pkt;
  const key: FamilyView = b.local(F.ctKey as never);
  key.set(tuple);
  key.flags.set(CT_RELATED);
  const r = ctLookup(b, F.ctMap, key, 'rx', p, { account: 'count' });
  b.if(r.found.ne(0).and(r.revNatIndex.ne(0)), () => {
    const frontend: FamilyView = b.local(F.revNat as never);
    const known = b.let(u8, 0);
    b.lookup(F.revNatMap, b.local(u16, r.revNatIndex)).ifPresent((v: FamilyView) => {
      frontend.set(v);
      known.set(1);
    });
    b.if(known.eq(0), () => b.return(TC_ACT_OK));
    rewriteEmbedded(F, b, tuple.nexthdr, 'daddr', frontend.address, frontend.port);
    b.if(F.addrEq(b, outerSaddr, tuple.daddr), () => rewriteOuter(F, b, F.saddrOff, outerSaddr, frontend.address));
    b.return(TC_ACT_OK);
  });
}

/** From the client: the embedded packet is a reply it got from the frontend. Returns from the program when translated. */
function errorFromClient(F: Family, b: B, pkt: Parsed, p: CtPacket): void {
  const { tuple, outerDaddr } = pkt;
  const key: FamilyView = b.local(F.ctKey as never);
  F.copyAddr(key.daddr, tuple.saddr);
  F.copyAddr(key.saddr, tuple.daddr);
  key.dport.set(tuple.sport);
  key.sport.set(tuple.dport);
  key.nexthdr.set(tuple.nexthdr);
  key.flags.set(CT_SERVICE);
  const s = ctLookup(b, F.ctMap, key, 'tx', p, { account: 'count' });
  b.if(s.found.ne(0), () => {
    const backend: FamilyView = b.local(F.backend as never);
    const known = b.let(u8, 0);
    b.lookup(F.backendsMap, b.local(u32, s.backendId)).ifPresent((v: FamilyView) => {
      backend.set(v);
      known.set(1);
    });
    b.if(known.eq(0), () => b.return(TC_ACT_OK));
    rewriteEmbedded(F, b, tuple.nexthdr, 'saddr', backend.address, backend.port);
    b.if(F.addrEq(b, outerDaddr, tuple.saddr), () => rewriteOuter(F, b, F.daddrOff, outerDaddr, backend.address));
    b.return(TC_ACT_OK);
  });
}

/** Translates the ICMP error `pkt` (kind PKT_ICMP_ERROR) if it is about a NATed flow; returns TC_ACT_OK from the program. */
export function icmpErrorPath(F: Family, b: B, pkt: Parsed, p: CtPacket): void {
  errorToClient(F, b, pkt, p);
  errorFromClient(F, b, pkt, p);
  b.return(TC_ACT_OK);
}
