/**
 * Local backends and `externalTrafficPolicy: Local` in the service manager,
 * without a kernel (in-memory tables): the exact entries (backend flags, the
 * external-Local flag, the INTERNAL-scope frontend and slots the NodePort
 * programs read), the diff (flipping a backend's `local` or the policy
 * rewrites just that; a resync writes nothing), restore (including leftovers
 * of an interrupted policy switch), validation, and the write order under a
 * reader that looks after every single write, rollbacks included; the
 * fallback to serving terminating local backends when none is active.
 */
import { describe, expect, it } from 'vitest';
import {
  BACKEND_FLAG_LOCAL, BACKEND_FLAG_TERMINATING, IPPROTO_TCP, SERVICE_FLAG_EXTERNAL_IP, SERVICE_FLAG_EXTERNAL_LOCAL, SERVICE_FLAG_NODEPORT,
  SERVICE_SCOPE_EXTERNAL, SERVICE_SCOPE_INTERNAL,
} from '../../programs/lb/schemas.js';
import { entries4 } from '../../programs/lb/entries.js';
import { ServiceError, ServiceManager, type ServiceSpec } from '../../programs/lb/index.js';
import { decodedDump, instrumentAll, memoryMaps, rawDump, steppedTables, throwsCode } from './helpers.js';
import { rng } from '../support/rng.js';

const NP = { address: '0.0.0.0', port: 30080, protocol: 'TCP' } as const;
const L1 = { address: '10.244.1.5', port: 8080, local: true };
const L2 = { address: '10.244.1.6', port: 8080, local: true };
const R1 = { address: '10.244.2.7', port: 8080 };
const localNodePort = (backends: ServiceSpec['backends']): ServiceSpec => ({ frontend: NP, nodePort: true, externalTrafficPolicy: 'Local', backends });

/** The services entries of one scope, decoded, keyed by slot. */
function scope(maps: ReturnType<typeof memoryMaps>, s: number) {
  return decodedDump(maps, 'ipv4').services.filter((e) => e.scope === s);
}

