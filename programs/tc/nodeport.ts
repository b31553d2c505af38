/**
 * The NodePort programs (tc, direct action), one per address family:
 * - `np4_ingress` / `np6_ingress` on the node's native device: replies of
 *   translated flows first (reverse SNAT + reverse DNAT + redirect to the
 *   client), then NodePort requests (local or remote backend), and ICMP errors
 *   about either direction of a NodePort flow (nodeport-icmp.ts);
 * - `np4_from_pod` / `np6_from_pod` on the host-side veth of a local backend:
 *   its NodePort replies (reverse DNAT + redirect to the client) and its ICMP
 *   errors about NodePort requests;
 * - `np4_egress` / `np6_egress` on the native device's egress: the node's own
 *   flows register their ports so NodePort SNAT does not reuse them (packets
 *   NodePort itself redirected there carry NP_MARK_FORWARDED and pass).
 * Anything else passes (TC_ACT_OK), except the other family's packets, which go
 * on to the next program on the hook (TC_ACT_UNSPEC), as does everything
 * `npX_from_pod` does not translate (a pod's veth may carry other programs). The same source builds for every profile;
 * on 4.19 dsl/fit splits the programs into tail calls.
 */
import { program, type B, type TcCtx } from '../../dsl/program/index.js';
import { TcAct } from '../../dsl/kernel/index.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../lb/schemas.js';
import type { AnyPlace } from './nodeport-csum.js';
import { family4, family6, type NpFamily } from './nodeport-family.js';
import { forwardPath } from './nodeport-forward.js';
import { NpEth, NpPorts } from './nodeport-headers.js';
import { icmpErrorPath, type IcmpErrorSite } from './nodeport-icmp.js';
import { replyPath } from './nodeport-reply.js';
import { registerHostFlow } from './snat-host.js';
import type { Parsed } from './nodeport-rewrite.js';
import { allocScratch, type Scratch } from './nodeport-scratch.js';
import { loose } from './nodeport-loose.js';

/**
 * Parses Ethernet, L3 and the ports and loads the node configuration; returns
 * `pass` for anything NodePort does not handle (UNSPEC for the other family).
 * With `icmp`, ICMP errors go to the ICMP error path (which returns: `pass`
 * when it does not translate them).
 */
function prologue(b: B, ctx: TcCtx, fam: NpFamily, pass: number = TcAct.OK, icmp?: Pick<IcmpErrorSite, 'aboutReplies'>): { eth: AnyPlace; pkt: Parsed; s: Scratch } {
  const eth = b.parse(NpEth, 0).orReturn(pass);
  // The other family's program may follow on the same hook: TC_ACT_OK would end a tcx chain or cls_bpf filter list; UNSPEC hands the packet on (and passes it when nothing follows).
  b.if(eth.proto.ne(fam.ethProto), () => b.return(TcAct.UNSPEC));
  const { ip, proto } = fam.parseL3(b, pass);
  const l4 = proto.eq(IPPROTO_TCP).or(proto.eq(IPPROTO_UDP));
  b.if(icmp ? l4.or(proto.eq(fam.icmpProto)).not() : l4.not(), () => b.return(pass));
  // An ICMP error is longer than the 4 bytes of the ports (its own path parses what it reads).
  const ports = b.parse(NpPorts, fam.l4Off).orReturn(pass);
  const s = allocScratch(b, fam, ctx);
  loose(b).lookup(fam.config, s.idx).ifPresent((c) => s.cfg.set(c));
  // An unconfigured node (address 0) translates nothing.
  b.if(fam.isZero(s.cfg.nodeIp), () => b.return(pass));
  if (icmp) b.if(proto.eq(fam.icmpProto), () => icmpErrorPath(b, fam, eth, ip, s, { ...icmp, pass }));
  return { eth, pkt: { ip, ports, proto }, s };
}

function nativeDevice(fam: NpFamily) {
  return (b: B, ctx: TcCtx) => {
    const { eth, pkt, s } = prologue(b, ctx, fam, TcAct.OK, { aboutReplies: true });
    replyPath(b, fam, pkt, eth, s);
    forwardPath(b, fam, pkt, eth, s);
    b.return(TcAct.OK);
  };
}

function fromLocalBackend(fam: NpFamily) {
  return (b: B, ctx: TcCtx) => {
    // Everything but NodePort replies goes on to the next program on the pod's veth (the tc ClusterIP one, when deployed there): UNSPEC, which passes when nothing follows.
    const { eth, pkt, s } = prologue(b, ctx, fam, TcAct.UNSPEC, { aboutReplies: false });
    replyPath(b, fam, pkt, eth, s);
    b.return(TcAct.UNSPEC);
  };
}

function hostEgress(fam: NpFamily) {
  return (b: B, ctx: TcCtx) => {
    const { pkt, s } = prologue(b, ctx, fam);
    registerHostFlow(b, fam, pkt, s);
  };
}

/** IPv4 NodePort on the native device (tc ingress). */
export const nodePort4 = program('tc', 'np4_ingress', nativeDevice(family4));
/** IPv6 NodePort on the native device (tc ingress). */
export const nodePort6 = program('tc', 'np6_ingress', nativeDevice(family6));
/** IPv4 NodePort replies from a local backend (tc ingress of its host-side veth). */
export const nodePortFromPod4 = program('tc', 'np4_from_pod', fromLocalBackend(family4));
/** IPv6 NodePort replies from a local backend. */
export const nodePortFromPod6 = program('tc', 'np6_from_pod', fromLocalBackend(family6));
/** IPv4 host flows leaving the native device (tc egress). */
export const hostEgress4 = program('tc', 'np4_egress', hostEgress(family4));
/** IPv6 host flows leaving the native device (tc egress). */
export const hostEgress6 = program('tc', 'np6_egress', hostEgress(family6));
