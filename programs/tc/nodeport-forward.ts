/**
 * The request path of NodePort: a packet to the node address whose port is a
 * NodePort frontend (wildcard address 0 in the shared services table), or to an
 * ExternalIP / LoadBalancer address with a frontend flagged
 * SERVICE_FLAG_EXTERNAL_IP at that port (as kube-proxy translates traffic to
 * them from outside; ClusterIP frontends are left alone), gets a backend —
 * sticky per client tuple through the flows table — and then
 * - local backend: DNAT, a reverse entry for the reply (no SNAT), MACs of the
 *   pod and its host-side veth, redirect to that veth;
 * - remote backend: DNAT + SNAT to the node address with port allocation,
 *   FIB/neighbour, redirect out.
 * Either way the node routes the packet: its TTL / hop limit goes down by one,
 * and one that would reach zero is dropped (counted, no ICMP time exceeded).
 * `externalTrafficPolicy=Local` services select from their INTERNAL-scope
 * frontend (local backends only) and are never SNATed. Services without
 * (usable) backends drop with a counter. With session affinity
 * (SERVICE_FLAG_AFFINITY on the frontend of the scope picked from, timeout in
 * its slot-0 backendId) a new flow from a client address gets the slot that
 * address last got while it is fresh and still names the same backend
 * (affinity.ts, table lb4/lb6_affinity); a known flow keeps its backend.
 */
import type { B, Int } from '../../dsl/program/index.js';
import { TcAct } from '../../dsl/kernel/index.js';
import { u16, u32, u64, u8 } from '../../dsl/types/index.js';
import {
  BACKEND_FLAG_LOCAL, IPPROTO_TCP, SERVICE_FLAG_EXTERNAL_IP, SERVICE_FLAG_EXTERNAL_LOCAL, SERVICE_FLAG_NODEPORT, SERVICE_SCOPE_EXTERNAL,
  SERVICE_SCOPE_INTERNAL,
} from '../lb/schemas.js';
import { affinityRecord, affinitySlot, type AffinityFrontend } from './affinity.js';
import type { AnyPlace } from './nodeport-csum.js';
import type { NpFamily } from './nodeport-family.js';
import { dropExpired, rewriteTuple, type Parsed } from './nodeport-rewrite.js';
import { NP_FLOW_LOCAL, NpDrop } from './nodeport-schemas.js';
import { setEntry, setKey, type Scratch } from './nodeport-scratch.js';
import { drop, fibRedirect } from './fib-redirect.js';
import { allocateSnatPort, SnatResult } from './snat-alloc.js';
import { SNAT_DIR_IN, SNAT_DIR_OUT, SNAT_FLAG_NO_SNAT, SNAT_LIFETIME_OTHER_NS, SNAT_LIFETIME_TCP_NS } from './snat-schemas.js';
import { loose } from './nodeport-loose.js';

/**
 * The key of the packet's frontend (slot 0, EXTERNAL scope): the node's
 * wildcard one, or with `external` the packet's destination address; and the
 * flag that frontend must carry.
 */
function frontendKey(b: B, fam: NpFamily, pkt: Parsed, external: Int<'u8'>): { svcKey: AnyPlace; wanted: Int<'u8'> } {
  const svcKey: AnyPlace = loose(b).local(fam.ServiceKey, { port: pkt.ports.dport, proto: pkt.proto, scope: SERVICE_SCOPE_EXTERNAL });
  const wanted = b.let(u8, SERVICE_FLAG_NODEPORT);
  b.if(external.ne(0), () => {
    svcKey.address.set(pkt.ip.daddr);
    wanted.set(SERVICE_FLAG_EXTERNAL_IP);
  });
  return { svcKey, wanted };
}

/**
 * Whether a flow found in the flows table may be reused: its frontend still
 * has the reverse-NAT index it was made with (a Service deleted and created
 * again gets a new one) and its backend is still in the backends table, at the
 * same address. Otherwise a later connection reusing the client's address and
 * port would go to a backend that is gone, or come back with a frontend that is
 * (the reply would leave with the backend's address).
 */
function flowStillValid(b: B, fam: NpFamily, pkt: Parsed, flow: AnyPlace, external: Int<'u8'>): Int<'u8'> {
  const valid = b.let(u8, 0);
  const { svcKey } = frontendKey(b, fam, pkt, external);
  loose(b).lookup(fam.services, svcKey).ifPresent((svc: AnyPlace) =>
    b.if(svc.revNatIndex.eq(flow.revNatIndex), () =>
      loose(b).lookup(fam.backends, flow.backendId).ifPresent((be: AnyPlace) =>
        b.if(fam.eq(be.address, flow.backendAddr).and(be.port.eq(flow.backendPort)), () => valid.set(1)),
      ),
    ),
  );
  return valid;
}