describe('local backends and externalTrafficPolicy=Local', () => {
  it('writes the local flag, the external-Local flag and an INTERNAL frontend listing the active local backends only', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    const r = m.upsertService(localNodePort([L1, R1, L2, { address: '10.244.1.9', port: 8080, local: true, terminating: true }]));
    expect(r.change).toBe('added');
    const flags = SERVICE_FLAG_NODEPORT | SERVICE_FLAG_EXTERNAL_LOCAL;
    const fe = { address: '0.0.0.0', port: 30080, proto: IPPROTO_TCP, revNatIndex: 1, flags, flags2: 0 };
    expect(scope(maps, SERVICE_SCOPE_EXTERNAL)).toEqual([
      { ...fe, scope: SERVICE_SCOPE_EXTERNAL, backendSlot: 0, backendId: 0, count: 3 },
      { ...fe, scope: SERVICE_SCOPE_EXTERNAL, backendSlot: 1, backendId: 1, count: 3 },
      { ...fe, scope: SERVICE_SCOPE_EXTERNAL, backendSlot: 2, backendId: 2, count: 3 },
      { ...fe, scope: SERVICE_SCOPE_EXTERNAL, backendSlot: 3, backendId: 3, count: 3 },
      { ...fe, scope: SERVICE_SCOPE_EXTERNAL, backendSlot: 4, backendId: 4, count: 3 },
    ]);
    // The NodePort program reads the INTERNAL frontend's count and slots 1..count (backends 1 and 3: L1, L2).
    expect(scope(maps, SERVICE_SCOPE_INTERNAL)).toEqual([
      { ...fe, scope: SERVICE_SCOPE_INTERNAL, backendSlot: 0, backendId: 0, count: 2 },
      { ...fe, scope: SERVICE_SCOPE_INTERNAL, backendSlot: 1, backendId: 1, count: 2 },
      { ...fe, scope: SERVICE_SCOPE_INTERNAL, backendSlot: 2, backendId: 3, count: 2 },
    ]);
    expect(decodedDump(maps, 'ipv4').backends.map((b) => [b.id, b.address, b.flags])).toEqual([
      [1, '10.244.1.5', BACKEND_FLAG_LOCAL],
      [2, '10.244.2.7', 0],
      [3, '10.244.1.6', BACKEND_FLAG_LOCAL],
      [4, '10.244.1.9', BACKEND_FLAG_LOCAL | BACKEND_FLAG_TERMINATING],
    ]);
    expect(r.writes).toBe(4 + 4 + 1 + 1 + 2 + 1);
    expect(r.service.externalTrafficPolicy).toBe('Local');
    expect(r.service.backends.map((b) => [b.address, b.local, b.terminating])).toEqual([
      ['10.244.1.5', true, false], ['10.244.2.7', false, false], ['10.244.1.6', true, false], ['10.244.1.9', true, true],
    ]);
    expect(m.usage().find((u) => u.name === 'lb4_services')!.entries).toBe(8);
    // Resync: nothing written.
    expect(m.upsertService(localNodePort([L1, R1, L2, { address: '10.244.1.9', port: 8080, local: true, terminating: true }])).writes).toBe(0);
  });

  it('a Cluster-policy service has no INTERNAL entries but still flags its local backends', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService({ frontend: NP, nodePort: true, backends: [L1, R1] });
    expect(scope(maps, SERVICE_SCOPE_INTERNAL)).toEqual([]);
    expect(scope(maps, SERVICE_SCOPE_EXTERNAL).every((e) => e.flags === SERVICE_FLAG_NODEPORT)).toBe(true);
    expect(decodedDump(maps, 'ipv4').backends.map((b) => b.flags)).toEqual([BACKEND_FLAG_LOCAL, 0]);
    expect(m.get(NP)!.externalTrafficPolicy).toBe('Cluster');
    // An explicit 'Cluster' is the same service.
    expect(m.upsertService({ frontend: NP, nodePort: true, externalTrafficPolicy: 'Cluster', backends: [L1, R1] }).change).toBe('unchanged');
  });

  it('externalIP frontends take the policy too', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService({ frontend: { address: '192.0.2.10', port: 80, protocol: 'TCP' }, externalIP: true, externalTrafficPolicy: 'Local', backends: [R1, L1] });
    const internal = scope(maps, SERVICE_SCOPE_INTERNAL);
    expect(internal.map((e) => [e.address, e.backendSlot, e.backendId, e.count, e.flags])).toEqual([
      ['192.0.2.10', 0, 0, 1, SERVICE_FLAG_EXTERNAL_IP | SERVICE_FLAG_EXTERNAL_LOCAL],
      ['192.0.2.10', 1, 2, 1, SERVICE_FLAG_EXTERNAL_IP | SERVICE_FLAG_EXTERNAL_LOCAL],
    ]);
  });

  it('flipping one backend to local or back rewrites that backend and the local slots only', () => {
    const maps = memoryMaps();
    const { tables, total } = instrumentAll(maps);
    const m = ServiceManager.fromMaps(tables);
    m.upsertService(localNodePort([L1, R1]));
    const before = total();
    // R1 becomes local: its backend entry, one new INTERNAL slot, the INTERNAL frontend (count 1 → 2) and slot 1 (repeats the count).
    const r = m.upsertService(localNodePort([L1, { ...R1, local: true }]));
    expect(r.change).toBe('updated');
    expect(total() - before).toBe(r.writes);
    expect(r.writes).toBe(4);
    expect(scope(maps, SERVICE_SCOPE_INTERNAL).map((e) => [e.backendSlot, e.backendId, e.count])).toEqual([[0, 0, 2], [1, 1, 2], [2, 2, 2]]);
    expect(decodedDump(maps, 'ipv4').backends.map((b) => b.flags)).toEqual([BACKEND_FLAG_LOCAL, BACKEND_FLAG_LOCAL]);
    // And back: the same four entries return to what they were.
    const r2 = m.upsertService(localNodePort([L1, R1]));
    expect(r2.writes).toBe(4);
    expect(scope(maps, SERVICE_SCOPE_INTERNAL).map((e) => [e.backendSlot, e.backendId, e.count])).toEqual([[0, 0, 1], [1, 1, 1]]);
    expect(decodedDump(maps, 'ipv4').backends.map((b) => b.flags)).toEqual([BACKEND_FLAG_LOCAL, 0]);
    // Under Cluster, flipping `local` is one backend write.
    m.upsertService({ frontend: NP, nodePort: true, backends: [L1, R1] });
    expect(m.upsertService({ frontend: NP, nodePort: true, backends: [L1, { ...R1, local: true }] }).writes).toBe(1);
  });

  it('switching the policy adds or removes the INTERNAL frontend and the flag, and nothing else', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    const cluster: ServiceSpec = { frontend: NP, nodePort: true, backends: [L1, R1, L2] };
    m.upsertService(cluster);
    const clusterDump = rawDump(maps);
    const toLocal = m.upsertService({ ...cluster, externalTrafficPolicy: 'Local' });
    // Frontend + 3 slots (flag), INTERNAL frontend + 2 slots.
    expect(toLocal.writes).toBe(7);
    expect(scope(maps, SERVICE_SCOPE_INTERNAL).map((e) => e.backendId)).toEqual([0, 1, 3]);
    const back = m.upsertService(cluster);
    expect(back.writes).toBe(7);
    expect(rawDump(maps)).toEqual(clusterDump);
    // Deleting a Local service removes every entry of both scopes.
    m.upsertService({ ...cluster, externalTrafficPolicy: 'Local' });
    expect(m.deleteService(NP)).toBe(true);
    expect(rawDump(maps)).toEqual({ services4: [], backends4: [], revNat4: [], services6: [], backends6: [], revNat6: [] });
  });

  it('refuses a bad policy or local flag, and Local on a ClusterIP frontend, with nothing written', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService(localNodePort([L1]));
    const before = rawDump(maps);
    throwsCode(() => m.apply({ upsert: [{ frontend: { address: '10.96.0.1', port: 80, protocol: 'TCP' }, externalTrafficPolicy: 'Local', backends: [L1] }] }), 'LB_INVALID_SPEC', 'upsert[0].externalTrafficPolicy');
    throwsCode(() => m.apply({ upsert: [{ ...localNodePort([L1]), externalTrafficPolicy: 'local' as never }] }), 'LB_INVALID_SPEC', 'upsert[0].externalTrafficPolicy');
    throwsCode(() => m.apply({ upsert: [localNodePort([L1, { ...R1, local: 'yes' as never }])] }), 'LB_INVALID_SPEC', 'upsert[0].backends[1].local');
    expect(rawDump(maps)).toEqual(before);
  });

  it('with no active local backend, the INTERNAL frontend lists the serving terminating local ones', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    const servingDrain = { ...L1, terminating: true, serving: true };
    const internalIds = () => scope(maps, SERVICE_SCOPE_INTERNAL).map((e) => [e.backendSlot, e.backendId, e.count]);
    m.upsertService(localNodePort([R1, servingDrain, { ...L2, terminating: true }]));
    // R1 is 1, L1 is 2, L2 (terminating, not serving) is 3.
    expect(internalIds()).toEqual([[0, 0, 1], [1, 2, 1]]);
    expect(m.get(NP)!.backends.map((b) => [b.address, b.terminating])).toEqual([['10.244.2.7', false], ['10.244.1.5', true], ['10.244.1.6', true]]);
    // Restored and resynced: nothing to write.
    expect(ServiceManager.fromMaps(maps).upsertService(localNodePort([R1, servingDrain, { ...L2, terminating: true }])).writes).toBe(0);
    // An active local backend appears: only it is listed.
    m.upsertService(localNodePort([R1, servingDrain, { ...L2, terminating: true }, { address: '10.244.1.9', port: 8080, local: true }]));
    expect(internalIds()).toEqual([[0, 0, 1], [1, 4, 1]]);
    // Under Cluster `serving` changes nothing; a serving flag on a remote or active backend is harmless.
    m.upsertService({ frontend: NP, nodePort: true, backends: [{ ...R1, serving: true }, servingDrain] });
    expect(scope(maps, SERVICE_SCOPE_INTERNAL)).toEqual([]);
  });

  it('counts the INTERNAL entries against the services map: a Local service that does not fit is refused before any write', () => {
    // 5 services entries per map: a Cluster NodePort with 2 backends needs 3, the same under Local 3 + 1 + 2 = 6.
    const maps = memoryMaps(5);
    const m = ServiceManager.fromMaps(maps);
    m.upsertService({ frontend: NP, nodePort: true, backends: [L1, L2] });
    const before = rawDump(maps);
    throwsCode(() => m.upsertService(localNodePort([L1, L2])), 'LB_MAP_FULL');
    expect(rawDump(maps)).toEqual(before);
    // One local backend fits exactly (3 + 1 + 1), and usage says so.
    m.upsertService(localNodePort([L1, { ...L2, local: false }]));
    expect(m.usage().find((u) => u.name === 'lb4_services')).toMatchObject({ entries: 5, maxEntries: 5 });
    expect(maps.services4.size).toBe(5);
  });

  it('restores flags, policy and local slots from the maps, and a fresh manager sees no difference', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService(localNodePort([L1, R1, L2]));
    m.upsertService({ frontend: { address: '0.0.0.0', port: 30081, protocol: 'UDP' }, nodePort: true, backends: [L1, R1] });
    m.upsertService(localNodePort([L2, R1, { ...L1, terminating: true }]));
    const again = ServiceManager.fromMaps(maps);
    expect(again.list()).toEqual(m.list());
    expect(again.restored.orphansRemoved).toBe(0);
    expect(again.upsertService(localNodePort([L2, R1, { ...L1, terminating: true }])).writes).toBe(0);
    expect(again.upsertService({ frontend: { address: '0.0.0.0', port: 30081, protocol: 'UDP' }, nodePort: true, backends: [L1, R1] }).writes).toBe(0);
    // Diffs against a restored state: L1 back to active adds it to the local slots.
    const r = again.upsertService(localNodePort([L2, R1, L1]));
    expect(r.change).toBe('updated');
    expect(again.get(NP)!.backends.filter((b) => b.local && !b.terminating).map((b) => b.address).sort()).toEqual(['10.244.1.5', '10.244.1.6']);
    expect(ServiceManager.fromMaps(maps).list()).toEqual(again.list());
  });

  it('deletes INTERNAL leftovers of an interrupted switch and refuses a Local flag without its INTERNAL frontend', () => {
    const key = (port: number, slot: number, s: number) => entries4.serviceKey(new Uint8Array(4), port, slot, IPPROTO_TCP, undefined, s);
    // INTERNAL entries of a Cluster frontend (the flag was cleared, the deletes did not happen): removed on restore.
    {
      const maps = memoryMaps();
      const m = ServiceManager.fromMaps(maps);
      m.upsertService({ frontend: NP, nodePort: true, backends: [L1, R1] });
      const clean = rawDump(maps);
      maps.services4.update(key(30080, 0, SERVICE_SCOPE_INTERNAL), entries4.serviceValue(0, 1, 1, SERVICE_FLAG_NODEPORT | SERVICE_FLAG_EXTERNAL_LOCAL));
      maps.services4.update(key(30080, 1, SERVICE_SCOPE_INTERNAL), entries4.serviceValue(1, 1, 1, SERVICE_FLAG_NODEPORT | SERVICE_FLAG_EXTERNAL_LOCAL));
      const again = ServiceManager.fromMaps(maps);
      expect(again.restored.orphansRemoved).toBe(2);
      expect(rawDump(maps)).toEqual(clean);
      expect(again.list()).toEqual(m.list());
    }
    // INTERNAL slots beyond the INTERNAL count (an interrupted shrink): removed.
    {
      const maps = memoryMaps();
      const m = ServiceManager.fromMaps(maps);
      m.upsertService(localNodePort([L1, R1]));
      const clean = rawDump(maps);
      maps.services4.update(key(30080, 2, SERVICE_SCOPE_INTERNAL), entries4.serviceValue(2, 1, 1, SERVICE_FLAG_NODEPORT | SERVICE_FLAG_EXTERNAL_LOCAL));
      expect(ServiceManager.fromMaps(maps).restored.orphansRemoved).toBe(1);
      expect(rawDump(maps)).toEqual(clean);
    }
    // A Local flag without the INTERNAL frontend, or an INTERNAL slot naming a foreign backend: never written by the manager.
    {
      const maps = memoryMaps();
      const m = ServiceManager.fromMaps(maps);
      m.upsertService(localNodePort([L1, R1]));
      maps.services4.delete(key(30080, 0, SERVICE_SCOPE_INTERNAL));
      const before = rawDump(maps);
      throwsCode(() => ServiceManager.fromMaps(maps), 'LB_STATE');
      expect(rawDump(maps)).toEqual(before);
    }
    {
      const maps = memoryMaps();
      const m = ServiceManager.fromMaps(maps);
      m.upsertService(localNodePort([L1, R1]));
      m.upsertService({ frontend: { ...NP, port: 30090 }, nodePort: true, backends: [L2] });
      maps.services4.update(key(30080, 1, SERVICE_SCOPE_INTERNAL), entries4.serviceValue(3, 1, 1, SERVICE_FLAG_NODEPORT | SERVICE_FLAG_EXTERNAL_LOCAL));
      throwsCode(() => ServiceManager.fromMaps(maps), 'LB_STATE');
    }
  });
});


