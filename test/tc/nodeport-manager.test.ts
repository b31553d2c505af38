/**
 * The NodePort programs on tables the service manager wrote (not by hand):
 * an externalTrafficPolicy=Local NodePort service with two local and one
 * remote backend, run with BPF_PROG_TEST_RUN in the node namespace
 * (nodeport-env.ts). Every new flow goes to a local backend, unSNATed (the
 * client's address reaches the pod), never to the remote one; the same
 * backends under Cluster also reach the remote one, SNATed. Changes made
 * through the manager take effect: a local backend losing its flag is no
 * longer picked, a Local service without local backends drops (unless a
 * draining local one still serves: the fallback picks it), switching to
 * Cluster sends flows out again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcAct } from '../../dsl/kernel/index.js';
import { ServiceManager, mapsOf, type BackendSpec, type ServiceSpec } from '../../programs/lb/index.js';
import { npDrops } from '../../programs/tc/nodeport-maps.js';
import { setLocalEndpoint } from '../../programs/tc/nodeport-agent.js';
import { NpDrop } from '../../programs/tc/nodeport-schemas.js';
import { snat4, snat6 } from '../../programs/tc/snat-maps.js';
import { SNAT_DIR_IN, SNAT_FLAG_NO_SNAT } from '../../programs/tc/snat-schemas.js';
import { need } from '../support/env.js';
import { counter, createNodeNs, loadBench, NET, table, type Bench, type NodeNs } from './nodeport-env.js';
import { expectPacket } from './nodeport-expect.js';
import { FORWARDED_TTL, packet } from './nodeport-packets.js';

const ok = need({ kernel: true });
/** The 4.19 build runs the IPv6 ingress as tail-call pieces; 6.6 as one program. */
const TARGETS = ['4.19', '6.6'] as const;
const FAMILIES = [
  { v6: false, name: 'IPv4', zero: '0.0.0.0', node: NET.node4, client: NET.client4, remote: NET.remote4, pods: [NET.pod4, '10.244.0.6'], ingress: 'np4_ingress', snat: snat4 },
  { v6: true, name: 'IPv6', zero: '::', node: NET.node6, client: NET.client6, remote: NET.remote6, pods: [NET.pod6, 'fd44::6'], ingress: 'np6_ingress', snat: snat6 },
] as const;
const FLOWS = 24;

