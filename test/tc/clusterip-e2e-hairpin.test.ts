/**
 * Hairpin end to end: a pod whose service's only backend is the pod itself
 * connects to the service (TCP and UDP, IPv4 and IPv6). The from-pod program
 * rewrites the source to the loopback address and sends the packet back out of
 * the veth it came in on (bpf_redirect), the pod's reply to the loopback address
 * is reverse-NATed and redirected the same way; the pod's server sees the
 * loopback address as its peer and the client sees the frontend. netlink tc for
 * the 4.19 build, tcx for 6.6.
 */
import { describe, expect, it } from 'vitest';
import { HAIRPIN_IPV4, HAIRPIN_IPV6 } from '../../programs/tc/parse-family.js';
import { need } from '../support/env.js';
import type { BuildName } from './clusterip-harness.js';
import { podTraffic, withClusterIpRun, type AttachMode } from './clusterip-e2e-run.js';

const ok = need({ kernel: true, tools: ['ip', 'tc'] });
const COUNT = 4;

describe.skipIf(!ok)('ClusterIP hairpin end to end', () => {
  for (const [build, mode] of [['4.19', 'netlink'], ['6.6', 'tcx']] as [BuildName, AttachMode][]) {
    it(`${build} (${mode}): a pod reaches itself through its service`, () =>
      withClusterIpRun(build, mode, async ({ topo, dp, attachFor, serve }) => {
        for (const [vip, pod] of [['10.96.0.60', topo.podAddr4], ['fd00:96::60', topo.podAddr6]] as const) {
          dp.addService({ vip, port: 80, proto: 'tcp', revNatIndex: 61, backends: [{ id: 61, address: pod, port: 8080 }] });
          dp.addService({ vip, port: 53, proto: 'udp', revNatIndex: 62, backends: [{ id: 62, address: pod, port: 5353 }] });
        }
        attachFor('hairpin');
        await serve(topo.pod);
        for (const [vip, loopback] of [['10.96.0.60', HAIRPIN_IPV4], ['fd00:96::60', HAIRPIN_IPV6]] as const) {
          const got = await podTraffic(topo.pod, vip, COUNT);
          expect(got.tcp).toEqual(Array.from({ length: COUNT }, (_, i) => ({ ok: true, data: `pong:ping-${i}:${loopback}`, peer: `${vip}:80` })));
          expect(got.udp).toEqual(Array.from({ length: COUNT }, (_, i) => ({ data: `pong:dgram-${i}:${loopback}`, peer: `${vip}:53` })));
        }
      }), 60_000);
  }
});