describe('write order of Local-policy changes under a reader that looks after every write', () => {
  it('a NodePort reader never finds a flagged frontend without its INTERNAL one, nor a local slot naming a backend that is not local', () => {
    const maps = memoryMaps();
    // Per frontend port: backends a reader of the INTERNAL frontend may see (local and active before or after the change).
    let allowedLocal = new Map<number, Set<string>>();
    let allowedAny = new Map<number, Set<string>>();
    let checks = 0;
    // Recorded, not thrown: a throw inside a write would look like a kernel failure and be rolled back.
    let violation: string | undefined;
    const look = () => {
      try {
        lookOnce();
      } catch (e) {
        violation ??= (e as Error).message;
      }
      checks++;
    };
    const lookOnce = () => {
      const d = decodedDump(maps, 'ipv4');
      const backends = new Map(d.backends.map((b) => [b.id, b]));
      const at = new Map(d.services.map((e) => [`${e.port}:${e.scope}:${e.backendSlot}`, e]));
      for (const fe of d.services.filter((e) => e.backendSlot === 0 && e.scope === SERVICE_SCOPE_EXTERNAL)) {
        const check = (s: number, count: number, allowed: Set<string> | undefined, local: boolean) => {
          for (let slot = 1; slot <= count; slot++) {
            const e = at.get(`${fe.port}:${s}:${slot}`);
            if (!e) throw new Error(`${fe.port}: scope ${s} slot ${slot} of ${count} missing`);
            const b = backends.get(e.backendId);
            if (!b) throw new Error(`${fe.port}: scope ${s} slot ${slot} names missing backend ${e.backendId}`);
            if (local && (b.flags & BACKEND_FLAG_LOCAL) === 0) throw new Error(`${fe.port}: local slot ${slot} names ${b.address}, not flagged local`);
            if (!allowed?.has(b.address)) throw new Error(`${fe.port}: scope ${s} slot ${slot} names ${b.address}, not active${local ? ' and local' : ''} before or after`);
          }
        };
        check(SERVICE_SCOPE_EXTERNAL, fe.count, allowedAny.get(fe.port), false);
        if ((fe.flags & SERVICE_FLAG_EXTERNAL_LOCAL) === 0) continue;
        const internal = at.get(`${fe.port}:${SERVICE_SCOPE_INTERNAL}:0`);
        if (!internal) throw new Error(`${fe.port}: flagged external-Local but no INTERNAL frontend`);
        check(SERVICE_SCOPE_INTERNAL, internal.count, allowedLocal.get(fe.port), true);
      }
    };
    let failAt: number | undefined;
    const step = (write: () => void) => {
      if (failAt !== undefined && failAt-- === 0) throw new Error('injected failure');
      write();
      look();
    };
    const watched = steppedTables(maps, step);
    const m = ServiceManager.fromMaps(watched);
    const random = rng(23);
    const pool = Array.from({ length: 8 }, (_, i) => `10.244.3.${i + 1}`);
    const spec = (port: number): ServiceSpec => ({
      frontend: { address: '0.0.0.0', port, protocol: 'TCP' },
      nodePort: true,
      ...(random() < 0.6 ? { externalTrafficPolicy: 'Local' as const } : {}),
      backends: pool.filter(() => random() < 0.6).map((address) => ({ address, port: 8080, local: random() < 0.5, terminating: random() < 0.3, serving: random() < 0.5 })).sort(() => random() - 0.5),
    });
    const views = (specs: readonly ServiceSpec[]) => {
      const any = new Map<number, Set<string>>();
      const local = new Map<number, Set<string>>();
      for (const s of specs) {
        any.set(s.frontend.port, new Set(s.backends.filter((b) => !b.terminating).map((b) => b.address)));
        // Active local backends, else the serving terminating local ones.
        const ready = s.backends.filter((b) => b.local && !b.terminating);
        const picked = ready.length ? ready : s.backends.filter((b) => b.local && b.terminating && b.serving);
        local.set(s.frontend.port, new Set(s.externalTrafficPolicy === 'Local' ? picked.map((b) => b.address) : []));
      }
      return { any, local };
    };
    const union = (a: Map<number, Set<string>>, b: Map<number, Set<string>>) => {
      const out = new Map<number, Set<string>>();
      for (const m2 of [a, b]) for (const [k, v] of m2) out.set(k, new Set([...(out.get(k) ?? []), ...v]));
      return out;
    };
    let current: ServiceSpec[] = [];
    let rolledBack = 0;
    for (let round = 0; round < 150; round++) {
      const desired = [30001, 30002, 30003].filter(() => random() < 0.85).map(spec);
      const was = views(current);
      const next = views(desired);
      allowedAny = union(was.any, next.any);
      allowedLocal = union(was.local, next.local);
      const before = rawDump(maps);
      failAt = random() < 0.3 ? Math.floor(random() * 20) : undefined;
      let error: unknown;
      try {
        m.sync(desired);
      } catch (e) {
        error = e;
      }
      failAt = undefined;
      expect(violation).toBeUndefined();
      if (error !== undefined) {
        rolledBack++;
        expect((error as ServiceError).code).toBe('LB_WRITE_FAILED');
        expect(rawDump(maps)).toEqual(before);
        continue;
      }
      current = desired;
      for (const s of desired) {
        const got = m.get(s.frontend)!;
        expect(got.externalTrafficPolicy).toBe(s.externalTrafficPolicy ?? 'Cluster');
        expect(got.backends.map((b) => `${b.address}/${b.local}/${b.terminating}`).sort()).toEqual(s.backends.map((b) => `${b.address}/${b.local}/${b.terminating ?? false}`).sort());
      }
    }
    expect(checks).toBeGreaterThan(500);
    expect(rolledBack).toBeGreaterThan(5);
    expect(ServiceManager.fromMaps(maps).list()).toEqual(m.list());
  });
});
