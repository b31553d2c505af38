/**
 * Host flows and the SNAT port space: the node's own connections leave the
 * native device from the node address, and a NodePort SNAT must not hand out
 * a port one of them uses towards the same peer (the replies would be taken
 * for NodePort replies). On egress, a host packet whose source port lies in the
 * SNAT range registers a reverse entry flagged SNAT_FLAG_HOST with BPF_NOEXIST:
 * the allocator's own NOEXIST inserts then skip that port, and the reply path
 * leaves such replies to the stack. A port already held by a NodePort flow to
 * the same peer cannot be registered (counted as HOST_CLASH; the host flow is
 * not rewritten — port-preserving host SNAT is not done here). NodePort's own
 * packets, redirected out of the device, reach this hook too: they carry
 * NP_MARK_FORWARDED, which is cleared, and pass.
 */
import type { B } from '../../dsl/program/index.js';
import { TcAct } from '../../dsl/kernel/index.js';
import { u16, u32, u8 } from '../../dsl/types/index.js';
import type { NpFamily } from './nodeport-family.js';
import { bump } from './fib-redirect.js';
import { npPaths } from './nodeport-maps.js';
import { loose } from './nodeport-loose.js';
import type { Parsed } from './nodeport-rewrite.js';
import { NP_MARK_FORWARDED, NpPath } from './nodeport-schemas.js';
import { setEntry, setKey, type Scratch } from './nodeport-scratch.js';
import { SNAT_DIR_IN, SNAT_FLAG_HOST } from './snat-schemas.js';

/** Emits the egress registration of host flows; always returns TC_ACT_OK from the program. */
export function registerHostFlow(b: B, fam: NpFamily, pkt: Parsed, s: Scratch): void {
  const { ip, ports } = pkt;
  const { cfg, ctx } = s;
  // NodePort's own translated packets, redirected here: not a host flow (their tuple is the NodePort flow's). The bit is not left on the packet.
  b.if(ctx.mark.and(NP_MARK_FORWARDED).ne(0), () => {
    ctx.mark.set(ctx.mark.and(~NP_MARK_FORWARDED >>> 0));
    b.return(TcAct.OK);
  });
  b.if(fam.eq(ip.saddr, cfg.nodeIp).not(), () => b.return(TcAct.OK));
  const sport = ports.sport.to(u16).to(u32);
  b.if(sport.lt(cfg.portMin.to(u32)).or(sport.gt(cfg.portMax.to(u32))), () => b.return(TcAct.OK));
  // The key a reply of this flow will have: peer → node:sport.
  setKey(s.keyA, ip.daddr, ip.saddr, ports.dport, ports.sport, pkt.proto, SNAT_DIR_IN);
  const now = b.ktimeGetNs();
  setEntry(s.entryA, now, ip.saddr, ports.sport, 0, SNAT_FLAG_HOST);
  b.if(loose(b).update(fam.snat, s.keyA, s.entryA, 'noexist').eq(0), () => {
    bump(b, s.idx, npPaths, NpPath.HOST_FLOW);
    b.return(TcAct.OK);
  });
  // Registered before: the flow is alive (keeps its port from being reclaimed).
  const host = b.let(u8, 1);
  loose(b).lookup(fam.snat, s.keyA).ifPresent((e) => {
    host.set(e.flags.and(SNAT_FLAG_HOST));
    b.if(host.ne(0), () => e.seen.set(now));
  });
  b.if(host.eq(0), () => bump(b, s.idx, npPaths, NpPath.HOST_CLASH));
  b.return(TcAct.OK);
}
