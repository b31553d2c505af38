/**
 * Session affinity (`sessionAffinity: ClientIP`) in the ClusterIP datapath,
 * IPv4 and IPv6, for every build: new connections from one pod address stick
 * to one backend (and spread without affinity), another address has its own
 * entry, an established flow keeps its backend whatever the affinity entry
 * says, and an expired entry, a slot rewritten to another backend or a slot
 * beyond the service's count makes a new pick. Which backend a connection got
 * is read from its CT_SERVICE entry; the affinity table is read and written
 * directly (lb4/lb6_affinity).
 */
import { describe, expect, it } from 'vitest';
import { CT_SERVICE } from '../../programs/tc/conntrack-schemas.js';
import { need } from '../support/env.js';
import { describeEachBuild, monotonicNs, type Datapath, type TestBackend } from './clusterip-harness.js';
import { l4Frame, SYN } from './clusterip-packets.js';

const kernel = need({ kernel: true });

const FAMILIES = [
  { name: 'IPv4', client: (i: number) => `10.0.7.${i}`, vip: (i: number) => `10.96.7.${i}`, backend: (i: number) => `10.1.7.${i}` },
  { name: 'IPv6', client: (i: number) => `fd00::7:${i}`, vip: (i: number) => `fd00:96::7:${i}`, backend: (i: number) => `fd00:1::7:${i}` },
] as const;
type Fam = (typeof FAMILIES)[number];

const NS = 1_000_000_000n;
const BACKENDS = 8;
/** Enough connections that 8 backends picked at random land on ≥4 of them except with negligible probability. */
const CONNECTIONS = 32;

/** A service with eight backends at `vip(n)`:80 (ids n*100+1…); with `affinity`, that timeout. */
function service(dp: Datapath, f: Fam, n: number, affinity?: number): TestBackend[] {
  const backends = Array.from({ length: BACKENDS }, (_, i) => ({ id: n * 100 + i + 1, address: f.backend(n * 10 + i), port: 8080 }));
  dp.addService({ vip: f.vip(n), port: 80, proto: 'tcp', revNatIndex: n, backends, ...(affinity === undefined ? {} : { affinity }) });
  return backends;
}

/** Opens a new connection (a SYN from a fresh source port) and returns the backend id it got. */
function connect(dp: Datapath, f: Fam, client: string, n: number, sport: number): number {
  const out = dp.run(l4Frame(client, f.vip(n), { proto: 'tcp', sport, dport: 80, flags: SYN }));
  expect(out.retval).toBe(0);
  const e = dp.ct({ saddr: client, daddr: f.vip(n), sport, dport: 80, proto: 'tcp', flags: CT_SERVICE });
  expect(e).toBeDefined();
  return e!.backendId;
}

