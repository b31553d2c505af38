/**
 * NodePort end to end with real sockets across two "nodes" (network
 * namespaces on a bridge, see nodeport-e2e-topology.ts): a client outside the
 * cluster connects to node A's address at a NodePort and gets
 * - the local backend (DNAT + redirect to its veth; the pod sees the client),
 * - the remote backend on node B (SNAT to node A's address, FIB lookup,
 *   redirect out of the native device; the pod sees node A),
 * - with externalTrafficPolicy=Local only the local backend, client source kept,
 * - nothing from a service without backends (dropped, counted),
 * and every answer comes back from node A's address and the NodePort. A pod on
 * node A whose socket LB is off reaches a ClusterIP service on node B through
 * the pod-side tc ClusterIP programs (their service tables shared with
 * NodePort's through the pins). TCP and UDP, IPv4 and IPv6; the 6.6 build
 * attached with tcx, the 4.19 build (IPv6 ingress split into tail calls) with
 * netlink tc. Traffic is bounded: a few connections, time limits everywhere.
 */
import { describe, expect, it } from 'vitest';
import { attachTc } from '../../loader/links/index.js';
import { dropCounters, pathCounters } from '../../programs/tc/nodeport-agent.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { loadDatapath } from './clusterip-harness.js';
import { attachNodePort, buildNodePort, E2E_BUILDS, loadNodePort, writeNodePortService, type E2eLink } from './nodeport-e2e-datapath.js';
import { ADDRS, createNodePortTopology, runClient, startBackend, type Backend } from './nodeport-e2e-topology.js';

const ok = need({ kernel: true, tools: ['ip'] });
const COUNT = 6;

describe.skipIf(!ok)('NodePort end to end (two nodes in namespaces, real sockets)', () => {
  for (const { build, mode } of E2E_BUILDS) {
    for (const v6 of [false, true]) {
      const fam = v6 ? ADDRS.v6 : ADDRS.v4;
      it(`${build} (${mode}), IPv${v6 ? 6 : 4}: local, remote, Local policy, no backend; ClusterIP from a pod`, async () => {
        const topo = createNodePortTopology();
        const pins = createPinDir('tcnpe2e');
        const closers: { close(): void }[] = [];
        const servers: Backend[] = [];
        try {
          if (build === '4.19' && v6) expect(buildNodePort(build).object.programs.map((p) => p.name)).toContain('np6_ingress__1');
          const obj = loadNodePort(build, pins, topo);
          closers.push(obj);
          const { native, fromPod } = attachNodePort(obj, topo, v6, mode);
          closers.push(native, fromPod);
          const A = { id: 1, address: fam.podA, port: 8080, local: true };
          const B = { id: 2, address: fam.podB, port: 8080, local: false };
          const A53 = { ...A, id: 3, port: 5353 };
          const B53 = { ...B, id: 4, port: 5353 };
          writeNodePortService(obj, v6, { port: 30080, proto: 'tcp', revNatIndex: 1, backends: [A] });
          writeNodePortService(obj, v6, { port: 30080, proto: 'udp', revNatIndex: 2, backends: [A53] });
          writeNodePortService(obj, v6, { port: 30081, proto: 'tcp', revNatIndex: 3, backends: [B] });
          writeNodePortService(obj, v6, { port: 30081, proto: 'udp', revNatIndex: 4, backends: [B53] });
          writeNodePortService(obj, v6, { port: 30082, proto: 'tcp', revNatIndex: 5, backends: [B, A, B], externalLocal: true });
          writeNodePortService(obj, v6, { port: 30083, proto: 'tcp', revNatIndex: 6, backends: [] });

          // The ClusterIP datapath shares the service tables (same pins): the pod's veth on node A.
          const ct = loadDatapath(build, pins);
          closers.push(ct);
          const vip = v6 ? 'fd00:96::10' : '10.96.0.10';
          ct.addService({ vip, port: 80, proto: 'tcp', revNatIndex: 20, backends: [{ id: 20, address: fam.podB, port: 8080 }] });
          ct.addService({ vip, port: 53, proto: 'udp', revNatIndex: 21, backends: [{ id: 21, address: fam.podB, port: 5353 }] });
          closers.push(attachTc(ct.obj.program('tc_clusterip'), { iface: topo.cpodVeth, netns: topo.nodeA, direction: 'ingress', mode }) as unknown as E2eLink);
          closers.push(attachTc(ct.obj.program('tc_clusterip_to_pod'), { iface: topo.cpodVeth, netns: topo.nodeA, direction: 'egress', mode }) as unknown as E2eLink);

          servers.push(await startBackend(topo.podA, 'A'), await startBackend(topo.podB, 'B'));
          const expectTcp = (r: { tcp: unknown[] }, name: string, seen: string, port: number) =>
            expect(r.tcp).toEqual(Array.from({ length: COUNT }, (_, i) => expect.objectContaining({ ok: true, data: `pong:${name}:ping-${i}:${seen}`, peer: `${fam.nodeA}:${port}` })));
          const expectUdp = (r: { udp: unknown[] }, name: string, seen: string, peer: string) =>
            expect(r.udp).toEqual(Array.from({ length: COUNT }, (_, i) => ({ data: `pong:${name}:dgram-${i}:${seen}`, peer })));

          const local = await runClient(topo.client, fam.nodeA, { tcpPort: 30080, udpPort: 30080, count: COUNT });
          expectTcp(local, 'A', fam.client, 30080);
          expectUdp(local, 'A', fam.client, `${fam.nodeA}:30080`);

          const remote = await runClient(topo.client, fam.nodeA, { tcpPort: 30081, udpPort: 30081, count: COUNT });
          expectTcp(remote, 'B', fam.nodeA, 30081);
          expectUdp(remote, 'B', fam.nodeA, `${fam.nodeA}:30081`);
          const paths = pathCounters(obj);
          expect(paths.FIB).toBeGreaterThan(0n);

          const localPolicy = await runClient(topo.client, fam.nodeA, { tcpPort: 30082, count: COUNT });
          expectTcp(localPolicy, 'A', fam.client, 30082);

          const before = dropCounters(obj).NO_BACKEND;
          const none = await runClient(topo.client, fam.nodeA, { tcpPort: 30083, count: 2, timeoutMs: 700 });
          expect(none.tcp.map((t) => [t.ok, t.code])).toEqual([[false, 'TIMEOUT'], [false, 'TIMEOUT']]);
          expect(dropCounters(obj).NO_BACKEND - before).toBeGreaterThanOrEqual(2n);

          const cluster = await runClient(topo.cpod, vip, { tcpPort: 80, udpPort: 53, count: COUNT });
          expect(cluster.tcp).toEqual(Array.from({ length: COUNT }, (_, i) => expect.objectContaining({ ok: true, data: `pong:B:ping-${i}:${fam.cpod}`, peer: `${vip}:80` })));
          expectUdp(cluster, 'B', fam.cpod, `${vip}:53`);
          expect(ct.ctCount(v6)).toBeGreaterThan(0);
        } finally {
          for (const s of servers) await s.stop();
          for (const c of closers.reverse()) c.close();
          topo.cleanup();
          pins.cleanup();
        }
      }, 90_000);
    }
  }
});
