/**
 * Reverse NAT of replies in the pod-side ClusterIP datapath: a packet whose
 * reversed tuple is a CT_OUT entry is a reply (CT_REPLY). If its flow was
 * DNATed (revNatIndex ≠ 0) the source becomes the frontend again; for a hairpin
 * flow the destination (the loopback address) becomes the pod again and the
 * packet is redirected back to the interface it came in on.
 */
import type { B, TcCtx } from '../../dsl/program/index.js';
import { u8, u16 } from '../../dsl/types/index.js';
import { ctLookup, type CtPacket } from './conntrack.js';
import { TC_ACT_OK } from './conntrack-drops.js';
import { CT_F_LB_LOOPBACK, CT_OUT } from './conntrack-schemas.js';
import { l4CsumOf, natAddr, natPort, swapMacs } from './nat.js';
import type { Family, FamilyView } from './parse-family.js';

/** Handles `tuple` as a reply if it is one (returns from the program); falls through otherwise. */
export function replyPath(F: Family, b: B, ctx: TcCtx, tuple: FamilyView, p: CtPacket): void {
  const rkey: FamilyView = b.local(F.ctKey as never);
  F.copyAddr(rkey.daddr, tuple.saddr);
  F.copyAddr(rkey.saddr, tuple.daddr);
  rkey.dport.set(tuple.sport);
  rkey.sport.set(tuple.dport);
  rkey.nexthdr.set(tuple.nexthdr);
  rkey.flags.set(CT_OUT);
  const r = ctLookup(b, F.ctMap, rkey, 'rx', p);
  b.if(r.found.ne(0), () => {
    const frontend: FamilyView = b.local(F.revNat as never);
    const known = b.let(u8, 0);
    b.if(r.revNatIndex.ne(0), () =>
      b.lookup(F.revNatMap, b.local(u16, r.revNatIndex)).ifPresent((v: FamilyView) => {
        frontend.set(v);
        known.set(1);
      }),
    );
    b.if(known.eq(0), () => b.return(TC_ACT_OK));
    const l4 = l4CsumOf(F, b, tuple.nexthdr);
    natAddr(F, b, l4, F.saddrOff, tuple.saddr, frontend.address);
    natPort(b, l4, F.l4Off, tuple.sport.get(), frontend.port.get());
    b.if(r.flags.and(CT_F_LB_LOOPBACK).ne(0), () => {
      natAddr(F, b, l4, F.daddrOff, tuple.daddr, tuple.saddr);
      swapMacs(b);
      b.return(b.redirect(ctx.ifindex, 0));
    });
    b.return(TC_ACT_OK);
  });
}
