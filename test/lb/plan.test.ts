/**
 * The write order of service changes, checked without a kernel: a manager over
 * in-memory tables whose every single write is followed by a reader's view of
 * the maps. Across a long random sequence of grows, shrinks, drains, swaps and
 * deletes, a reader must always find, for each frontend, slots 1..count that
 * exist and name existing backends (never a backend that drains both before
 * and after the change), and the frontend's reverse-NAT entry. Also: the
 * direct entry encoders give the schemas' bytes, spec parsing, id allocation.
 */
import { describe, expect, it } from 'vitest';
import { IdAllocator } from '../../programs/lb/ids.js';
import { entries4, entries6 } from '../../programs/lb/entries.js';
import {
  Backend4, Backend6, RevNat4, RevNat6, ServiceEntry, ServiceKey4, ServiceKey6,
} from '../../programs/lb/schemas.js';
import { ServiceError, ServiceManager, normalizeService, parseEndpoint, parseFrontend, type ServiceSpec } from '../../programs/lb/index.js';
import { decodedDump, instrumentAll, memoryMaps, rawDump, steppedTables } from './helpers.js';
import { rng } from '../support/rng.js';
import type { ServiceTable } from '../../programs/lb/tables.js';


describe('write order under a reader that looks after every write', () => {
  it('keeps every visible slot pointing at a live, non-draining backend', () => {
    const maps = memoryMaps();
    let checks = 0;
    // Backends a reader may legitimately be sent to during the current change: active before or after it.
    let allowed = new Set<string>();
    // Plain checks (vitest's expect costs more than the whole check, thousands of times over).
    const look = () => {
      const d = decodedDump(maps, 'ipv4');
      const backends = new Map(d.backends.map((b) => [b.id, b]));
      const revNats = new Set(d.revNat.map((r) => r.index));
      const entries = new Map(d.services.map((x) => [`${x.address}:${x.port}:${x.proto}:${x.backendSlot}`, x]));
      for (const fe of d.services.filter((s) => s.backendSlot === 0)) {
        if (!revNats.has(fe.revNatIndex)) throw new Error(`${fe.address}:${fe.port}: reverse-NAT ${fe.revNatIndex} missing`);
        for (let slot = 1; slot <= fe.count; slot++) {
          const s = entries.get(`${fe.address}:${fe.port}:${fe.proto}:${slot}`);
          if (!s) throw new Error(`slot ${slot} of ${fe.address}:${fe.port} (count ${fe.count}) missing`);
          const b = backends.get(s.backendId);
          if (!b) throw new Error(`backend ${s.backendId} of slot ${slot} of ${fe.address}:${fe.port} missing`);
          const pair = `${fe.address}:${fe.port}>${b.address}:${b.port}`;
          if (!allowed.has(pair)) throw new Error(`${pair} is visible but neither active before nor after the change`);
        }
      }
      checks++;
    };
    const watched = Object.fromEntries(
      Object.entries(maps).map(([k, t]) => [
        k,
        {
          ...t,
          update: (key: Uint8Array, value: Uint8Array) => (t.update(key, value), look()),
          delete: (key: Uint8Array) => {
            const r = t.delete(key);
            look();
            return r;
          },
          entries: () => t.entries(),
        } satisfies ServiceTable,
      ]),
    );
    const m = ServiceManager.fromMaps(watched);
    const random = rng(7);
    const pool = Array.from({ length: 10 }, (_, i) => `10.244.0.${i + 1}`);
    const active = new Map<string, Set<string>>();
    // Every service's active backends, plus the changing one's new ones.
    const allowedDuring = (changing: string, next: Set<string>) => {
      const out = new Set<string>();
      for (const [k, set] of active) for (const b of set) out.add(`${k}>${b}`);
      for (const b of next) out.add(`${changing}>${b}`);
      return out;
    };
    for (let step = 0; step < 400; step++) {
      const vip = `10.96.0.${1 + Math.floor(random() * 4)}`;
      const key = `${vip}:80`;
      if (random() < 0.1) {
        allowed = allowedDuring(key, new Set());
        m.deleteService({ address: vip, port: 80, protocol: 'TCP' });
        active.delete(key);
        continue;
      }
      const backends = pool.filter(() => random() < 0.5).map((address) => ({ address, port: 8080, terminating: random() < 0.3 }));
      const next = new Set(backends.filter((b) => !b.terminating).map((b) => `${b.address}:8080`));
      allowed = allowedDuring(key, next);
      const spec: ServiceSpec = { frontend: { address: vip, port: 80, protocol: 'TCP' }, backends: backends.sort(() => random() - 0.5) };
      m.upsertService(spec);
      active.set(key, next);
      // The manager's view equals what was asked.
      const got = m.get(spec.frontend)!;
      expect(got.backends.filter((b) => !b.terminating).map((b) => `${b.address}:${b.port}`).sort()).toEqual([...next].sort());
      expect(got.backends.length).toBe(backends.length);
    }
    expect(checks).toBeGreaterThan(1000);
    // After all that churn, a fresh manager restores exactly the same services.
    expect(ServiceManager.fromMaps(maps).list()).toEqual(m.list());
  });
});

