/**
 * The pod-side ClusterIP datapath: a tc (SCHED_CLS, direct action) program for
 * the host-side veth of each pod, IPv4 and IPv6 from one source.
 *
 * Per TCP/UDP packet: a reply of a known flow (reversed tuple is a CT_OUT
 * entry) is reverse-NATed (clusterip-reply.ts); a packet to a service frontend
 * gets a backend (clusterip-service.ts), is DNATed with exact checksum
 * fix-ups, and its flow is tracked (CT_OUT entry, found again for later packets
 * — ESTABLISHED — or created — NEW — together with a CT_RELATED entry for ICMP
 * errors); a pod picked as the backend of its own service (hairpin) has its
 * source rewritten to the family's loopback address and the packet goes back
 * out of the interface it came from. ICMP errors about a DNATed flow are
 * translated (clusterip-icmp.ts). Everything else passes untouched.
 */
import { program, type B, type TcCtx } from '../../dsl/program/index.js';
import { u8, u16 } from '../../dsl/types/index.js';
import { icmpErrorPath } from './clusterip-icmp.js';
import { replyPath } from './clusterip-reply.js';
import { selectBackend } from './clusterip-service.js';
import { ctCreate, ctLookup, ctStore, nowSeconds, type CtPacket } from './conntrack.js';
import { dropWith, TC_ACT_OK } from './conntrack-drops.js';
import { DROP_CT_CREATE } from './conntrack-maps.js';
import { CT_F_LB_LOOPBACK, CT_OUT, CT_RELATED } from './conntrack-schemas.js';
import { l4CsumOf, natAddr, natPort } from './nat.js';
import { FAMILIES, type Family } from './parse-family.js';
import { parsePacket, PKT_ICMP_ERROR } from './parse.js';
import { EthHdr } from './parse-headers.js';

/** The ClusterIP datapath for one family's packet (the EtherType matched). */
function clusterIp(F: Family, b: B, ctx: TcCtx): void {
  const pkt = parsePacket(F, b, TC_ACT_OK);
  const { tuple, tcpFlags, kind } = pkt;
  const p: CtPacket = { nexthdr: tuple.nexthdr.get(), tcpFlags, len: ctx.len, now: nowSeconds(b) };
  b.if(kind.eq(PKT_ICMP_ERROR), () => icmpErrorPath(F, b, pkt, p));
  replyPath(F, b, ctx, tuple, p);
  const { backend, backendId, revNatIndex } = selectBackend(F, b, tuple, p);

  const l4 = l4CsumOf(F, b, p.nexthdr);
  const hairpin = b.let(u8, 0);
  b.if(F.addrEq(b, backend.address, tuple.saddr), () => hairpin.set(1));
  natAddr(F, b, l4, F.daddrOff, tuple.daddr, backend.address);
  natPort(b, l4, F.l4Off + 2, tuple.dport.get(), backend.port.get());
  b.if(hairpin.ne(0), () => {
    const loopback = F.addrConst(b, F.loopback);
    natAddr(F, b, l4, F.saddrOff, tuple.saddr, loopback);
    F.copyAddr(tuple.saddr, loopback);
  });
  F.copyAddr(tuple.daddr, backend.address);
  tuple.dport.set(backend.port);

  const established = ctLookup(b, F.ctMap, tuple, 'tx', p);
  b.if(established.found.eq(0), () => {
    const flags = hairpin.to(u16).mul(CT_F_LB_LOOPBACK);
    const created = ctCreate(b, F.ctMap, tuple, { revNatIndex, backendId, flags }, p);
    b.if(created.result.lt(0), () => dropWith(b, DROP_CT_CREATE));
    tuple.flags.set(CT_RELATED);
    ctStore(b, F.ctMap, tuple, created.entry);
    tuple.flags.set(CT_OUT);
  });
  b.if(hairpin.ne(0), () => b.return(b.redirect(ctx.ifindex, 0)));
  b.return(TC_ACT_OK);
}

/** Pod-side ClusterIP tc program (attach at tc ingress of a pod's host-side veth). */
export const tcClusterIp = program('tc', 'tc_clusterip', (b, ctx) => {
  const eth = b.parse(EthHdr, 0).orReturn(TC_ACT_OK);
  const proto = eth.proto.get();
  for (const F of FAMILIES) b.if(proto.eq(F.ethProto), () => clusterIp(F, b, ctx));
  b.return(TC_ACT_OK);
});
