/**
 * NodePort packet tests: for every profile's build (4.19 split into tail calls
 * by dsl/fit, loaded through its prog array), BPF_PROG_TEST_RUN on crafted
 * IPv4/IPv6 TCP/UDP packets after filling the tables, inside a namespace whose
 * routes and neighbours bpf_fib_lookup consults (see nodeport-env.ts). Every
 * output packet is compared byte for byte with one built and checksummed
 * independently (nodeport-packets.ts); return codes, SNAT entries, the
 * neighbour cache and the counters are checked too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcAct } from '../../dsl/kernel/index.js';
import { backends4, backends6, revNat4, revNat6, services4, services6 } from '../../programs/lb/maps.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../programs/lb/schemas.js';
import { neigh4, neigh6 } from '../../programs/tc/neigh-maps.js';
import { npDrops, npFlows4, npFlows6, npPaths } from '../../programs/tc/nodeport-maps.js';
import { NP_FLOW_LOCAL, NP_MARK_FORWARDED, NpDrop, NpPath } from '../../programs/tc/nodeport-schemas.js';
import { snat4, snat6, snatRetries } from '../../programs/tc/snat-maps.js';
import { SNAT_DIR_IN, SNAT_DIR_OUT, SNAT_FLAG_HOST, SNAT_FLAG_NO_SNAT } from '../../programs/tc/snat-schemas.js';
import { dropCounters, pathCounters, snatHistogram } from '../../programs/tc/nodeport-agent.js';
import { need } from '../support/env.js';
import { addService, counter, createNodeNs, NET, PROFILES, table, type Bench, type NodeNs, withBench as withNodeBench } from './nodeport-env.js';
import { expectPacket, hashedPort } from './nodeport-expect.js';
import { FORWARDED_TTL, packet } from './nodeport-packets.js';

const ok = need({ kernel: true });

/** Addresses and tables of one family. */
const FAMILIES = [
  { v6: false, name: 'IPv4', node: NET.node4, client: NET.client4, lonely: NET.lonely4, remote: NET.remote4, pod: NET.pod4, far: NET.far4, ingress: 'np4_ingress', fromPod: 'np4_from_pod', egress: 'np4_egress', snat: snat4, neigh: neigh4, flows: npFlows4 },
  { v6: true, name: 'IPv6', node: NET.node6, client: NET.client6, lonely: NET.lonely6, remote: NET.remote6, pod: NET.pod6, far: NET.far6, ingress: 'np6_ingress', fromPod: 'np6_from_pod', egress: 'np6_egress', snat: snat6, neigh: neigh6, flows: npFlows6 },
] as const;
type Fam = (typeof FAMILIES)[number];

const REV = 5;
/** A mark bit someone else put on the packet (kube-proxy's masquerade bit): NodePort keeps it. */
const KUBE_PROXY_MASQ_MARK = 0x4000;

