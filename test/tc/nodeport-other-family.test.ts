/**
 * Regression (found by the dual-stack end-to-end test): the IPv4 and IPv6
 * NodePort programs share their hooks on a dual-stack node, so each must hand
 * the other family's packets on with TC_ACT_UNSPEC (tcx "next", cls_bpf
 * "continue") — TC_ACT_OK ended the chain and the second program never ran.
 * For every profile's build (4.19's IPv6 ingress split into tail calls), every
 * program on a NodePort request of the other family that it would translate
 * were it its own: UNSPEC, packet unchanged, nothing counted or recorded.
 * `npX_from_pod` also hands on its own family's packets that are not NodePort
 * replies (a pod's veth carries the tc ClusterIP program after it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcAct } from '../../dsl/kernel/index.js';
import { npFlows4, npFlows6 } from '../../programs/tc/nodeport-maps.js';
import { dropCounters, pathCounters } from '../../programs/tc/nodeport-agent.js';
import { need } from '../support/env.js';
import { addService, createNodeNs, loadBench, NET, PROFILES, table, type NodeNs } from './nodeport-env.js';
import { expectPacket } from './nodeport-expect.js';
import { packet } from './nodeport-packets.js';

const ok = need({ kernel: true });

describe.skipIf(!ok)('NodePort programs pass the other family on to the next program', () => {
  let ns: NodeNs;
  beforeAll(() => {
    ns = createNodeNs();
  });
  afterAll(() => ns?.cleanup());

  for (const target of PROFILES) {
    it(`${target}: np4_* on IPv6 and np6_* on IPv4 return TC_ACT_UNSPEC, untouched`, () => {
      const bench = loadBench(target, ns);
      try {
        for (const v6 of [false, true]) {
          addService(bench, v6, { revNatIndex: 5, backends: [{ id: v6 ? 2 : 1, address: v6 ? NET.remote6 : NET.remote4, port: NET.backendPort }] });
        }
        const req4 = packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: NET.client4, daddr: NET.node4, sport: 40100, dport: NET.nodePort });
        const req6 = packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: NET.client6, daddr: NET.node6, sport: 40100, dport: NET.nodePort });
        const cases = [
          ...['np4_ingress', 'np4_from_pod', 'np4_egress'].map((p) => [p, req6] as const),
          ...['np6_ingress', 'np6_from_pod', 'np6_egress'].map((p) => [p, req4] as const),
        ];
        for (const [prog, pkt] of cases) {
          const r = bench.run(prog, pkt);
          expect(r.retval | 0, prog).toBe(TcAct.UNSPEC);
          expectPacket(r.data, pkt, `${prog} on the other family`);
        }
        expect(table(bench, npFlows4).entries()).toEqual([]);
        expect(table(bench, npFlows6).entries()).toEqual([]);
        expect(Object.values(dropCounters(bench.obj)).every((n) => n === 0n)).toBe(true);
        expect(Object.values(pathCounters(bench.obj)).every((n) => n === 0n)).toBe(true);
        // A pod's own traffic that is no NodePort reply (TCP, UDP, and not TCP/UDP at all) goes on to the next program untouched.
        for (const [prog, saddr, daddr] of [['np4_from_pod', NET.pod4, NET.far4], ['np6_from_pod', NET.pod6, NET.far6]] as const)
          for (const proto of [6, 17, 1] as const) {
            // proto 1 (ICMP): the builder's UDP-sized L4 bytes under an ICMP protocol number, which NodePort does not parse.
            const pkt = packet({ smac: NET.podMac, dmac: NET.vethMac, saddr, daddr, sport: 8080, dport: 40200, proto: proto as 6 | 17 });
            const r = bench.run(prog, pkt);
            expect(r.retval | 0, `${prog} proto ${proto}`).toBe(TcAct.UNSPEC);
            expectPacket(r.data, pkt, `${prog} on a pod's own packet`);
          }
        // Its own family is still translated (the service is usable): the same request to np4_ingress is redirected.
        expect(bench.run('np4_ingress', req4).retval).toBe(TcAct.REDIRECT);
        expect(bench.run('np6_ingress', req6).retval).toBe(TcAct.REDIRECT);
      } finally {
        bench.close();
      }
    });
  }
});
