/**
 * A dual-stack node: the IPv4 and the IPv6 NodePort programs attached one
 * after the other on the same hooks of node A (native device ingress, the
 * local backend's veth ingress). Each passes the other family's packets on to
 * the next program (TC_ACT_UNSPEC: tcx's "next", cls_bpf's "continue"), so
 * NodePort works for both families whichever is attached first: real TCP and
 * UDP from the outside client to the local and the remote backend. 6.6 with
 * tcx, 4.19 with netlink tc (two cls_bpf filters at different priorities).
 */
import { describe, expect, it } from 'vitest';
import { attachTc } from '../../loader/links/index.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { E2E_BUILDS, loadNodePort, writeNodePortService, type E2eLink } from './nodeport-e2e-datapath.js';
import { ADDRS, createNodePortTopology, runClient, startBackend, type Backend } from './nodeport-e2e-topology.js';

const ok = need({ kernel: true, tools: ['ip'] });
const COUNT = 4;

describe.skipIf(!ok)('NodePort end to end on a dual-stack node (both families on one device)', () => {
  for (const { build, mode } of E2E_BUILDS) {
    it(`${build} (${mode}): IPv4 and IPv6 NodePort through the same hooks, local and remote backends`, async () => {
      const topo = createNodePortTopology();
      const pins = createPinDir('tcnpdual');
      const closers: { close(): void }[] = [];
      const servers: Backend[] = [];
      try {
        const obj = loadNodePort(build, pins, topo);
        closers.push(obj);
        // IPv4 first on the native device, IPv6 first on the veth: either order must work.
        const order = [[topo.native.ifname, ['np4_ingress', 'np6_ingress']], [topo.podAVeth.ifname, ['np6_from_pod', 'np4_from_pod']]] as const;
        for (const [iface, progs] of order)
          progs.forEach((p, i) => closers.push(attachTc(obj.program(p), { iface, netns: topo.nodeA, direction: 'ingress', mode, priority: i + 1 }) as unknown as E2eLink));
        for (const [v6, fam] of [[false, ADDRS.v4], [true, ADDRS.v6]] as const) {
          writeNodePortService(obj, v6, { port: 30080, proto: 'tcp', revNatIndex: 1, backends: [{ id: 1, address: fam.podA, port: 8080, local: true }] });
          writeNodePortService(obj, v6, { port: 30080, proto: 'udp', revNatIndex: 2, backends: [{ id: 2, address: fam.podA, port: 5353, local: true }] });
          writeNodePortService(obj, v6, { port: 30081, proto: 'tcp', revNatIndex: 3, backends: [{ id: 3, address: fam.podB, port: 8080, local: false }] });
          writeNodePortService(obj, v6, { port: 30081, proto: 'udp', revNatIndex: 4, backends: [{ id: 4, address: fam.podB, port: 5353, local: false }] });
        }
        servers.push(await startBackend(topo.podA, 'A'), await startBackend(topo.podB, 'B'));
        for (const fam of [ADDRS.v4, ADDRS.v6]) {
          for (const [port, name, seen] of [[30080, 'A', fam.client], [30081, 'B', fam.nodeA]] as const) {
            const r = await runClient(topo.client, fam.nodeA, { tcpPort: port, udpPort: port, count: COUNT });
            expect(r.tcp, `${fam.nodeA}:${port}`).toEqual(Array.from({ length: COUNT }, (_, i) => expect.objectContaining({ ok: true, data: `pong:${name}:ping-${i}:${seen}`, peer: `${fam.nodeA}:${port}` })));
            expect(r.udp, `${fam.nodeA}:${port} udp`).toEqual(Array.from({ length: COUNT }, (_, i) => ({ data: `pong:${name}:dgram-${i}:${seen}`, peer: `${fam.nodeA}:${port}` })));
          }
        }
      } finally {
        for (const s of servers) await s.stop();
        for (const c of closers.reverse()) c.close();
        topo.cleanup();
        pins.cleanup();
      }
    }, 90_000);
  }
});
