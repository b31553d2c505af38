/**
 * Session affinity (`sessionAffinity: ClientIP`) in NodePort, for every
 * profile's build (4.19 split into tail calls) and both families: new flows
 * from one client address stick to one backend (and spread without affinity),
 * each client address has its own entry, a known flow keeps its backend
 * whatever the affinity entry says, and an expired entry, a slot rewritten to
 * another backend or a slot beyond the count makes a new pick — from the
 * EXTERNAL-scope frontend and from the INTERNAL one of
 * externalTrafficPolicy=Local. The backend a flow got is read from the flows
 * table; the affinity table is read and written directly (lb4/lb6_affinity).
 * The backends share one address (the remote one, which has a neighbour, or
 * the local pod) on different ports, so every flow is forwarded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcAct } from '../../dsl/kernel/index.js';
import { affinity4, affinity6 } from '../../programs/lb/maps.js';
import { IPPROTO_TCP } from '../../programs/lb/schemas.js';
import { npFlows4, npFlows6 } from '../../programs/tc/nodeport-maps.js';
import { SNAT_DIR_OUT } from '../../programs/tc/snat-schemas.js';
import { need } from '../support/env.js';
import { addService, createNodeNs, NET, PROFILES, table, type Bench, type NodeNs, type TestBackend, withBench as withNodeBench } from './nodeport-env.js';
import { packet } from './nodeport-packets.js';

const ok = need({ kernel: true });

const FAMILIES = [
  { v6: false, name: 'IPv4', node: NET.node4, remote: NET.remote4, pod: NET.pod4, client: (i: number) => `10.99.0.${100 + i}`, ingress: 'np4_ingress', flows: npFlows4, affinity: affinity4 },
  { v6: true, name: 'IPv6', node: NET.node6, remote: NET.remote6, pod: NET.pod6, client: (i: number) => `fd99::1:${i}`, ingress: 'np6_ingress', flows: npFlows6, affinity: affinity6 },
] as const;
type Fam = (typeof FAMILIES)[number];

const NS = 1_000_000_000n;
const now = () => process.hrtime.bigint();
/** Enough flows that random picks from ≥6 backends land on ≥4 except with negligible probability. */
const FLOWS = 32;

/** `n` remote backends (ids base+1…, ports 8080…) or local ones (ports 9080…). */
const backendsOf = (f: Fam, base: number, n: number, local = false): TestBackend[] =>
  Array.from({ length: n }, (_, i) => ({ id: base + i + 1, address: local ? f.pod : f.remote, port: (local ? 9080 : 8080) + i, local }));