describe.skipIf(!ok)('NodePort datapath (BPF_PROG_TEST_RUN)', () => {
  let ns: NodeNs;
  beforeAll(() => {
    ns = createNodeNs();
  });
  afterAll(() => ns?.cleanup());

  const withBench = (target: string, fn: (b: Bench) => void, opts?: { portMin?: number; portMax?: number }) => withNodeBench(target, ns, fn, opts);

  it('4.19 IPv6: the remote-backend request runs through the tail-call pieces (emptied slots drop it)', () =>
    withBench('4.19', (bench) => {
      const f = FAMILIES[1];
      addService(bench, true, { revNatIndex: REV, backends: [{ id: 21, address: f.remote, port: NET.backendPort }] });
      const jmp = bench.spec.maps!.find((m) => m.type === 'PROG_ARRAY' && m.name.startsWith('np6_'))!;
      const req = (sport: number) => packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport, dport: NET.nodePort });
      expect(bench.run(f.ingress, req(40010)).retval).toBe(TcAct.REDIRECT);
      // Where the chain is cut depends on the build: with every later piece gone, the request cannot complete.
      for (let i = 1; i < jmp.values!.length; i++) bench.obj.map(jmp.name).delete(i);
      expect(bench.run(f.ingress, req(40011)).retval).toBe(TcAct.SHOT);
    }));

  for (const target of PROFILES) {
    for (const f of FAMILIES) {
      for (const proto of [IPPROTO_TCP, IPPROTO_UDP] as const) {
        const l4 = proto === IPPROTO_TCP ? 'TCP' : 'UDP';

        it(`${target} ${f.name} ${l4}: local backend (DNAT + redirect to its veth) and its reply`, () =>
          withBench(target, (bench) => {
            addService(bench, f.v6, { revNatIndex: REV, proto, backends: [{ id: 11, address: f.pod, port: NET.backendPort, local: true }] });
            const sport = 40001;
            const req = packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport, dport: NET.nodePort, proto });
            const toPod = packet({ ttl: FORWARDED_TTL, smac: NET.vethMac, dmac: NET.podMac, saddr: f.client, daddr: f.pod, sport, dport: NET.backendPort, proto });
            const r = bench.run(f.ingress, req);
            expect(r.retval).toBe(TcAct.REDIRECT);
            expectPacket(r.data, toPod, 'request to the local backend');
            // Sticky: the next packet of the flow takes the same way.
            const again = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport, dport: NET.nodePort, proto, payload: [1, 2, 3, 4] }));
            expect(again.retval).toBe(TcAct.REDIRECT);
            expectPacket(again.data, packet({ ttl: FORWARDED_TTL, smac: NET.vethMac, dmac: NET.podMac, saddr: f.client, daddr: f.pod, sport, dport: NET.backendPort, proto, payload: [1, 2, 3, 4] }), 'second packet');
            const snat = table(bench, f.snat);
            expect(snat.get({ saddr: f.pod, daddr: f.client, sport: NET.backendPort, dport: sport, proto, dir: SNAT_DIR_IN })).toMatchObject({ addr: f.client, port: sport, revNatIndex: REV, flags: SNAT_FLAG_NO_SNAT });
            expect(snat.entries()).toHaveLength(1);
            expect(table(bench, f.flows).get({ saddr: f.client, daddr: f.node, sport, dport: NET.nodePort, proto, dir: SNAT_DIR_OUT })).toMatchObject({ backendAddr: f.pod, backendPort: NET.backendPort, revNatIndex: REV, flags: NP_FLOW_LOCAL });
            expect(table(bench, f.neigh).get(f.client)).toMatchObject({ mac: NET.clientMac });

            const reply = packet({ smac: NET.podMac, dmac: NET.vethMac, saddr: f.pod, daddr: f.client, sport: NET.backendPort, dport: sport, proto, payload: [9, 8] });
            const rr = bench.run(f.fromPod, reply);
            expect(rr.retval).toBe(TcAct.REDIRECT);
            expectPacket(rr.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.clientMac, saddr: f.node, daddr: f.client, sport: NET.nodePort, dport: sport, proto, payload: [9, 8] }), 'reply to the client');
            expect(counter(bench, npPaths, NpPath.FIB)).toBe(1n);
          }));

        it(`${target} ${f.name} ${l4}: remote backend (SNAT + FIB + redirect) and its reply`, () =>
          withBench(target, (bench) => {
            addService(bench, f.v6, { revNatIndex: REV, proto, backends: [{ id: 21, address: f.remote, port: NET.backendPort }] });
            const sport = 40002;
            const r = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport, dport: NET.nodePort, proto }));
            expect(r.retval).toBe(TcAct.REDIRECT);
            // The source port is free and in range: kept.
            expectPacket(r.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport, dport: NET.backendPort, proto }), 'SNATed request');
            const snat = table(bench, f.snat);
            expect(snat.get({ saddr: f.client, daddr: f.remote, sport, dport: NET.backendPort, proto, dir: SNAT_DIR_OUT })).toMatchObject({ addr: f.node, port: sport, flags: 0 });
            expect(snat.get({ saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: sport, proto, dir: SNAT_DIR_IN })).toMatchObject({ addr: f.client, port: sport, revNatIndex: REV, flags: 0 });
            expect(snat.entries()).toHaveLength(2);
            expect(counter(bench, snatRetries, 0)).toBe(1n);

            const rr = bench.run(f.ingress, packet({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: sport, proto, payload: [7] }));
            expect(rr.retval).toBe(TcAct.REDIRECT);
            expectPacket(rr.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.clientMac, saddr: f.node, daddr: f.client, sport: NET.nodePort, dport: sport, proto, payload: [7] }), 'reply to the client');
            expect(counter(bench, npPaths, NpPath.FIB)).toBe(2n);
            expect(pathCounters(bench.obj)).toMatchObject({ FIB: 2n, NEIGH_CACHE: 0n, REDIRECT_NEIGH: 0n });
            expect(snatHistogram(bench.obj).slice(0, 2)).toEqual([1n, 0n]);
          }));
      }

      it(`${target} ${f.name}: packets NodePort does not handle pass untouched; a UDP packet without checksum keeps 0`, () =>
        withBench(target, (bench) => {
          addService(bench, f.v6, { revNatIndex: REV, proto: IPPROTO_UDP, backends: [{ id: 11, address: f.pod, port: NET.backendPort, local: true }] });
          const base = packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport: 40007, dport: NET.nodePort, proto: IPPROTO_UDP });
          const l3 = 14;
          const odd: Uint8Array[] = [base.subarray(0, f.v6 ? 54 + 3 : 34 + 3)];
          const icmp = Uint8Array.from(base);
          icmp[f.v6 ? l3 + 6 : l3 + 9] = f.v6 ? 58 : 1;
          odd.push(icmp);
          if (!f.v6) {
            const opts = Uint8Array.from(base);
            opts[l3] = 0x46;
            const frag = Uint8Array.from(base);
            frag[l3 + 6] = 0x20; // more fragments
            odd.push(opts, frag);
          }
          for (const p of odd) {
            const r = bench.run(f.ingress, p);
            expect(r.retval).toBe(TcAct.OK);
            expectPacket(r.data, p, 'not NodePort traffic');
          }
          if (!f.v6) {
            const bare = packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport: 40008, dport: NET.nodePort, proto: IPPROTO_UDP, noUdpCsum: true });
            const r = bench.run(f.ingress, bare);
            expect(r.retval).toBe(TcAct.REDIRECT);
            expectPacket(r.data, packet({ ttl: FORWARDED_TTL, smac: NET.vethMac, dmac: NET.podMac, saddr: f.client, daddr: f.pod, sport: 40008, dport: NET.backendPort, proto: IPPROTO_UDP, noUdpCsum: true }), 'UDP without checksum');
          }
        }));

      it(`${target} ${f.name}: a source port outside the SNAT range gets the hashed candidate; a client behind a router gets the gateway's MAC`, () =>
        withBench(target, (bench) => {
          addService(bench, f.v6, { revNatIndex: REV, backends: [{ id: 21, address: f.remote, port: NET.backendPort }] });
          const sport = 1234;
          const port = hashedPort(sport, 32768, 65535);
          const r = bench.run(f.ingress, packet({ smac: NET.gwMac, dmac: NET.nodeMac, saddr: f.far, daddr: f.node, sport, dport: NET.nodePort }));
          expect(r.retval).toBe(TcAct.REDIRECT);
          expectPacket(r.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport: port, dport: NET.backendPort }), 'SNATed request');
          const rr = bench.run(f.ingress, packet({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: port }));
          expect(rr.retval).toBe(TcAct.REDIRECT);
          expectPacket(rr.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.gwMac, saddr: f.node, daddr: f.far, sport: NET.nodePort, dport: sport }), 'reply via the gateway');
        }));

      it(`${target} ${f.name}: reply to a client the FIB has no neighbour for: neighbour cache, then ${hasRedirectNeigh(target) ? 'bpf_redirect_neigh' : 'drop'}`, () =>
        withBench(target, (bench) => {
          addService(bench, f.v6, { revNatIndex: REV, backends: [{ id: 21, address: f.remote, port: NET.backendPort }] });
          const sport = 40004;
          const r = bench.run(f.ingress, packet({ smac: NET.lonelyMac, dmac: NET.nodeMac, saddr: f.lonely, daddr: f.node, sport, dport: NET.nodePort }));
          expect(r.retval).toBe(TcAct.REDIRECT);
          expect(table(bench, f.neigh).get(f.lonely)).toMatchObject({ mac: NET.lonelyMac });
          const reply = packet({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: sport });
          const rr = bench.run(f.ingress, reply);
          expect(rr.retval).toBe(TcAct.REDIRECT);
          expectPacket(rr.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.lonelyMac, saddr: f.node, daddr: f.lonely, sport: NET.nodePort, dport: sport }), 'reply from the cache');
          expect(counter(bench, npPaths, NpPath.NEIGH_CACHE)).toBe(1n);
          // Nothing cached either: the kernel resolves it (5.10+) or the packet is dropped.
          table(bench, f.neigh).delete(f.lonely);
          const rn = bench.run(f.ingress, reply);
          const translated = packet({ ttl: FORWARDED_TTL, smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.node, daddr: f.lonely, sport: NET.nodePort, dport: sport });
          if (hasRedirectNeigh(target)) {
            expect(rn.retval).toBe(TcAct.REDIRECT);
            expectPacket(rn.data, translated, 'reply for bpf_redirect_neigh');
            expect(counter(bench, npPaths, NpPath.REDIRECT_NEIGH)).toBe(1n);
          } else {
            expect(rn.retval).toBe(TcAct.SHOT);
            expect(counter(bench, npDrops, NpDrop.NO_NEIGH)).toBe(1n);
          }
        }));

      it(`${target} ${f.name}: an ExternalIP / LoadBalancer address is a frontend too (remote and local backends, replies from it); a ClusterIP one is not`, () =>
        withBench(target, (bench) => {
          const vip = f.v6 ? 'fd00:5::80' : '203.0.113.80';
          addService(bench, f.v6, { revNatIndex: 51, port: 80, address: vip, backends: [{ id: 51, address: f.remote, port: NET.backendPort }] });
          addService(bench, f.v6, { revNatIndex: 52, port: 443, address: vip, backends: [{ id: 52, address: f.pod, port: NET.backendPort, local: true }] });
          addService(bench, f.v6, { revNatIndex: 53, port: 8443, address: vip, clusterIp: true, backends: [{ id: 53, address: f.remote, port: NET.backendPort }] });
          // Remote backend: DNAT + SNAT to the node address; the reply gets the external address back as source.
          const sport = 40050;
          const r = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: vip, sport, dport: 80 }));
          expect(r.retval).toBe(TcAct.REDIRECT);
          expectPacket(r.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport, dport: NET.backendPort }), 'to the remote backend');
          const rr = bench.run(f.ingress, packet({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: sport }));
          expect(rr.retval).toBe(TcAct.REDIRECT);
          expectPacket(rr.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.clientMac, saddr: vip, daddr: f.client, sport: 80, dport: sport }), 'reply from the external address');
          // Local backend: DNAT only (the client address kept), the pod's reply from the external address.
          const lr = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: vip, sport: 40051, dport: 443 }));
          expect(lr.retval).toBe(TcAct.REDIRECT);
          expectPacket(lr.data, packet({ ttl: FORWARDED_TTL, smac: NET.vethMac, dmac: NET.podMac, saddr: f.client, daddr: f.pod, sport: 40051, dport: NET.backendPort }), 'to the local backend');
          const back = bench.run(f.fromPod, packet({ smac: NET.podMac, dmac: NET.vethMac, saddr: f.pod, daddr: f.client, sport: NET.backendPort, dport: 40051 }));
          expect(back.retval).toBe(TcAct.REDIRECT);
          expectPacket(back.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.clientMac, saddr: vip, daddr: f.client, sport: 443, dport: 40051 }), 'local reply from the external address');
          // externalTrafficPolicy=Local on the external address: only the local backend, source kept.
          addService(bench, f.v6, { revNatIndex: 54, port: 9443, address: vip, externalLocal: true, backends: [{ id: 54, address: f.remote, port: NET.backendPort }, { id: 55, address: f.pod, port: NET.backendPort, local: true }] });
          for (let i = 0; i < 6; i++) {
            const el = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: vip, sport: 40060 + i, dport: 9443 }));
            expect(el.retval).toBe(TcAct.REDIRECT);
            expectPacket(el.data, packet({ ttl: FORWARDED_TTL, smac: NET.vethMac, dmac: NET.podMac, saddr: f.client, daddr: f.pod, sport: 40060 + i, dport: NET.backendPort }), `Local-policy flow ${i} to the external address`);
          }
          // Another port of the address, and a ClusterIP frontend at it: not ours, untouched, no state.
          const flows = table(bench, f.flows).entries().length;
          for (const dport of [81, 8443]) {
            const other = packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: vip, sport: 40052, dport });
            const o = bench.run(f.ingress, other);
            expect(o.retval, `port ${dport}`).toBe(TcAct.OK);
            expectPacket(o.data, other, `port ${dport} passes untouched`);
          }
          expect(table(bench, f.flows).entries().length).toBe(flows);
        }));

      it(`${target} ${f.name}: a flow is reused only while its frontend and backend are the same (Service re-created, backend replaced)`, () =>
        withBench(target, (bench) => {
          const [services, revNat] = f.v6 ? [services6, revNat6] : [services4, revNat4];
          const wipe = (ids: number[]) => {
            for (const [k] of table(bench, services).entries()) table(bench, services).delete(k);
            for (const [k] of table(bench, revNat).entries()) table(bench, revNat).delete(k);
            for (const id of ids) table(bench, f.v6 ? backends6 : backends4).delete(id);
          };
          const sport = 40070;
          const req = () => bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport, dport: NET.nodePort }));
          const reply = () => bench.run(f.ingress, packet({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: sport }));
          const toRemote = packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport, dport: NET.backendPort });
          const toClient = packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.clientMac, saddr: f.node, daddr: f.client, sport: NET.nodePort, dport: sport });
          addService(bench, f.v6, { revNatIndex: 61, backends: [{ id: 61, address: f.remote, port: NET.backendPort }] });
          expectPacket(req().data, toRemote, 'first flow');
          expectPacket(reply().data, toClient, 'first reply');
          // The Service deleted and created again: a new reverse-NAT index, a new backend id at the same address.
          wipe([61]);
          addService(bench, f.v6, { revNatIndex: 62, backends: [{ id: 62, address: f.remote, port: NET.backendPort }] });
          expectPacket(req().data, toRemote, 'same tuple after the re-creation');
          expect(table(bench, f.flows).entries().map(([, v]) => [v.revNatIndex, v.backendId])).toEqual([[62, 62]]);
          expectPacket(reply().data, toClient, 'its reply restores the frontend (index 62)');
          // The backend replaced by a local pod: the same tuple goes to the pod, and back to a remote one after that.
          wipe([62]);
          addService(bench, f.v6, { revNatIndex: 63, backends: [{ id: 63, address: f.pod, port: NET.backendPort, local: true }] });
          expectPacket(req().data, packet({ ttl: FORWARDED_TTL, smac: NET.vethMac, dmac: NET.podMac, saddr: f.client, daddr: f.pod, sport, dport: NET.backendPort }), 'to the new local backend');
          wipe([63]);
          addService(bench, f.v6, { revNatIndex: 64, backends: [{ id: 64, address: f.remote, port: NET.backendPort }] });
          expectPacket(req().data, toRemote, 'back to a remote backend (the local flag cleared)');
          expect(table(bench, f.flows).entries().map(([, v]) => [v.revNatIndex, v.backendId, v.flags])).toEqual([[64, 64, 0]]);
          expectPacket(reply().data, toClient, 'and its reply');
          // An unchanged Service keeps the flow: the stored creation time stays.
          const created = table(bench, f.flows).entries()[0]![1].created;
          req();
          expect(table(bench, f.flows).entries()[0]![1].created).toBe(created);
        }));

      it(`${target} ${f.name}: the node is a router hop — TTL / hop limit down by one, the last hop dropped and counted`, () =>
        withBench(target, (bench) => {
          addService(bench, f.v6, { revNatIndex: REV, backends: [{ id: 41, address: f.remote, port: NET.backendPort }] });
          addService(bench, f.v6, { revNatIndex: REV + 1, port: 30083, backends: [{ id: 42, address: f.pod, port: NET.backendPort, local: true }] });
          const to = (dport: number, sport: number, ttl: number) => packet({ ttl, smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport, dport });
          // TTL 2 leaves with 1, to a remote backend (SNAT) and to a local one.
          const remote = bench.run(f.ingress, to(NET.nodePort, 40020, 2));
          expect(remote.retval).toBe(TcAct.REDIRECT);
          const snatPort = 40020; // free in the SNAT range: kept
          expectPacket(remote.data, packet({ ttl: 1, smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport: snatPort, dport: NET.backendPort }), 'TTL 2 to the remote backend');
          const local = bench.run(f.ingress, to(30083, 40021, 2));
          expect(local.retval).toBe(TcAct.REDIRECT);
          expectPacket(local.data, packet({ ttl: 1, smac: NET.vethMac, dmac: NET.podMac, saddr: f.client, daddr: f.pod, sport: 40021, dport: NET.backendPort }), 'TTL 2 to the local backend');
          const snatBefore = table(bench, f.snat).entries().length;
          // TTL 1 (and 0) would leave with 0: dropped untouched, no SNAT state, counted.
          for (const [i, ttl] of [1, 0].entries()) {
            const last = to(NET.nodePort, 40030 + i, ttl);
            const r = bench.run(f.ingress, last);
            expect(r.retval, `TTL ${ttl}`).toBe(TcAct.SHOT);
            expectPacket(r.data, last, `TTL ${ttl} dropped untouched`);
          }
          expect(counter(bench, npDrops, NpDrop.TTL_EXCEEDED)).toBe(2n);
          expect(table(bench, f.snat).entries().length).toBe(snatBefore);
          // A reply with TTL 1 is not forwarded either; with TTL 2 it leaves with 1.
          const reply = (ttl: number) => packet({ ttl, smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: snatPort });
          expect(bench.run(f.ingress, reply(1)).retval).toBe(TcAct.SHOT);
          expect(counter(bench, npDrops, NpDrop.TTL_EXCEEDED)).toBe(3n);
          const rr = bench.run(f.ingress, reply(2));
          expect(rr.retval).toBe(TcAct.REDIRECT);
          expectPacket(rr.data, packet({ ttl: 1, smac: NET.nodeMac, dmac: NET.clientMac, saddr: f.node, daddr: f.client, sport: NET.nodePort, dport: 40020 }), 'reply with TTL 2');
          // TTL 1 to a port of the node that is not a NodePort is the node's own packet.
          const own = to(30999, 40040, 1);
          const o = bench.run(f.ingress, own);
          expect(o.retval).toBe(TcAct.OK);
          expectPacket(o.data, own, 'TTL 1 to the node itself passes untouched');
        }));

      it(`${target} ${f.name}: no backends, unknown port, not the node address, externalTrafficPolicy=Local`, () =>
        withBench(target, (bench) => {
          addService(bench, f.v6, { revNatIndex: REV, backends: [] });
          const req = packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport: 40005, dport: NET.nodePort });
          const r = bench.run(f.ingress, req);
          expect(r.retval).toBe(TcAct.SHOT);
          expectPacket(r.data, req, 'dropped untouched');
          expect(counter(bench, npDrops, NpDrop.NO_BACKEND)).toBe(1n);
          for (const other of [
            packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport: 40005, dport: 30999 }),
            packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.remote, sport: 40005, dport: NET.nodePort }),
          ]) {
            const o = bench.run(f.ingress, other);
            expect(o.retval).toBe(TcAct.OK);
            expectPacket(o.data, other, 'passed untouched');
          }
          // Local policy with only a remote backend: nothing to send to.
          addService(bench, f.v6, { revNatIndex: REV, port: 30081, externalLocal: true, backends: [{ id: 31, address: f.remote, port: NET.backendPort }] });
          const lr = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport: 40006, dport: 30081 }));
          expect(lr.retval).toBe(TcAct.SHOT);
          expect(counter(bench, npDrops, NpDrop.NO_BACKEND)).toBe(2n);
          // Local policy with a local and a remote backend: always the local one, never SNAT.
          addService(bench, f.v6, { revNatIndex: REV + 1, port: 30082, externalLocal: true, backends: [{ id: 32, address: f.remote, port: NET.backendPort }, { id: 33, address: f.pod, port: NET.backendPort, local: true }] });
          for (let i = 0; i < 8; i++) {
            const sport = 41000 + i;
            const lo = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport, dport: 30082 }));
            expect(lo.retval).toBe(TcAct.REDIRECT);
            expectPacket(lo.data, packet({ ttl: FORWARDED_TTL, smac: NET.vethMac, dmac: NET.podMac, saddr: f.client, daddr: f.pod, sport, dport: NET.backendPort }), `local-policy flow ${i}`);
          }
          expect(table(bench, f.snat).entries().every(([, e]) => e.flags === SNAT_FLAG_NO_SNAT)).toBe(true);
          // A slot naming a backend that is gone: dropped and counted.
          addService(bench, f.v6, { revNatIndex: REV + 2, port: 30083, backends: [{ id: 41, address: f.remote, port: NET.backendPort }] });
          table(bench, f.v6 ? backends6 : backends4).delete(41);
          const gone = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport: 40009, dport: 30083 }));
          expect(gone.retval).toBe(TcAct.SHOT);
          // The agent's view of the same counters.
          expect(dropCounters(bench.obj)).toEqual({ NO_BACKEND: 2n, BACKEND_GONE: 1n, NO_ENDPOINT: 0n, SNAT_EXHAUSTED: 0n, FIB_FAILED: 0n, NO_NEIGH: 0n, NO_CONFIG: 0n, TTL_EXCEEDED: 0n });
        }));

      it(`${target} ${f.name}: SNAT collides with a host flow (registered on egress): the next candidate is taken, the host flow's replies pass`, () =>
        withBench(target, (bench) => {
          addService(bench, f.v6, { revNatIndex: REV, backends: [{ id: 21, address: f.remote, port: NET.backendPort }] });
          const sport = 40003;
          const snat = table(bench, f.snat);
          // The node itself talks to the backend from node:40003; its egress registers the port.
          const hostOut = packet({ smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport, dport: NET.backendPort });
          const eg = bench.run(f.egress, hostOut);
          expect(eg.retval).toBe(TcAct.OK);
          expectPacket(eg.data, hostOut, 'host packet leaves untouched');
          const hostKey = { saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: sport, proto: IPPROTO_TCP, dir: SNAT_DIR_IN };
          expect(snat.get(hostKey)).toMatchObject({ addr: f.node, port: sport, revNatIndex: 0, flags: SNAT_FLAG_HOST });
          expect(counter(bench, npPaths, NpPath.HOST_FLOW)).toBe(1n);
          // Packets from other addresses or outside the SNAT range register nothing.
          bench.run(f.egress, packet({ smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport: 22, dport: NET.backendPort }));
          bench.run(f.egress, packet({ smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.client, daddr: f.remote, sport: 40100, dport: NET.backendPort }));
          expect(snat.entries()).toHaveLength(1);

          const port = hashedPort(sport, 32768, 65535);
          const r = bench.runMarked(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport, dport: NET.nodePort }), KUBE_PROXY_MASQ_MARK);
          expect(r.retval).toBe(TcAct.REDIRECT);
          // Marked for the egress program, the packet's other mark bits kept.
          expect(r.mark).toBe(KUBE_PROXY_MASQ_MARK | NP_MARK_FORWARDED);
          expectPacket(r.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport: port, dport: NET.backendPort }), 'request on the next port');
          expect(counter(bench, snatRetries, 0)).toBe(0n);
          expect(counter(bench, snatRetries, 1)).toBe(1n);
          expect(snat.get(hostKey)).toMatchObject({ addr: f.node, port: sport, flags: SNAT_FLAG_HOST });
          const hostReply = packet({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: sport });
          const hr = bench.run(f.ingress, hostReply);
          expect(hr.retval).toBe(TcAct.OK);
          expectPacket(hr.data, hostReply, 'host flow reply passes untouched');
          const rr = bench.run(f.ingress, packet({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: port }));
          expect(rr.retval).toBe(TcAct.REDIRECT);
          expectPacket(rr.data, packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.clientMac, saddr: f.node, daddr: f.client, sport: NET.nodePort, dport: sport }), 'NodePort reply');

          // A host flow on the port the NodePort flow holds: counted, the NodePort entry stays.
          const clash = bench.run(f.egress, packet({ smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport: port, dport: NET.backendPort }));
          expect(clash.retval).toBe(TcAct.OK);
          expect(counter(bench, npPaths, NpPath.HOST_CLASH)).toBe(1n);
          expect(snat.get({ ...hostKey, dport: port })).toMatchObject({ addr: f.client, port: sport, revNatIndex: REV, flags: 0 });
          // The same tuple as NodePort's own redirected packet (marked): not a host flow — passes, counts nothing, the bit is cleared.
          const own = bench.runMarked(f.egress, packet({ smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport: port, dport: NET.backendPort }), KUBE_PROXY_MASQ_MARK | NP_MARK_FORWARDED);
          expect(own.retval).toBe(TcAct.OK);
          expect(own.mark).toBe(KUBE_PROXY_MASQ_MARK);
          expect([counter(bench, npPaths, NpPath.HOST_CLASH), counter(bench, npPaths, NpPath.HOST_FLOW)]).toEqual([1n, 1n]);
        }));
    }
  }
});

/** bpf_redirect_neigh arrived in 5.10. */
function hasRedirectNeigh(target: string): boolean {
  const [maj, min] = target.split('.').map(Number) as [number, number];
  return maj > 5 || (maj === 5 && min >= 10);
}
