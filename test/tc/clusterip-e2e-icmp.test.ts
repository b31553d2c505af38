/**
 * ICMP errors through the NAT end to end: a pod's connected UDP socket sends to
 * a service whose backend has nothing listening on the port; the backend's
 * kernel answers with port unreachable about the DNATed datagram, the datapath
 * translates it (embedded destination back to the frontend) and the pod's
 * socket gets ECONNREFUSED — which it only does when the embedded packet
 * matches what the socket sent. IPv4 and IPv6, a local backend (translated as
 * it leaves the backend's veth) and a remote one (on the client's veth egress).
 */
import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { runBounded } from '../support/netns.js';
import type { BuildName } from './clusterip-harness.js';
import { UDP_ERROR_CLIENT } from './clusterip-e2e-topology.js';
import { withClusterIpRun, type AttachMode } from './clusterip-e2e-run.js';

const ok = need({ kernel: true, tools: ['ip', 'tc'] });

describe.skipIf(!ok)('ClusterIP ICMP errors end to end', () => {
  const cases: [BuildName, AttachMode, 'local' | 'remote'][] = [['4.19', 'netlink', 'local'], ['6.6', 'tcx', 'remote']];
  for (const [build, mode, where] of cases) {
    it(`${build} (${mode}), ${where} backend: port unreachable reaches the pod's socket`, () =>
      withClusterIpRun(build, mode, async ({ topo, dp, attachFor }) => {
        for (const [vip, backend] of [['10.96.0.70', topo.backendAddr4], ['fd00:96::70', topo.backendAddr6]] as const)
          dp.addService({ vip, port: 54, proto: 'udp', revNatIndex: 71, backends: [{ id: 71, address: backend, port: 5454 }] });
        attachFor(where);
        for (const vip of ['10.96.0.70', 'fd00:96::70']) {
          const r = await runBounded(['ip', 'netns', 'exec', topo.pod, process.execPath, '-e', UDP_ERROR_CLIENT, vip, '54'], 10_000);
          expect(r.stdout.trim(), `${vip}: ${r.stderr}`).toBe('error:ECONNREFUSED');
        }
      }), 60_000);
  }
});
