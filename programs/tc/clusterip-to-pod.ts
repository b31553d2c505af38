/**
 * The to-pod half of the ClusterIP datapath: a tc program for the egress of a
 * pod's host-side veth (packets on their way into the pod). Replies from a
 * backend whose own veth does not run the datapath (a remote backend) are
 * reverse-NATed here (clusterip-reply.ts), ICMP errors about the pod's NATed
 * requests are translated (clusterip-icmp.ts), and every other TCP/UDP flow
 * into the pod is accounted in a CT_IN (ingress) entry — e.g. a DNATed request
 * reaching its local backend. Nothing is dropped or rewritten otherwise.
 */
import { program, type B, type TcCtx } from '../../dsl/program/index.js';
import { icmpErrorPath } from './clusterip-icmp.js';
import { replyPath } from './clusterip-reply.js';
import { ctCreate, ctLookup, nowSeconds, type CtPacket } from './conntrack.js';
import { TC_ACT_OK } from './conntrack-drops.js';
import { CT_IN } from './conntrack-schemas.js';
import { FAMILIES, type Family, type FamilyView } from './parse-family.js';
import { parsePacket, PKT_ICMP_ERROR } from './parse.js';
import { EthHdr } from './parse-headers.js';

/** One family's packet into the pod. */
function toPod(F: Family, b: B, ctx: TcCtx): void {
  const pkt = parsePacket(F, b, TC_ACT_OK);
  const { tuple, tcpFlags, kind } = pkt;
  const p: CtPacket = { nexthdr: tuple.nexthdr.get(), tcpFlags, len: ctx.len, now: nowSeconds(b) };
  b.if(kind.eq(PKT_ICMP_ERROR), () => icmpErrorPath(F, b, pkt, p));
  replyPath(F, b, ctx, tuple, p);
  const inbound: FamilyView = b.local(F.ctKey as never);
  inbound.set(tuple);
  inbound.flags.set(CT_IN);
  const seen = ctLookup(b, F.ctMap, inbound, 'tx', p);
  // A full LRU table cannot refuse the update; if it still fails, only accounting is lost.
  b.if(seen.found.eq(0), () => void ctCreate(b, F.ctMap, inbound, { revNatIndex: 0, backendId: 0, flags: 0 }, p));
  b.return(TC_ACT_OK);
}

/** To-pod ClusterIP tc program (attach at tc egress of a pod's host-side veth). */
export const tcClusterIpToPod = program('tc', 'tc_clusterip_to_pod', (b, ctx) => {
  const eth = b.parse(EthHdr, 0).orReturn(TC_ACT_OK);
  const proto = eth.proto.get();
  for (const F of FAMILIES) b.if(proto.eq(F.ethProto), () => toPod(F, b, ctx));
  b.return(TC_ACT_OK);
});
