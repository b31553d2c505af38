/**
 * Sending a rewritten packet on its way: bpf_fib_lookup (OUTPUT | DIRECT, on
 * the native device) for the egress device and next-hop MACs, write the
 * Ethernet header, bpf_redirect. When the FIB has the route but no neighbour,
 * the neighbour cache (filled at NodePort ingress) supplies the MAC; failing
 * that, bpf_redirect_neigh lets the kernel resolve it where the target has it
 * (5.10+), and the packet is dropped (counted) where it does not. Redirected
 * packets carry NP_MARK_FORWARDED.
 */
import type { B, Int } from '../../dsl/program/index.js';
import { FibLookupFlags, FibLookupResult, TcAct } from '../../dsl/kernel/index.js';
import { u32 } from '../../dsl/types/index.js';
import type { AnyPlace } from './nodeport-csum.js';
import type { NpFamily } from './nodeport-family.js';
import { npDrops, npPaths } from './nodeport-maps.js';
import { NP_MARK_FORWARDED, NpDrop, NpPath } from './nodeport-schemas.js';
import type { Scratch } from './nodeport-scratch.js';
import { loose } from './nodeport-loose.js';

/** Increments counter `index` of an ARRAY of u64 counters (`idx`: a u32 on the stack for the key). */
export function bump(b: B, idx: AnyPlace, map: typeof npDrops, index: number | Int<'u32'>): void {
  idx.set(index);
  b.lookup(map, idx).ifPresent((n) => n.atomicAdd(1));
}

/** Counts a drop and returns TC_ACT_SHOT from the program. */
export function drop(b: B, s: Scratch, reason: number): void {
  bump(b, s.idx, npDrops, reason);
  b.return(TcAct.SHOT);
}

/** What the route lookup needs of a packet: its L3 header and protocol, and the ports of TCP/UDP (none for ICMP). */
export interface Routed {
  readonly ip: AnyPlace;
  readonly proto: Int<'u8'> | number;
  readonly ports?: AnyPlace;
}

/**
 * Looks up the route for the packet as it now stands (`pkt` addresses and
 * ports), rewrites `eth` and returns the redirect from the program. The node
 * configuration in `s.cfg` gives the native ifindex and MAC.
 */
export function fibRedirect(b: B, fam: NpFamily, pkt: Routed, eth: AnyPlace, s: Scratch): void {
  const { fib, cfg, ctx } = s;
  // Tells the native device's egress program (which sees the redirected packet) that this is not a host flow.
  ctx.mark.set(ctx.mark.or(NP_MARK_FORWARDED));
  // Every input field is set; the outputs of a previous lookup are overwritten by this one.
  fib.family.set(fam.af);
  fib.ifindex.set(cfg.ifindex);
  fib.l4_protocol.set(pkt.proto);
  fib.sport.set(pkt.ports ? pkt.ports.sport : 0);
  fib.dport.set(pkt.ports ? pkt.ports.dport : 0);
  fib.tot_len.set(fam.totLen(pkt.ip));
  fib[fam.fibSrc].set(pkt.ip.saddr);
  fib[fam.fibDst].set(pkt.ip.daddr);
  const flags = FibLookupFlags.OUTPUT | FibLookupFlags.DIRECT;
  const rc = b.let(u32, b.fibLookup(fib, flags).to(u32));
  // A GSO packet (a burst of TCP segments not yet cut, as veths pass them) is longer than the MTU as a whole, and
  // the lookup refuses its tot_len (5.x+); without tot_len the kernel checks the skb itself, segments included.
  // FRAG_NEEDED is returned before the lookup writes anything but mtu_result (tot_len's union twin).
  b.if(rc.eq(FibLookupResult.FRAG_NEEDED), () => {
    fib.tot_len.set(0);
    fib.ifindex.set(cfg.ifindex);
    rc.set(b.fibLookup(fib, flags).to(u32));
  });
  b.if(rc.eq(FibLookupResult.SUCCESS), () => {
    eth.dst.set(fib.dmac);
    eth.src.set(fib.smac);
    bump(b, s.idx, npPaths, NpPath.FIB);
    b.return(b.redirect(fib.ifindex, 0));
  });
  b.if(rc.ne(FibLookupResult.NO_NEIGH), () => drop(b, s, NpDrop.FIB_FAILED));
  // The route is known (egress ifindex; the gateway, if any, replaced the destination): the next hop's MAC is not.
  loose(b).lookup(fam.neigh, fib[fam.fibDst]).ifPresent((n: AnyPlace) => {
    eth.dst.set(n.mac);
    eth.src.set(cfg.mac);
    bump(b, s.idx, npPaths, NpPath.NEIGH_CACHE);
    b.return(b.redirect(fib.ifindex, 0));
  });
  if (b.hasHelper('redirect_neigh')) {
    bump(b, s.idx, npPaths, NpPath.REDIRECT_NEIGH);
    b.return(b.redirectNeigh(fib.ifindex, 0));
  } else {
    drop(b, s, NpDrop.NO_NEIGH);
  }
}
