/**
 * ICMP errors (destination unreachable, time exceeded) about a DNATed flow,
 * translated back through the NAT (CT_RELATED). The error travels to the client
 * and embeds the packet the client sent, after DNAT (client → backend). Its
 * flow's CT_RELATED entry (created with the flow) gives the revNatIndex; the
 * embedded destination becomes the frontend again, with the embedded IPv4
 * header checksum and the embedded UDP checksum (pseudo header and port) fixed
 * in BPF code, and the ICMP checksum fixed from a `csum_diff` of the embedded
 * bytes. When the backend itself sent the error, the outer source becomes the
 * frontend too (for ICMPv6 through the pseudo header of its checksum).
 * The embedded TCP checksum lies beyond the 8 bytes every error carries and is
 * left as is (as the client's stack does not check it).
 */
import type { B } from '../../dsl/program/index.js';
import { be16, struct, u8, u16, u32 } from '../../dsl/types/index.js';
import { ctLookup, type CtPacket } from './conntrack.js';
import { TC_ACT_OK } from './conntrack-drops.js';
import { CT_RELATED } from './conntrack-schemas.js';
import { natAddr } from './nat.js';
import { addrWords, csumReplaced, word16 } from './nat-csum.js';
import type { Family, FamilyView } from './parse-family.js';
import { innerIpOff } from './parse.js';
import { ICMP_CSUM_OFF, Ipv4Hdr, Ipv6Hdr, PROTO_UDP } from './parse-headers.js';

/** An embedded IPv4 packet's first 28 bytes (w1/w2: UDP length and checksum, or the TCP sequence number). */
const Embedded4 = struct('tc_embedded4', { ip: Ipv4Hdr, sport: be16, dport: be16, w1: be16, w2: be16 });
/** An embedded IPv6 packet's first 48 bytes. */
const Embedded6 = struct('tc_embedded6', { ip: Ipv6Hdr, sport: be16, dport: be16, w1: be16, w2: be16 });

/**
 * Translates the ICMP error whose embedded tuple is `tuple` (flags CT_OUT) and
 * whose sender is `outerSaddr`, then returns TC_ACT_OK from the program.
 */
export function icmpErrorPath(F: Family, b: B, tuple: FamilyView, outerSaddr: FamilyView, p: CtPacket): void {
  const key: FamilyView = b.local(F.ctKey as never);
  key.set(tuple);
  key.flags.set(CT_RELATED);
  const r = ctLookup(b, F.ctMap, key, 'rx', p, { account: 'count' });
  b.if(r.found.eq(0).or(r.revNatIndex.eq(0)), () => b.return(TC_ACT_OK));
  const frontend: FamilyView = b.local(F.revNat as never);
  const known = b.let(u8, 0);
  b.lookup(F.revNatMap, b.local(u16, r.revNatIndex)).ifPresent((v: FamilyView) => {
    frontend.set(v);
    known.set(1);
  });
  b.if(known.eq(0), () => b.return(TC_ACT_OK));

  const schema = F.v6 ? Embedded6 : Embedded4;
  const before: FamilyView = b.local(schema as never);
  b.if(b.skbLoadBytes(innerIpOff(F), before).ne(0), () => b.return(TC_ACT_OK));
  const after: FamilyView = b.local(schema as never);
  after.set(before);
  F.copyAddr(after.ip.daddr, frontend.address);
  after.dport.set(frontend.port);
  if (!F.v6) after.ip.check.set(csumReplaced(before.ip.check, addrWords(F, before.ip.daddr), addrWords(F, frontend.address)));
  // The embedded UDP checksum covers the destination (pseudo header) and port; 0 in IPv4 means none.
  const udpSum = tuple.nexthdr.eq(PROTO_UDP);
  b.if(F.v6 ? udpSum : udpSum.and(() => before.w2.ne(0)), () => {
    const from = [...addrWords(F, before.ip.daddr), word16(before.dport)];
    const to = [...addrWords(F, frontend.address), word16(frontend.port)];
    const sum = b.let(be16, csumReplaced(before.w2, from, to));
    b.if(sum.eq(0), () => sum.set(0xffff));
    after.w2.set(sum);
  });
  const diff = b.csumDiff(before, after, 0);
  b.l4CsumReplace(F.l4Off + ICMP_CSUM_OFF, 0, diff, 0);
  b.skbStoreBytes(innerIpOff(F), after);
  b.if(F.addrEq(b, outerSaddr, tuple.daddr), () => {
    const icmp = F.v6 ? { off: b.let(u32, F.l4Off + ICMP_CSUM_OFF), udp: b.let(u8, 0) } : undefined;
    natAddr(F, b, icmp, F.saddrOff, outerSaddr, frontend.address);
  });
  b.return(TC_ACT_OK);
}