/**
 * Picks a backend for a new flow into `flow` (stack), or returns from the
 * program. `external` is set for a packet to an external address: the frontend
 * is that address's, not the node's wildcard one.
 */
function selectBackend(b: B, fam: NpFamily, pkt: Parsed, flow: AnyPlace, s: Scratch, external: Int<'u8'>): void {
  const { svcKey, wanted } = frontendKey(b, fam, pkt, external);
  const svc = loose(b).lookup(fam.services, svcKey).orReturn(TcAct.OK) as AnyPlace;
  const flags: Int<'u8'> = svc.flags.get();
  const count = b.let(u16, svc.count);
  flow.revNatIndex.set(svc.revNatIndex);
  b.if(flags.and(wanted).eq(0), () => b.return(TcAct.OK));
  const localOnly = flags.and(SERVICE_FLAG_EXTERNAL_LOCAL).ne(0);
  // Affinity and its timeout come from the frontend of the scope picked from.
  const pickFlags = b.let(u8, flags);
  const timeout = b.let(u32, svc.backendId);
  b.if(localOnly, () => {
    svcKey.scope.set(SERVICE_SCOPE_INTERNAL);
    count.set(0);
    loose(b).lookup(fam.services, svcKey).ifPresent((x: AnyPlace) => {
      count.set(x.count);
      pickFlags.set(x.flags);
      timeout.set(x.backendId);
    });
  });
  b.if(count.eq(0), () => drop(b, s, NpDrop.NO_BACKEND));
  const front: AffinityFrontend = { flags: pickFlags, timeout, count, revNatIndex: flow.revNatIndex.get(), svcKey, services: fam.services };
  const slot = affinitySlot(b, fam.affinity, front, pkt.ip.saddr);
  b.if(slot.eq(0), () => slot.set(b.prandom().mod(count.to(u32)).add(1).to(u16)));
  svcKey.backendSlot.set(slot);
  // A slot or backend removed under us (the manager is rewriting the service) counts as gone.
  const backendId = b.let(u32, 0);
  loose(b).lookup(fam.services, svcKey).ifPresent((x: AnyPlace) => backendId.set(x.backendId));
  b.if(backendId.eq(0), () => drop(b, s, NpDrop.BACKEND_GONE));
  const backend: AnyPlace = loose(b).local(fam.Backend);
  const have = b.let(u8, 0);
  loose(b).lookup(fam.backends, backendId).ifPresent((be) => {
    backend.set(be);
    have.set(1);
  });
  b.if(have.eq(0), () => drop(b, s, NpDrop.BACKEND_GONE));
  const isLocal = backend.flags.and(BACKEND_FLAG_LOCAL).ne(0);
  // Local policy never leaves the node, whatever the INTERNAL frontend lists.
  b.if(localOnly.and(isLocal.not()), () => drop(b, s, NpDrop.NO_BACKEND));
  affinityRecord(b, fam.affinity, front, pkt.ip.saddr, backendId, slot);
  flow.backendAddr.set(backend.address);
  flow.backendPort.set(backend.port);
  flow.backendId.set(backendId);
  // (The flow may be a stale one being replaced: every field is written.)
  b.if(isLocal, () => flow.flags.set(NP_FLOW_LOCAL), () => flow.flags.set(0));
  flow.created.set(b.ktimeGetNs());
}

/** Local backend: DNAT, reverse entry, pod MACs, redirect to the host-side veth. */
function toLocalBackend(b: B, fam: NpFamily, pkt: Parsed, eth: AnyPlace, flow: AnyPlace, isNew: Int<'u8'>, s: Scratch): void {
  const ep: AnyPlace = loose(b).local(fam.endpoints.value!);
  const have = b.let(u8, 0);
  loose(b).lookup(fam.endpoints, flow.backendAddr).ifPresent((e) => {
    ep.set(e);
    have.set(1);
  });
  b.if(have.eq(0), () => drop(b, s, NpDrop.NO_ENDPOINT));
  const { ip, ports } = pkt;
  b.if(isNew.ne(0), () => {
    setKey(s.keyB, flow.backendAddr, ip.saddr, flow.backendPort, ports.sport, pkt.proto, SNAT_DIR_IN);
    setEntry(s.entryB, flow.created, ip.saddr, ports.sport, flow.revNatIndex, SNAT_FLAG_NO_SNAT);
    loose(b).update(fam.snat, s.keyB, s.entryB, 'any');
  });
  rewriteTuple(b, fam, pkt, { daddr: flow.backendAddr, dport: flow.backendPort }, TcAct.SHOT);
  eth.dst.set(ep.podMac);
  eth.src.set(ep.hostMac);
  b.return(b.redirect(ep.ifindex, 0));
}

/**
 * Remote backend: DNAT + SNAT (allocating a port for a new flow; a new flow
 * over an existing SNAT mapping rewrites its reverse entry, which carries the
 * reverse-NAT index), FIB, redirect out.
 */
