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
import { attachTc } from '../../loader/links/index.js';
import { need } from '../support/env.js';
import { runBounded } from '../support/netns.js';
import { loadDatapath, type BuildName } from './clusterip-harness.js';
import { createClusterIpTopology, UDP_ERROR_CLIENT } from './clusterip-e2e-topology.js';

const ok = need({ kernel: true, tools: ['ip', 'tc'] });

describe.skipIf(!ok)('ClusterIP ICMP errors end to end', () => {
  const cases: [BuildName, 'netlink' | 'tcx', 'local' | 'remote'][] = [['4.19', 'netlink', 'local'], ['6.6', 'tcx', 'remote']];
  for (const [build, mode, where] of cases) {
    it(`${build} (${mode}), ${where} backend: port unreachable reaches the pod's socket`, async () => {
      const topo = createClusterIpTopology();
      const dp = loadDatapath(build);
      const links: { close(): void }[] = [];
      try {
        for (const [vip, backend] of [['10.96.0.70', topo.backendAddr4], ['fd00:96::70', topo.backendAddr6]] as const)
          dp.addService({ vip, port: 54, proto: 'udp', revNatIndex: 71, backends: [{ id: 71, address: backend, port: 5454 }] });
        const prog = dp.obj.program('tc_clusterip');
        links.push(attachTc(prog, { iface: topo.podVeth, netns: topo.node, direction: 'ingress', mode }));
        if (where === 'local') links.push(attachTc(prog, { iface: topo.backendVeth, netns: topo.node, direction: 'ingress', mode }));
        else links.push(attachTc(dp.obj.program('tc_clusterip_to_pod'), { iface: topo.podVeth, netns: topo.node, direction: 'egress', mode }));
        for (const vip of ['10.96.0.70', 'fd00:96::70']) {
          const r = await runBounded(['ip', 'netns', 'exec', topo.pod, process.execPath, '-e', UDP_ERROR_CLIENT, vip, '54'], 10_000);
          expect(r.stdout.trim(), `${vip}: ${r.stderr}`).toBe('error:ECONNREFUSED');
        }
      } finally {
        for (const l of links) l.close();
        dp.close();
        topo.cleanup();
      }
    }, 60_000);
  }
});