describe.skipIf(!ok)('NodePort on manager-written tables: externalTrafficPolicy=Local', () => {
  let ns: NodeNs;
  beforeAll(() => {
    ns = createNodeNs();
  });
  afterAll(() => ns?.cleanup());

  for (const target of TARGETS)
    for (const f of FAMILIES)
      it(`${target} ${f.name}: new flows go to local backends only, unSNATed; manager changes take effect`, () => {
        const bench: Bench = loadBench(target, ns);
        try {
          const m = ServiceManager.fromMaps(mapsOf(bench.obj));
          for (const pod of f.pods) setLocalEndpoint(bench.obj, pod, { ifindex: NET.vethIfindex, podMac: NET.podMac, hostMac: NET.vethMac });
          const spec = (port: number, policy: 'Cluster' | 'Local', backends: BackendSpec[]): ServiceSpec => ({
            frontend: { address: f.zero, port, protocol: 'TCP' },
            nodePort: true,
            externalTrafficPolicy: policy,
            backends,
          });
          const all: BackendSpec[] = [
            { address: f.remote, port: NET.backendPort },
            { address: f.pods[0], port: NET.backendPort, local: true },
            { address: f.pods[1], port: NET.backendPort, local: true },
          ];
          const LOCAL_PORT = NET.nodePort;
          const CLUSTER_PORT = NET.nodePort + 1;
          m.apply({ upsert: [spec(LOCAL_PORT, 'Local', all), spec(CLUSTER_PORT, 'Cluster', all)] });
          let sport = 42000;
          /** Sends one new flow's first packet to `port`; returns where it went ('snat:<backend>', 'direct:<pod>', or 'drop'). */
          const flow = (port: number): string => {
            const s = sport++;
            const r = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport: s, dport: port }));
            if (r.retval === TcAct.SHOT) return 'drop';
            expect(r.retval).toBe(TcAct.REDIRECT);
            // Local delivery keeps the client's address; remote delivery is SNATed to the node (the tests of nodeport.test.ts check the bytes in full).
            for (const pod of f.pods) {
              const direct = packet({ ttl: FORWARDED_TTL, smac: NET.vethMac, dmac: NET.podMac, saddr: f.client, daddr: pod, sport: s, dport: NET.backendPort });
              if (Buffer.from(r.data).equals(Buffer.from(direct))) {
                expectPacket(r.data, direct, 'to a local pod');
                const rev = table(bench, f.snat).get({ saddr: pod, daddr: f.client, sport: NET.backendPort, dport: s, proto: 6, dir: SNAT_DIR_IN });
                expect(rev).toMatchObject({ addr: f.client, port: s, flags: SNAT_FLAG_NO_SNAT });
                return `direct:${pod}`;
              }
            }
            const remote = packet({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport: s, dport: NET.backendPort });
            expectPacket(r.data, remote, 'SNATed to the remote backend');
            return `snat:${f.remote}`;
          };
          const spread = (port: number) => {
            const seen = new Map<string, number>();
            for (let i = 0; i < FLOWS; i++) {
              const where = flow(port);
              seen.set(where, (seen.get(where) ?? 0) + 1);
            }
            return [...seen.keys()].sort();
          };

          // Local: both local pods, never the remote backend, never SNAT.
          expect(spread(LOCAL_PORT)).toEqual(f.pods.map((p) => `direct:${p}`).sort());
          // Cluster on the same backends: the remote one too (SNATed), the local ones directly.
          expect(spread(CLUSTER_PORT)).toEqual([...f.pods.map((p) => `direct:${p}`), `snat:${f.remote}`].sort());

          // pods[1] stops being local (the manager rewrites its flag and the INTERNAL slots): only pods[0] is picked.
          m.upsertService(spec(LOCAL_PORT, 'Local', [all[0]!, all[1]!, { address: f.pods[1], port: NET.backendPort }]));
          expect(spread(LOCAL_PORT)).toEqual([`direct:${f.pods[0]}`]);
          // No local backend left: every new flow is dropped as NO_BACKEND.
          const before = counter(bench, npDrops, NpDrop.NO_BACKEND);
          m.upsertService(spec(LOCAL_PORT, 'Local', [all[0]!, { address: f.pods[0], port: NET.backendPort, local: true, terminating: true }]));
          expect(spread(LOCAL_PORT)).toEqual(['drop']);
          expect(counter(bench, npDrops, NpDrop.NO_BACKEND) - before).toBe(BigInt(FLOWS));
          // The same draining local backend still serving: the Local fallback picks it (kube-proxy's), directly.
          m.upsertService(spec(LOCAL_PORT, 'Local', [all[0]!, { address: f.pods[0], port: NET.backendPort, local: true, terminating: true, serving: true }]));
          expect(spread(LOCAL_PORT)).toEqual([`direct:${f.pods[0]}`]);
          // Switched to Cluster: the remote backend takes the flows, SNATed.
          m.upsertService(spec(LOCAL_PORT, 'Cluster', [all[0]!, { address: f.pods[0], port: NET.backendPort, local: true, terminating: true }]));
          expect(spread(LOCAL_PORT)).toEqual([`snat:${f.remote}`]);
          // And back to Local with a local backend: direct again.
          m.upsertService(spec(LOCAL_PORT, 'Local', all));
          expect(spread(LOCAL_PORT)).toEqual(f.pods.map((p) => `direct:${p}`).sort());
        } finally {
          bench.close();
        }
      });
});