function toRemoteBackend(b: B, fam: NpFamily, pkt: Parsed, eth: AnyPlace, flow: AnyPlace, isNew: Int<'u8'>, s: Scratch): void {
  const { ip, ports } = pkt;
  const { cfg, keyA: fwdKey, entryA: fwd, keyB: revKey, entryB: rev } = s;
  setKey(fwdKey, ip.saddr, flow.backendAddr, ports.sport, flow.backendPort, pkt.proto, SNAT_DIR_OUT);
  const have = b.let(u8, 0);
  const now = b.ktimeGetNs();
  loose(b).lookup(fam.snat, fwdKey).ifPresent((e) => {
    fwd.set(e);
    e.seen.set(now);
    have.set(1);
  });
  b.if(have.eq(0), () => {
    // The forward entry's port and the reverse key's dport are set per candidate.
    setEntry(fwd, now, cfg.nodeIp, 0, 0, 0);
    setKey(revKey, flow.backendAddr, cfg.nodeIp, flow.backendPort, 0, pkt.proto, SNAT_DIR_IN);
    setEntry(rev, now, ip.saddr, ports.sport, flow.revNatIndex, 0);
    const lifetime = b.let(u64, SNAT_LIFETIME_OTHER_NS);
    b.if(pkt.proto.eq(IPPROTO_TCP), () => lifetime.set(SNAT_LIFETIME_TCP_NS));
    const { result } = allocateSnatPort(b, {
      map: fam.snat, fwdKey, fwdEntry: fwd, revKey, revEntry: rev, idx: s.idx, staleKey: loose(b).local(fam.SnatKey), now, lifetime,
      origPort: ports.sport.to(u16).to(u32), min: cfg.portMin.to(u32), max: cfg.portMax.to(u32),
    });
    b.if(result.ne(SnatResult.OK), () => drop(b, s, NpDrop.SNAT_EXHAUSTED));
  }, () => b.if(isNew.ne(0), () => {
    setKey(revKey, flow.backendAddr, cfg.nodeIp, flow.backendPort, fwd.port, pkt.proto, SNAT_DIR_IN);
    setEntry(rev, now, ip.saddr, ports.sport, flow.revNatIndex, 0);
    loose(b).update(fam.snat, revKey, rev, 'any');
  }));
  rewriteTuple(b, fam, pkt, { saddr: fwd.addr, sport: fwd.port, daddr: flow.backendAddr, dport: flow.backendPort }, TcAct.SHOT);
  fibRedirect(b, fam, pkt, eth, s);
}

/**
 * Emits the request path for a packet addressed to the node or to an external
 * frontend address. Returns TC_ACT_OK from the program for packets that are
 * not NodePort / external traffic. Expects `s.keyA` to hold the packet's tuple
 * (as the reply path leaves it).
 */
export function forwardPath(b: B, fam: NpFamily, pkt: Parsed, eth: AnyPlace, s: Scratch): void {
  const { ip } = pkt;
  const external = b.let(u8, 0);
  b.if(fam.eq(ip.daddr, s.cfg.nodeIp).not(), () => {
    // Not the node: only an external frontend at this address and port is ours (checked before any state is made).
    external.set(1);
    const { svcKey, wanted } = frontendKey(b, fam, pkt, external);
    const front = loose(b).lookup(fam.services, svcKey).orReturn(TcAct.OK) as AnyPlace;
    b.if(front.flags.and(wanted).eq(0), () => b.return(TcAct.OK));
  });
  const key = s.keyA;
  key.dir.set(SNAT_DIR_OUT);
  const flow: AnyPlace = loose(b).local(fam.Flow);
  const isNew = b.let(u8, 1);
  loose(b).lookup(fam.flows, key).ifPresent((f) => {
    flow.set(f);
    isNew.set(0);
  });
  b.if(isNew.eq(0), () => b.if(flowStillValid(b, fam, pkt, flow, external).eq(0), () => isNew.set(1)));
  b.if(isNew.ne(0), () => {
    selectBackend(b, fam, pkt, flow, s, external);
    loose(b).update(fam.flows, key, flow, 'any');
    // The client's next hop back: its Ethernet source, for replies without a FIB neighbour.
    const n: AnyPlace = loose(b).local(fam.neigh.value!);
    n.mac.set(eth.src);
    loose(b).update(fam.neigh, key.saddr, n, 'any');
  });
  // Only now is it known to be NodePort traffic (a TTL-1 packet to another port of the node is the node's own).
  dropExpired(b, fam, pkt, s);
  b.if(flow.flags.and(NP_FLOW_LOCAL).ne(0), () => toLocalBackend(b, fam, pkt, eth, flow, isNew, s), () => toRemoteBackend(b, fam, pkt, eth, flow, isNew, s));
}
