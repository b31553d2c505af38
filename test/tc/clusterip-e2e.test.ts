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
import { need } from '../support/env.js';
import type { BuildName } from './clusterip-harness.js';
import { podTraffic, withClusterIpRun, type AttachMode } from './clusterip-e2e-run.js';

const ok = need({ kernel: true, tools: ['ip', 'tc'] });
const COUNT = 8;

describe.skipIf(!ok)('ClusterIP end to end (namespaces, real sockets)', () => {
  const cases: [BuildName, AttachMode, 'local' | 'remote'][] = [
    ['4.19', 'netlink', 'local'], ['4.19-split', 'netlink', 'remote'], ['6.6', 'tcx', 'local'], ['6.6', 'tcx', 'remote'],
  ];
  for (const [build, mode, where] of cases) {
    it(`${build} (${mode}), ${where} backend: TCP and UDP through the service, IPv4 and IPv6`, () =>
      withClusterIpRun(build, mode, async ({ topo, dp, attachFor, serve }) => {
        for (const [vip, backend] of [['10.96.0.10', topo.backendAddr4], ['fd00:96::10', topo.backendAddr6]] as const) {
          dp.addService({ vip, port: 80, proto: 'tcp', revNatIndex: 1, backends: [{ id: 1, address: backend, port: 8080 }] });
          dp.addService({ vip, port: 53, proto: 'udp', revNatIndex: 2, backends: [{ id: 2, address: backend, port: 5353 }] });
        }
        attachFor(where);
        await serve(topo.backend);
        for (const [vip, pod, shown] of [['10.96.0.10', topo.podAddr4, '10.96.0.10'], ['fd00:96::10', topo.podAddr6, 'fd00:96::10']] as const) {
          const r = await podTraffic(topo.pod, vip, COUNT);
          expect(r.tcp).toEqual(Array.from({ length: COUNT }, (_, i) => ({ ok: true, data: `pong:ping-${i}:${pod}`, peer: `${shown}:80` })));
          expect(r.udp).toEqual(Array.from({ length: COUNT }, (_, i) => ({ data: `pong:dgram-${i}:${pod}`, peer: `${shown}:53` })));
        }
        expect(dp.ctCount(false)).toBeGreaterThan(0);
        expect(dp.ctCount(true)).toBeGreaterThan(0);
      }), 60_000);
  }
});