describe.skipIf(!ok)('NodePort session affinity (BPF_PROG_TEST_RUN)', () => {
  let ns: NodeNs;
  beforeAll(() => {
    ns = createNodeNs();
  });
  afterAll(() => ns?.cleanup());

  const withBench = (target: string, fn: (b: Bench) => void) => withNodeBench(target, ns, fn);

  /** A new flow (SYN from `sport`) to the NodePort `port`; returns the backend id the flows table gives it. */
  const flowTo = (bench: Bench, f: Fam, client: string, port: number, sport: number): number => {
    const r = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: client, daddr: f.node, sport, dport: port }));
    expect(r.retval).toBe(TcAct.REDIRECT);
    const flow = table(bench, f.flows).get({ saddr: client, daddr: f.node, sport, dport: port, proto: IPPROTO_TCP, dir: SNAT_DIR_OUT });
    expect(flow).toBeDefined();
    return flow.backendId as number;
  };
  const affinityOf = (bench: Bench, f: Fam, client: string, revNatIndex: number) => table(bench, f.affinity).get({ netnsCookie: 0n, client, revNatIndex });
  const setAffinity = (bench: Bench, f: Fam, client: string, revNatIndex: number, e: { lastUsed: bigint; backendId: number; slot: number }) =>
    table(bench, f.affinity).set({ netnsCookie: 0n, client, revNatIndex }, e);

  for (const target of PROFILES) {
    for (const f of FAMILIES) {
      it(`${target} ${f.name}: one client's new flows get one backend with affinity, spread without; clients apart; a known flow keeps its backend`, () =>
        withBench(target, (bench) => {
          const port = NET.nodePort;
          const backends = backendsOf(f, 100, 8);
          addService(bench, f.v6, { revNatIndex: 1, port, backends, affinity: 10800 });
          addService(bench, f.v6, { revNatIndex: 2, port: port + 1, backends: backendsOf(f, 200, 8) });
          const client = f.client(1);
          const t0 = now();
          const sticky = new Set(Array.from({ length: FLOWS }, (_, i) => flowTo(bench, f, client, port, 40000 + i)));
          expect(sticky.size).toBe(1);
          const [id] = [...sticky];
          const entry = affinityOf(bench, f, client, 1);
          expect(entry).toMatchObject({ backendId: id, slot: id! - 100 });
          expect(entry.lastUsed).toBeGreaterThanOrEqual(t0);
          expect(entry.lastUsed).toBeLessThanOrEqual(now());
          const spread = new Set(Array.from({ length: FLOWS }, (_, i) => flowTo(bench, f, client, port + 1, 40000 + i)));
          expect(spread.size).toBeGreaterThanOrEqual(4);
          expect(affinityOf(bench, f, client, 2)).toBeUndefined();

          const perClient = new Set<number>();
          for (let c = 2; c <= 17; c++) {
            const ids = new Set(Array.from({ length: 3 }, (_, i) => flowTo(bench, f, f.client(c), port, 41000 + i)));
            expect(ids.size, `client ${c}`).toBe(1);
            perClient.add([...ids][0]!);
          }
          expect(perClient.size).toBeGreaterThanOrEqual(2);

          // A fresh entry naming another backend: new flows follow it, the known flow does not.
          const other = backends.findIndex((b) => b.id !== id);
          setAffinity(bench, f, client, 1, { lastUsed: now(), backendId: backends[other]!.id, slot: other + 1 });
          expect(flowTo(bench, f, client, port, 40000)).toBe(id);
          for (let i = 0; i < 8; i++) expect(flowTo(bench, f, client, port, 42000 + i)).toBe(backends[other]!.id);
        }));

      it(`${target} ${f.name}: an expired entry, a slot rewritten to another backend or one beyond the count makes a new pick`, () =>
        withBench(target, (bench) => {
          const port = NET.nodePort;
          const backends = backendsOf(f, 100, 8);
          addService(bench, f.v6, { revNatIndex: 3, port, backends, affinity: 30 });
          const client = f.client(1);
          const picks = (sport: number, entry: () => { lastUsed: bigint; backendId: number; slot: number }) => {
            const got = new Set<number>();
            for (let i = 0; i < 24; i++) {
              setAffinity(bench, f, client, 3, entry());
              got.add(flowTo(bench, f, client, port, sport + i));
            }
            return got;
          };
          expect(picks(43000, () => ({ lastUsed: now() - 29n * NS, backendId: 101, slot: 1 }))).toEqual(new Set([101]));
          const expired = picks(43100, () => ({ lastUsed: now() - 31n * NS, backendId: 101, slot: 1 }));
          expect(expired.size).toBeGreaterThanOrEqual(2);
          // Each new pick was recorded.
          const last = affinityOf(bench, f, client, 3);
          expect(last.slot).toBe(last.backendId - 100);

          const moved = [...backends];
          moved[2] = { id: 199, address: f.remote, port: 8099 };
          addService(bench, f.v6, { revNatIndex: 3, port, backends: moved, affinity: 30 });
          const rewritten = picks(43200, () => ({ lastUsed: now(), backendId: 103, slot: 3 }));
          expect(rewritten.has(103)).toBe(false);
          expect(rewritten.size).toBeGreaterThanOrEqual(2);

          // Slot 9 stays in the table after the service shrank back to 8.
          addService(bench, f.v6, { revNatIndex: 3, port, backends: [...moved, { id: 198, address: f.remote, port: 8098 }], affinity: 30 });
          addService(bench, f.v6, { revNatIndex: 3, port, backends: moved, affinity: 30 });
          const past = picks(43300, () => ({ lastUsed: now(), backendId: 198, slot: 9 }));
          expect(past.has(198)).toBe(false);
          expect(past.size).toBeGreaterThanOrEqual(2);
        }));

      it(`${target} ${f.name}: externalTrafficPolicy=Local picks from the INTERNAL frontend with affinity too`, () =>
        withBench(target, (bench) => {
          const port = NET.nodePort;
          const local = backendsOf(f, 300, 6, true);
          // EXTERNAL lists remote + local backends; INTERNAL only the six local ones (its slots 1..6).
          addService(bench, f.v6, { revNatIndex: 4, port, backends: [...backendsOf(f, 400, 2), ...local], externalLocal: true, affinity: 10800 });
          addService(bench, f.v6, { revNatIndex: 5, port: port + 1, backends: [...backendsOf(f, 500, 2), ...backendsOf(f, 600, 6, true)], externalLocal: true });
          const client = f.client(1);
          const sticky = new Set(Array.from({ length: FLOWS }, (_, i) => flowTo(bench, f, client, port, 44000 + i)));
          expect(sticky.size).toBe(1);
          const [id] = [...sticky];
          expect(id! > 300 && id! <= 306).toBe(true);
          // The slot recorded is the INTERNAL one.
          expect(affinityOf(bench, f, client, 4)).toMatchObject({ backendId: id, slot: id! - 300 });
          const spread = new Set(Array.from({ length: FLOWS }, (_, i) => flowTo(bench, f, client, port + 1, 44000 + i)));
          expect(spread.size).toBeGreaterThanOrEqual(4);
          for (const b of spread) expect(b > 600 && b <= 606, `backend ${b}`).toBe(true);

          const other = local.findIndex((b) => b.id !== id);
          setAffinity(bench, f, client, 4, { lastUsed: now(), backendId: local[other]!.id, slot: other + 1 });
          for (let i = 0; i < 8; i++) expect(flowTo(bench, f, client, port, 44100 + i)).toBe(local[other]!.id);
          // INTERNAL slot 1 is rewritten to another local backend: the entry naming its old one is not followed.
          const moved = [{ id: 399, address: f.pod, port: 9099, local: true }, ...local.slice(1)];
          addService(bench, f.v6, { revNatIndex: 4, port, backends: [...backendsOf(f, 400, 2), ...moved], externalLocal: true, affinity: 10800 });
          const got = new Set<number>();
          for (let i = 0; i < 24; i++) {
            setAffinity(bench, f, client, 4, { lastUsed: now(), backendId: 301, slot: 1 });
            got.add(flowTo(bench, f, client, port, 44200 + i));
          }
          expect(got.has(301)).toBe(false);
          expect(got.size).toBeGreaterThanOrEqual(2);
        }));
    }
  }
});