describe('write order of batched syncs', () => {
  it('many services changing in one sync, batched per phase, never show a reader an inconsistent service, nor does a rollback', () => {
    const maps = memoryMaps();
    // Backends a reader may be sent to right now: per frontend, active before or after the current sync.
    let allowed = new Set<string>();
    let checks = 0;
    const look = () => {
      const d = decodedDump(maps, 'ipv4');
      const backends = new Map(d.backends.map((b) => [b.id, b]));
      const revNats = new Set(d.revNat.map((r) => r.index));
      const entries = new Map(d.services.map((x) => [`${x.address}:${x.backendSlot}`, x]));
      for (const fe of d.services.filter((x) => x.backendSlot === 0)) {
        if (!revNats.has(fe.revNatIndex)) throw new Error(`${fe.address}: reverse-NAT ${fe.revNatIndex} missing`);
        for (let slot = 1; slot <= fe.count; slot++) {
          const e = entries.get(`${fe.address}:${slot}`);
          if (!e) throw new Error(`slot ${slot} of ${fe.address} (count ${fe.count}) missing`);
          const b = backends.get(e.backendId);
          if (!b) throw new Error(`backend ${e.backendId} of slot ${slot} of ${fe.address} missing`);
          if (!allowed.has(`${fe.address}>${b.address}`)) throw new Error(`${fe.address}>${b.address} is visible but neither active before nor after the sync`);
        }
      }
      checks++;
    };
    // Tables with batch operations that apply one element at a time (a reader can see any prefix of a kernel
    // batch), look after each element, and can fail at the n-th element of the request, batch or not.
    let failAt: number | undefined;
    let batches = 0;
    let largestBatch = 0;
    const step = (write: () => void) => {
      if (failAt !== undefined && failAt-- === 0) throw new Error('injected failure');
      write();
      look();
    };
    const batched = steppedTables(maps, step, (n) => {
      batches++;
      largestBatch = Math.max(largestBatch, n);
    });
    const m = ServiceManager.fromMaps(batched);
    const random = rng(11);
    const vip = (i: number) => `10.96.1.${i}`;
    const spec = (i: number): ServiceSpec => ({
      frontend: { address: vip(i), port: 80, protocol: 'TCP' },
      backends: Array.from({ length: 6 }, (_, k) => `10.244.${i}.${k + 1}`)
        .filter(() => random() < 0.5)
        .map((address) => ({ address, port: 8080, terminating: random() < 0.25 }))
        .sort(() => random() - 0.5),
    });
    const activeOf = (specs: readonly ServiceSpec[]) => specs.flatMap((x) => x.backends.filter((b) => !b.terminating).map((b) => `${x.frontend.address}>${b.address}`));
    let current: ServiceSpec[] = [];
    let rolledBack = 0;
    for (let round = 0; round < 10; round++) {
      // About a fifth of the services go, a fifth come, the rest are redrawn (grown, shrunk, drained, swapped or the same).
      const desired = Array.from({ length: 24 }, (_, i) => i).filter(() => random() < 0.8).map(spec);
      allowed = new Set([...activeOf(current), ...activeOf(desired)]);
      const before = rawDump(maps);
      const listBefore = m.list();
      failAt = Math.floor(random() * 80);
      let error: unknown;
      try {
        m.sync(desired);
      } catch (e) {
        error = e;
      }
      failAt = undefined;
      if (error !== undefined) {
        rolledBack++;
        expect((error as ServiceError).code).toBe('LB_WRITE_FAILED');
        expect(rawDump(maps)).toEqual(before);
        expect(m.list()).toEqual(listBefore);
        m.sync(desired);
      }
      current = desired;
      expect(m.list().map((x) => x.frontend.address).sort()).toEqual(desired.map((x) => x.frontend.address).sort());
    }
    // The batched path was taken with many services per batch, failures hit it, and the reader looked at every element.
    expect(batches).toBeGreaterThan(30);
    expect(largestBatch).toBeGreaterThan(10);
    expect(rolledBack).toBeGreaterThan(3);
    expect(checks).toBeGreaterThan(1000);
    expect(ServiceManager.fromMaps(maps).list()).toEqual(m.list());
  });
});