describe.skipIf(!kernel)('ClusterIP session affinity', () => {
  describeEachBuild((dp) => {
    for (const f of FAMILIES) {
      it(`${f.name}: one client's new connections all get one backend with affinity, spread over ≥4 without`, () => {
        service(dp, f, 11, 10800);
        service(dp, f, 12);
        const client = f.client(1);
        const t0 = monotonicNs();
        const sticky = new Set(Array.from({ length: CONNECTIONS }, (_, i) => connect(dp, f, client, 11, 42000 + i)));
        const t1 = monotonicNs();
        expect(sticky.size).toBe(1);
        const [backendId] = [...sticky];
        const entry = dp.affinity(client, 11)!;
        expect(entry).toMatchObject({ backendId, slot: backendId! - 1100 });
        expect(entry.lastUsed).toBeGreaterThanOrEqual(t0);
        expect(entry.lastUsed).toBeLessThanOrEqual(t1);
        const spread = new Set(Array.from({ length: CONNECTIONS }, (_, i) => connect(dp, f, client, 12, 42000 + i)));
        expect(spread.size).toBeGreaterThanOrEqual(4);
        expect(dp.affinity(client, 12)).toBeUndefined();
      });

      it(`${f.name}: every client address has its own entry (they do not all share one backend)`, () => {
        service(dp, f, 13, 10800);
        const got = new Set<number>();
        for (let c = 1; c <= 16; c++) {
          const ids = new Set(Array.from({ length: 4 }, (_, i) => connect(dp, f, f.client(20 + c), 13, 43000 + i)));
          expect(ids.size, `client ${c}`).toBe(1);
          const [id] = [...ids];
          expect(dp.affinity(f.client(20 + c), 13)?.backendId).toBe(id);
          got.add(id!);
        }
        expect(got.size).toBeGreaterThanOrEqual(2);
      });

      it(`${f.name}: a fresh entry is followed by new connections; an established flow keeps its backend`, () => {
        const backends = service(dp, f, 14, 10800);
        const client = f.client(2);
        const first = connect(dp, f, client, 14, 44000);
        const other = backends.findIndex((b) => b.id !== first);
        dp.setAffinity(client, 14, { lastUsed: monotonicNs(), backendId: backends[other]!.id, slot: other + 1 });
        // The flow's next packet: its CT_SERVICE entry decides, not the affinity table.
        expect(connect(dp, f, client, 14, 44000)).toBe(first);
        for (let i = 1; i <= 8; i++) expect(connect(dp, f, client, 14, 44000 + i)).toBe(backends[other]!.id);
      });

      it(`${f.name}: an entry older than the timeout makes a new pick (a younger one does not)`, () => {
        const backends = service(dp, f, 15, 30);
        const client = f.client(3);
        const stale = () => ({ lastUsed: monotonicNs() - 31n * NS, backendId: backends[0]!.id, slot: 1 });
        const got = new Set<number>();
        for (let i = 0; i < 24; i++) {
          dp.setAffinity(client, 15, stale());
          const t0 = monotonicNs();
          const id = connect(dp, f, client, 15, 45000 + i);
          got.add(id);
          // The new pick is recorded with the time of this connection.
          expect(dp.affinity(client, 15)).toMatchObject({ backendId: id, slot: id - 1500 });
          expect(dp.affinity(client, 15)!.lastUsed).toBeGreaterThanOrEqual(t0);
        }
        expect(got.size).toBeGreaterThanOrEqual(2);
        for (let i = 0; i < 8; i++) {
          dp.setAffinity(client, 15, { ...stale(), lastUsed: monotonicNs() - 29n * NS });
          expect(connect(dp, f, client, 15, 45100 + i)).toBe(backends[0]!.id);
        }
      });

      it(`${f.name}: a slot rewritten to another backend, or beyond the count, makes a new pick`, () => {
        const backends = service(dp, f, 16, 10800);
        const client = f.client(4);
        // Slot 3 now names a new backend; the one the entry names is in no slot any more.
        const moved = [...backends];
        moved[2] = { id: 1699, address: f.backend(199), port: 8080 };
        dp.addService({ vip: f.vip(16), port: 80, proto: 'tcp', revNatIndex: 16, backends: moved, affinity: 10800 });
        const got = new Set<number>();
        for (let i = 0; i < 24; i++) {
          dp.setAffinity(client, 16, { lastUsed: monotonicNs(), backendId: backends[2]!.id, slot: 3 });
          got.add(connect(dp, f, client, 16, 46000 + i));
        }
        expect(got.has(backends[2]!.id)).toBe(false);
        expect(got.size).toBeGreaterThanOrEqual(2);
        // A slot past the count (the service shrank: slot 9 still in the table, count 8) is not followed.
        dp.addService({ vip: f.vip(16), port: 80, proto: 'tcp', revNatIndex: 16, backends: [...moved, { id: 1698, address: f.backend(198), port: 8080 }], affinity: 10800 });
        dp.addService({ vip: f.vip(16), port: 80, proto: 'tcp', revNatIndex: 16, backends: moved, affinity: 10800 });
        const past = new Set<number>();
        for (let i = 0; i < 24; i++) {
          dp.setAffinity(client, 16, { lastUsed: monotonicNs(), backendId: 1698, slot: 9 });
          past.add(connect(dp, f, client, 16, 46100 + i));
        }
        expect(past.has(1698)).toBe(false);
        expect(past.size).toBeGreaterThanOrEqual(2);
      });
    }
  });
});
