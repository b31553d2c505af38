/**
 * SNAT port allocation under load, through the NodePort program of every
 * profile's build: a 100-port range (40000–40099) with 10 / 50 / 75 / 100 % of
 * its ports already held by host flows to the same backend, then new client
 * flows. Every allocated port must be in range and collide with nothing; the
 * retry histogram counts the try that found it (measured, printed) and full
 * ranges drop with the SNAT_EXHAUSTED counter. At 75 % (up to 85 % with the
 * new flows) one flow in ~200 exhausts its 32 tries by chance: at most one is
 * allowed there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcAct } from '../../dsl/kernel/index.js';
import { IPPROTO_TCP } from '../../programs/lb/schemas.js';
import { npDrops } from '../../programs/tc/nodeport-maps.js';
import { NpDrop } from '../../programs/tc/nodeport-schemas.js';
import { snat4, snat6, snatRetries } from '../../programs/tc/snat-maps.js';
import { SNAT_DIR_IN, SNAT_DIR_OUT, SNAT_FLAG_HOST, SNAT_HIST_FAILED, SNAT_TRIES } from '../../programs/tc/snat-schemas.js';
import { need } from '../support/env.js';
import { addService, counter, createNodeNs, loadBench, NET, PROFILES, table, type NodeNs } from './nodeport-env.js';
import { packet } from './nodeport-packets.js';

const ok = need({ kernel: true });
const MIN = 40000;
const MAX = 40099;
const FLOWS = 10;

/** A deterministic shuffle of the range's ports. */
function shuffled(seed: number): number[] {
  let x = seed >>> 0;
  const rnd = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0), x);
  const ports = Array.from({ length: MAX - MIN + 1 }, (_, i) => MIN + i);
  for (let i = ports.length - 1; i > 0; i--) {
    const j = rnd() % (i + 1);
    [ports[i], ports[j]] = [ports[j]!, ports[i]!];
  }
  return ports;
}

describe.skipIf(!ok)('SNAT port allocation at fill levels', () => {
  let ns: NodeNs;
  beforeAll(() => {
    ns = createNodeNs();
  });
  afterAll(() => ns?.cleanup());
  const measured: string[] = [];
  afterAll(() => console.log(`SNAT mean tries (0 = first candidate) by fill level:\n${measured.join('\n')}`));

  for (const target of PROFILES) {
    for (const v6 of [false, true]) {
      const [node, client, remote, ingress, snatMap] = v6
        ? [NET.node6, NET.client6, NET.remote6, 'np6_ingress', snat6]
        : [NET.node4, NET.client4, NET.remote4, 'np4_ingress', snat4];
      it(`${target} ${v6 ? 'IPv6' : 'IPv4'}: 10/50/75/100 % of the range taken`, () => {
        const means: number[] = [];
        for (const fill of [10, 50, 75, 100]) {
          using bench = loadBench(target, ns, { portMin: MIN, portMax: MAX });
          addService(bench, v6, { revNatIndex: 9, backends: [{ id: 21, address: remote, port: NET.backendPort }] });
          const snat = table(bench, snatMap);
          const order = shuffled(fill * 7 + (v6 ? 1 : 0));
          const held = new Set(order.slice(0, fill));
          for (const port of held)
            snat.set({ saddr: remote, daddr: node, sport: NET.backendPort, dport: port, proto: IPPROTO_TCP, dir: SNAT_DIR_IN }, { created: 1n, addr: node, port, revNatIndex: 0, flags: SNAT_FLAG_HOST });
          // Client source ports inside the range (so the first candidate is the port itself), all different.
          const sports = shuffled(fill + 1000).slice(0, FLOWS);
          let failures = 0;
          for (const sport of sports) {
            const r = bench.run(ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: client, daddr: node, sport, dport: NET.nodePort }));
            if (r.retval === TcAct.SHOT) {
              failures++;
              continue;
            }
            expect(r.retval).toBe(TcAct.REDIRECT);
            const l4 = v6 ? 54 : 34;
            const port = (r.data[l4]! << 8) | r.data[l4 + 1]!;
            expect(port).toBeGreaterThanOrEqual(MIN);
            expect(port).toBeLessThanOrEqual(MAX);
            expect(held.has(port), `port ${port} was already taken`).toBe(false);
            held.add(port);
            expect(snat.get({ saddr: client, daddr: remote, sport, dport: NET.backendPort, proto: IPPROTO_TCP, dir: SNAT_DIR_OUT })).toMatchObject({ addr: node, port });
          }
          const hist = Array.from({ length: SNAT_TRIES }, (_, i) => Number(counter(bench, snatRetries, i)));
          const found = hist.reduce((a, b) => a + b, 0);
          expect(found + failures).toBe(FLOWS);
          expect(Number(counter(bench, snatRetries, SNAT_HIST_FAILED))).toBe(failures);
          expect(Number(counter(bench, npDrops, NpDrop.SNAT_EXHAUSTED))).toBe(failures);
          if (fill === 100) expect(failures).toBe(FLOWS);
          else if (fill === 75) expect(failures).toBeLessThanOrEqual(1);
          else expect(failures).toBe(0);
          const mean = found ? hist.reduce((a, n, i) => a + n * i, 0) / found : NaN;
          means.push(mean);
          measured.push(`${target} ${v6 ? 'IPv6' : 'IPv4'} ${fill}%: mean ${Number.isNaN(mean) ? '-' : mean.toFixed(2)}, histogram ${JSON.stringify(hist.slice(0, 12))}…, failed ${failures}/${FLOWS}`);
        }
        // More ports taken, more tries.
        expect(means[0]!).toBeLessThanOrEqual(means[2]!);
      });
    }
  }
});