describe('cost of one change', () => {
  it('adding, updating and deleting one service with 10,000 present touches only its own entries and reads nothing', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    const svc = (i: number, n = 2): ServiceSpec => ({
      frontend: { address: `10.96.${i >> 8}.${i & 255}`, port: 80, protocol: 'TCP' },
      backends: Array.from({ length: n }, (_, k) => ({ address: `10.244.${i >> 8}.${i & 255}`, port: 8000 + k })),
    });
    m.sync(Array.from({ length: 10_000 }, (_, i) => svc(i)));
    let reads = 0;
    let writes = 0;
    for (const t of Object.values(maps)) {
      const { update, delete: del, entries } = t;
      Object.assign(t, {
        update: (k: Uint8Array, v: Uint8Array) => (writes++, update(k, v)),
        delete: (k: Uint8Array) => (writes++, del(k)),
        entries: () => (reads++, entries()),
      });
    }
    expect(m.upsertService(svc(20_000)).writes).toBe(6);
    expect(m.upsertService(svc(20_000, 3)).writes).toBe(5);
    expect(m.upsertService(svc(20_000, 3)).writes).toBe(0);
    expect(m.deleteService(svc(20_000).frontend)).toBe(true);
    expect(writes).toBe(6 + 5 + 8);
    expect(reads).toBe(0);
    expect(m.size).toBe(10_000);
  });
});

