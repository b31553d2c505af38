/**
 * Service lookup and backend selection for the pod-side ClusterIP datapath.
 * A packet to a frontend (daddr:dport:proto, slot 0) gets a backend: the one
 * its flow's SERVICE conntrack entry remembers (sticky), or a random slot
 * `prandom() % count + 1` for a new flow, whose choice is then remembered.
 * A frontend with session affinity gives a new flow the slot its client (the
 * pod's address) last got while that is still valid (affinity.ts).
 * A frontend without backends drops with DROP_NO_BACKEND; a slot or backend
 * missing from the tables drops with DROP_BACKEND_MISSING.
 */
import type { B, Var } from '../../dsl/program/index.js';
import { u8, u16, u32 } from '../../dsl/types/index.js';
import { affinityRecord, affinitySlot, type AffinityFrontend } from './affinity.js';
import { ctCreate, ctLookup, type CtPacket } from './conntrack.js';
import { dropWith, TC_ACT_OK } from './conntrack-drops.js';
import { DROP_BACKEND_MISSING, DROP_CT_CREATE, DROP_NO_BACKEND } from './conntrack-maps.js';
import { CT_SERVICE } from './conntrack-schemas.js';
import type { Family, FamilyView } from './parse-family.js';

/** The backend chosen for a packet. */
export interface ServiceChoice {
  /** Stack copy of the backend (address, port). */
  readonly backend: FamilyView;
  readonly backendId: Var<'u32'>;
  readonly revNatIndex: Var<'u16'>;
}

/**
 * Looks the packet's destination up as a service frontend; returns `passCode`
 * from the program when it is none. `tuple` is the packet's conntrack tuple
 * (flags CT_OUT), left unchanged.
 */
export function selectBackend(F: Family, b: B, tuple: FamilyView, p: CtPacket, passCode = TC_ACT_OK): ServiceChoice {
  const svcKey: FamilyView = b.local(F.serviceKey as never);
  F.copyAddr(svcKey.address, tuple.daddr);
  svcKey.port.set(tuple.dport);
  svcKey.proto.set(tuple.nexthdr);
  const isService = b.let(u8, 0);
  const count = b.let(u16, 0);
  const revNatIndex = b.let(u16, 0);
  const flags = b.let(u8, 0);
  const timeout = b.let(u32, 0);
  b.lookup(F.servicesMap, svcKey).ifPresent((s: FamilyView) => {
    isService.set(1);
    count.set(s.count);
    revNatIndex.set(s.revNatIndex);
    flags.set(s.flags);
    timeout.set(s.backendId);
  });
  b.if(isService.eq(0), () => b.return(passCode));
  b.if(count.eq(0), () => dropWith(b, DROP_NO_BACKEND));

  const svcTuple: FamilyView = b.local(F.ctKey as never);
  svcTuple.set(tuple);
  svcTuple.flags.set(CT_SERVICE);
  const sticky = ctLookup(b, F.ctMap, svcTuple, 'tx', p);
  const backendId = b.let(u32, sticky.backendId);
  const backend: FamilyView = b.local(F.backend as never);
  b.if(backendId.ne(0), () =>
    b.lookup(F.backendsMap, backendId).ifPresent(
      (be: FamilyView) => backend.set(be),
      () => backendId.set(0),
    ),
  );
  b.if(backendId.eq(0), () => {
    const front: AffinityFrontend = { flags, timeout, count, revNatIndex, svcKey, services: F.servicesMap };
    const slot = affinitySlot(b, F.affinity, front, tuple.saddr);
    b.if(slot.eq(0), () => slot.set(b.prandom().mod(count.to(u32)).add(1).to(u16)));
    svcKey.backendSlot.set(slot);
    b.lookup(F.servicesMap, svcKey).ifPresent((s: FamilyView) => backendId.set(s.backendId));
    b.if(backendId.eq(0), () => dropWith(b, DROP_BACKEND_MISSING));
    b.lookup(F.backendsMap, backendId).ifPresent(
      (be: FamilyView) => backend.set(be),
      () => dropWith(b, DROP_BACKEND_MISSING),
    );
    affinityRecord(b, F.affinity, front, tuple.saddr, backendId, slot);
    const created = ctCreate(b, F.ctMap, svcTuple, { revNatIndex, backendId, flags: 0 }, p);
    b.if(created.result.lt(0), () => dropWith(b, DROP_CT_CREATE));
  });
  return { backend, backendId, revNatIndex };
}
