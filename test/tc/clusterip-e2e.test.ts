/**
 * ClusterIP end to end with real sockets: a pod without socket LB connects to a
 * service address; the datapath on the node-side veths of the pod and of the
 * backend DNATs the requests and reverse-NATs the replies (TCP and UDP, IPv4
 * and IPv6), so the pod talks to the frontend and the backend sees the pod.
 * A local backend has the datapath on its own veth; for a remote one the
 * replies are reverse-NATed by the to-pod program on the client's veth egress.
 * Attached with tcx for the 6.6 build and netlink tc for the 4.19 ones. Traffic
 * is bounded (a few connections and datagrams, time limits on every child).
 */
import { describe, expect, it } from 'vitest';
import { attachTc } from '../../loader/links/index.js';
import { need } from '../support/env.js';
import { runBounded } from '../support/netns.js';
import { loadDatapath, type BuildName } from './clusterip-harness.js';
import { createClusterIpTopology, POD_CLIENT, startBackendServer, type BackendServer } from './clusterip-e2e-topology.js';

const ok = need({ kernel: true, tools: ['ip', 'tc'] });
const COUNT = 8;

interface PodResult {
  readonly tcp: { ok: boolean; data?: string; peer?: string; code?: string }[];
  readonly udp: { data: string; peer: string }[];
}

async function podTraffic(pod: string, host: string): Promise<PodResult> {
  const r = await runBounded(['ip', 'netns', 'exec', pod, process.execPath, '-e', POD_CLIENT, host, '80', '53', String(COUNT)], 20_000);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`pod client gave no result (code ${r.code}, timed out ${r.timedOut}): ${r.stderr}`);
  return JSON.parse(line) as PodResult;
}

describe.skipIf(!ok)('ClusterIP end to end (namespaces, real sockets)', () => {
  const cases: [BuildName, 'netlink' | 'tcx', 'local' | 'remote'][] = [
    ['4.19', 'netlink', 'local'], ['4.19-split', 'netlink', 'remote'], ['6.6', 'tcx', 'local'], ['6.6', 'tcx', 'remote'],
  ];
  for (const [build, mode, where] of cases) {
    it(`${build} (${mode}), ${where} backend: TCP and UDP through the service, IPv4 and IPv6`, async () => {
      const topo = createClusterIpTopology();
      const dp = loadDatapath(build);
      const links: { close(): void }[] = [];
      let server: BackendServer | undefined;
      try {
        for (const [vip, backend] of [['10.96.0.10', topo.backendAddr4], ['fd00:96::10', topo.backendAddr6]] as const) {
          dp.addService({ vip, port: 80, proto: 'tcp', revNatIndex: 1, backends: [{ id: 1, address: backend, port: 8080 }] });
          dp.addService({ vip, port: 53, proto: 'udp', revNatIndex: 2, backends: [{ id: 2, address: backend, port: 5353 }] });
        }
        const prog = dp.obj.program('tc_clusterip');
        links.push(attachTc(prog, { iface: topo.podVeth, netns: topo.node, direction: 'ingress', mode }));
        // A local backend runs the datapath on its own veth (replies reverse-NATed as they leave it); a
        // remote one does not, and the client pod's to-pod program reverse-NATs them on their way in.
        if (where === 'local') links.push(attachTc(prog, { iface: topo.backendVeth, netns: topo.node, direction: 'ingress', mode }));
        else links.push(attachTc(dp.obj.program('tc_clusterip_to_pod'), { iface: topo.podVeth, netns: topo.node, direction: 'egress', mode }));
        server = startBackendServer(topo.backend);
        await server.ready;
        for (const [vip, pod, shown] of [['10.96.0.10', topo.podAddr4, '10.96.0.10'], ['fd00:96::10', topo.podAddr6, 'fd00:96::10']] as const) {
          const r = await podTraffic(topo.pod, vip);
          expect(r.tcp).toEqual(Array.from({ length: COUNT }, (_, i) => ({ ok: true, data: `pong:ping-${i}:${pod}`, peer: `${shown}:80` })));
          expect(r.udp).toEqual(Array.from({ length: COUNT }, (_, i) => ({ data: `pong:dgram-${i}:${pod}`, peer: `${shown}:53` })));
        }
        expect(dp.ctCount(false)).toBeGreaterThan(0);
        expect(dp.ctCount(true)).toBeGreaterThan(0);
      } finally {
        await server?.stop();
        for (const l of links) l.close();
        dp.close();
        topo.cleanup();
      }
    }, 60_000);
  }
});