describe('families and handles', () => {
  it('a manager with IPv4 maps only refuses IPv6 services, and maps come per family', () => {
    const all = memoryMaps();
    const m = ServiceManager.fromMaps({ services4: all.services4, backends4: all.backends4, revNat4: all.revNat4 });
    expect(m.families).toEqual(['ipv4']);
    let err: unknown;
    try {
      m.sync([{ frontend: { address: '10.96.0.1', port: 80, protocol: 'TCP' }, backends: [] }, { frontend: { address: 'fd00::1', port: 80, protocol: 'TCP' }, backends: [] }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).code).toBe('LB_FAMILY_UNAVAILABLE');
    expect((err as ServiceError).path).toBe('upsert[1].frontend');
    expect(all.services4.size).toBe(0);
    expect(() => ServiceManager.fromMaps({ services6: all.services6 })).toThrow(/ipv6 maps come together/);
    expect(() => ServiceManager.fromMaps({})).toThrow(/no service maps given/);
    expect(() => ServiceManager.fromMaps({ services4: all.backends4, backends4: all.backends4, revNat4: all.revNat4 })).toThrow(/services4 \(map "lb4_backends"\) has 4-byte keys/);
    expect(() => ServiceManager.fromMaps(all, { maxBackendsPerService: 70000 })).toThrow(ServiceError);
  });

  it('usage reports the entries held per map', () => {
    const all = memoryMaps();
    const m = ServiceManager.fromMaps(all);
    m.upsertService({ frontend: { address: '10.96.0.1', port: 80, protocol: 'TCP' }, backends: [{ address: '10.0.0.1', port: 1 }, { address: '10.0.0.2', port: 1, terminating: true }] });
    expect(m.usage().filter((u) => u.entries > 0)).toEqual([
      { name: 'lb4_services', entries: 3, maxEntries: 65536 },
      { name: 'lb4_backends', entries: 2, maxEntries: 65536 },
      { name: 'lb4_reverse_nat', entries: 1, maxEntries: 65536 },
    ]);
    expect(m.usage().map((u) => u.entries)).toEqual([all.services4.size, all.backends4.size, all.revNat4.size, 0, 0, 0]);
  });
});

describe('unchanged detection', () => {
  it('rewrites exactly the entries whose bytes differ from what the spec means', () => {
    const maps = memoryMaps();
    const spec: ServiceSpec = { frontend: { address: '10.96.0.1', port: 80, protocol: 'TCP' }, backends: [{ address: '10.244.0.1', port: 80 }, { address: '10.244.0.2', port: 80, terminating: true }] };
    ServiceManager.fromMaps(maps).upsertService(spec);
    // Damage one byte per table: a backend's flags, the reverse-NAT padding, a slot's flags2.
    const damage = (t: ServiceTable, pick: (k: Uint8Array, v: Uint8Array) => boolean, at: number) => {
      const [k, v] = [...t.entries()].find(([k, v]) => pick(k, v))!;
      const bad = v.slice();
      bad[at] ^= 1;
      t.update(k, bad);
    };
    damage(maps.backends4, (k) => k[0] === 2, 7);
    damage(maps.revNat4, () => true, 7);
    damage(maps.services4, (k) => k[6] === 1, 9);
    const m = ServiceManager.fromMaps(maps);
    expect(m.upsertService(spec)).toMatchObject({ change: 'updated', writes: 3 });
    expect(m.upsertService(spec)).toMatchObject({ change: 'unchanged', writes: 0 });
    expect(ServiceManager.fromMaps(maps).upsertService(spec)).toMatchObject({ change: 'unchanged', writes: 0 });
  });

  it('restored entries whose bytes differ from what the manager writes are put back exactly by a rollback', () => {
    const maps = memoryMaps();
    const spec: ServiceSpec = { frontend: { address: '10.96.0.1', port: 80, protocol: 'TCP' }, backends: [{ address: '10.244.0.1', port: 80 }, { address: '10.244.0.2', port: 80, terminating: true }] };
    ServiceManager.fromMaps(maps).upsertService(spec);
    // Damage padding/unused bytes of every kind of entry: a restarted manager must keep those bytes to undo exactly.
    const damage = (t: ServiceTable, pick: (k: Uint8Array) => boolean, at: number) => {
      for (const [k, v] of [...t.entries()].filter(([k]) => pick(k))) {
        const bad = v.slice();
        bad[at] ^= 0x40;
        t.update(k, bad);
      }
    };
    damage(maps.backends4, () => true, 7);
    damage(maps.revNat4, () => true, 7);
    damage(maps.services4, () => true, 11);
    const before = rawDump(maps);
    for (const budget of [0, 1, 3, 5]) {
      const { tables, budget: b } = instrumentAll(maps);
      const m = ServiceManager.fromMaps(tables);
      b.remaining = budget;
      expect(() => m.deleteService('10.96.0.1:80/tcp')).toThrow();
      expect(rawDump(maps)).toEqual(before);
      b.remaining = budget;
      expect(() => m.upsertService({ ...spec, backends: [{ address: '10.244.0.3', port: 81 }] })).toThrow();
      expect(rawDump(maps)).toEqual(before);
    }
  });
});

describe('entry encoders', () => {
  it('give the same bytes as the shared schemas', () => {
    const random = rng(3);
    const int = (n: number) => Math.floor(random() * n);
    for (let i = 0; i < 200; i++) {
      const a4 = [int(256), int(256), int(256), int(256)];
      const t4 = a4.join('.');
      const b6 = Uint8Array.from({ length: 16 }, () => int(256));
      const t6 = entries6.decodeRevNatValue(entries6.revNatValue(b6, 1)).address;
      const port = int(65536);
      const slot = int(65536);
      const proto = int(256);
      const v = { backendId: int(2 ** 32), count: int(65536), revNatIndex: int(65536), flags: int(256) };
      expect(entries4.serviceKey(Uint8Array.from(a4), port, slot, proto)).toEqual(ServiceKey4.encode({ address: t4, port, backendSlot: slot, proto, scope: 0 }));
      expect(entries6.serviceKey(b6, port, slot, proto)).toEqual(ServiceKey6.encode({ address: t6, port, backendSlot: slot, proto, scope: 0 }));
      expect(entries4.serviceValue(v.backendId, v.count, v.revNatIndex, v.flags)).toEqual(ServiceEntry.encode({ ...v, flags2: 0 }));
      expect(entries4.backendValue(Uint8Array.from(a4), port, proto, v.flags)).toEqual(Backend4.encode({ address: t4, port, proto, flags: v.flags }));
      expect(entries6.backendValue(b6, port, proto, v.flags)).toEqual(Backend6.encode({ address: t6, port, proto, flags: v.flags }));
      expect(entries4.revNatValue(Uint8Array.from(a4), port)).toEqual(RevNat4.encode({ address: t4, port }));
      expect(entries6.revNatValue(b6, port)).toEqual(RevNat6.encode({ address: t6, port }));
      expect(entries4.decodeServiceKey(ServiceKey4.encode({ address: t4, port, backendSlot: slot, proto, scope: 1 }))).toEqual({ address: t4, port, backendSlot: slot, proto, scope: 1 });
      expect(entries4.decodeServiceValue(ServiceEntry.encode({ ...v, flags2: 5 }))).toEqual({ ...v, flags2: 5 });
      expect(entries6.decodeBackendValue(Backend6.encode({ address: t6, port, proto, flags: 3 }))).toEqual({ address: t6, port, proto, flags: 3 });
    }
  });
});

describe('spec parsing', () => {
  it('canonicalises frontends and endpoints', () => {
    expect(parseFrontend('10.96.0.10:53/udp')).toEqual({ address: '10.96.0.10', port: 53, protocol: 'UDP' });
    expect(parseEndpoint('255.0.10.100:1')).toMatchObject({ address: '255.0.10.100', family: 'ipv4', bytes: Uint8Array.from([255, 0, 10, 100]) });
    expect(parseFrontend('[FD00:0::A]:443')).toEqual({ address: 'fd00::a', port: 443, protocol: 'TCP' });
    expect(parseEndpoint('[::ffff:10.0.0.1]:80')).toMatchObject({ address: '::ffff:10.0.0.1', family: 'ipv6' });
    const n = normalizeService({ frontend: { address: 'fd00:0:0:0:0:0:0:a', port: 80, protocol: 'TCP' }, backends: [{ address: 'FD00::1', port: 8080 }] });
    expect(n.id).toBe('[fd00::a]:80/TCP');
    expect(n.backends[0]!.key).toBe('[fd00::1]:8080');
  });

  it('refuses malformed text with a code', () => {
    const cases: [string, string][] = [
      ['10.0.0.1', 'LB_INVALID_ADDRESS'],
      ['fd00::1:80', 'LB_INVALID_ADDRESS'],
      ['10.0.0.1:0', 'LB_INVALID_PORT'],
      ['10.0.0.1:99999', 'LB_INVALID_PORT'],
      ['10.0.0.1:8x', 'LB_INVALID_PORT'],
      ['010.0.0.1:80', 'LB_INVALID_ADDRESS'],
      ['10.0.0.00:80', 'LB_INVALID_ADDRESS'],
      ['10.0.0:80', 'LB_INVALID_ADDRESS'],
      ['10.0.0.1.2:80', 'LB_INVALID_ADDRESS'],
      ['10.0.0.256:80', 'LB_INVALID_ADDRESS'],
      ['10..0.1:80', 'LB_INVALID_ADDRESS'],
      ['.10.0.1:80', 'LB_INVALID_ADDRESS'],
      ['10.0.0.:80', 'LB_INVALID_ADDRESS'],
      ['1e1.0.0.1:80', 'LB_INVALID_ADDRESS'],
      ['1000.0.0.1:80', 'LB_INVALID_ADDRESS'],
      ['10.0.0.1:80/sctp', 'LB_INVALID_PROTOCOL'],
    ];
    for (const [text, code] of cases) {
      expect(() => parseFrontend(text), text).toThrow(ServiceError);
      try {
        parseFrontend(text);
      } catch (e) {
        expect((e as ServiceError).code, text).toBe(code);
      }
    }
  });
});

describe('IdAllocator', () => {
  it('hands out fresh ids first, then freed ones oldest first, and undoes to a mark', () => {
    const a = new IdAllocator(5, [2, 4]);
    expect([a.allocate(), a.allocate()]).toEqual([5, 1]);
    expect(a.allocate()).toBe(3);
    expect(a.allocate()).toBeUndefined();
    a.release(4);
    a.release(2);
    const mark = a.mark();
    expect([a.allocate(), a.allocate(), a.allocate()]).toEqual([4, 2, undefined]);
    a.reset(mark);
    expect(a.available).toBe(2);
    expect(a.allocate()).toBe(4);
    expect(() => new IdAllocator(3, [4])).toThrow(RangeError);
  });
});
