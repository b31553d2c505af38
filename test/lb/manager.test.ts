/**
 * The service manager against real kernel maps (created from the declarations
 * in programs/lb/maps.ts, pinned on a private bpffs where restore is tested):
 * exact entries after upsert/grow/shrink/delete, bad input and full maps
 * leaving the maps byte-for-byte unchanged, rollback of a write the kernel
 * refuses midway, restore from pins, and sync writing only the difference.
 */
import { describe, expect, it } from 'vitest';
import { BpfMap } from '../../loader/index.js';
import { ServiceError, ServiceManager, kernelTable, type ServiceSpec } from '../../programs/lb/index.js';
import { BACKEND_FLAG_TERMINATING, IPPROTO_TCP, IPPROTO_UDP, SERVICE_FLAG_NODEPORT } from '../../programs/lb/schemas.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { createMaps, decodedDump, instrument, instrumentAll, rawDump } from './helpers.js';

const kernel = need({ kernel: true });

const web: ServiceSpec = {
  frontend: { address: '10.96.0.10', port: 80, protocol: 'TCP' },
  backends: [
    { address: '10.244.1.1', port: 8080 },
    { address: '10.244.1.2', port: 8080 },
  ],
};

function expectCode(fn: () => unknown, code: string): ServiceError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ServiceError);
    expect((e as ServiceError).code).toBe(code);
    return e as ServiceError;
  }
  throw new Error(`expected a ServiceError ${code}, nothing was thrown`);
}

describe.skipIf(!kernel)('ServiceManager on kernel maps', () => {
  it('writes exact entries for a new service, then grows, shrinks, drains and deletes it', () => {
    using maps = createMaps();
    const m = ServiceManager.fromMaps(maps);
    const r = m.upsertService(web);
    expect(r.change).toBe('added');
    // 2 backends + revNat + 2 slots + frontend.
    expect(r.writes).toBe(6);
    const fe = { address: '10.96.0.10', port: 80, proto: IPPROTO_TCP, scope: 0, flags: 0, flags2: 0 };
    expect(decodedDump(maps, 'ipv4')).toEqual({
      services: [
        { ...fe, backendSlot: 0, backendId: 0, count: 2, revNatIndex: 1 },
        { ...fe, backendSlot: 1, backendId: 1, count: 2, revNatIndex: 1 },
        { ...fe, backendSlot: 2, backendId: 2, count: 2, revNatIndex: 1 },
      ],
      backends: [
        { id: 1, address: '10.244.1.1', port: 8080, proto: IPPROTO_TCP, flags: 0 },
        { id: 2, address: '10.244.1.2', port: 8080, proto: IPPROTO_TCP, flags: 0 },
      ],
      revNat: [{ index: 1, address: '10.96.0.10', port: 80 }],
    });

    // Grow to three: the new backend gets id 3 and slot 3; every slot repeats the new count.
    m.upsertService({ ...web, backends: [...web.backends, { address: '10.244.1.3', port: 8080 }] });
    let d = decodedDump(maps, 'ipv4');
    expect(d.services.map((s) => [s.backendSlot, s.backendId, s.count])).toEqual([[0, 0, 3], [1, 1, 3], [2, 2, 3], [3, 3, 3]]);
    expect(d.backends.map((b) => [b.id, b.address])).toEqual([[1, '10.244.1.1'], [2, '10.244.1.2'], [3, '10.244.1.3']]);

    // Shrink: drop the first backend. The survivors keep their ids; slot 1 takes the one that was beyond the new count.
    m.upsertService({ ...web, backends: [{ address: '10.244.1.2', port: 8080 }, { address: '10.244.1.3', port: 8080 }] });
    d = decodedDump(maps, 'ipv4');
    expect(d.services.map((s) => [s.backendSlot, s.backendId, s.count])).toEqual([[0, 0, 2], [1, 3, 2], [2, 2, 2]]);
    expect(d.backends.map((b) => b.id)).toEqual([2, 3]);

    // Drain backend 3: it leaves the picked slots but stays (flagged) in a slot beyond the count.
    m.upsertService({ ...web, backends: [{ address: '10.244.1.2', port: 8080 }, { address: '10.244.1.3', port: 8080, terminating: true }] });
    d = decodedDump(maps, 'ipv4');
    expect(d.services.map((s) => [s.backendSlot, s.backendId, s.count])).toEqual([[0, 0, 1], [1, 2, 1], [2, 3, 1]]);
    expect(d.backends).toEqual([
      { id: 2, address: '10.244.1.2', port: 8080, proto: IPPROTO_TCP, flags: 0 },
      { id: 3, address: '10.244.1.3', port: 8080, proto: IPPROTO_TCP, flags: BACKEND_FLAG_TERMINATING },
    ]);
    expect(m.get('10.96.0.10:80/tcp')!.backends).toEqual([
      { address: '10.244.1.2', port: 8080, terminating: false, local: false, id: 2 },
      { address: '10.244.1.3', port: 8080, terminating: true, local: false, id: 3 },
    ]);

    expect(m.deleteService(web.frontend)).toBe(true);
    expect(m.deleteService(web.frontend)).toBe(false);
    expect(rawDump(maps)).toEqual({ services4: [], backends4: [], revNat4: [], services6: [], backends6: [], revNat6: [] });
    expect(m.list()).toEqual([]);
  });

  it('handles IPv6 and NodePort wildcard frontends in their own maps', () => {
    using maps = createMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService({ frontend: { address: 'fd00:0:0::0a', port: 53, protocol: 'UDP' }, backends: [{ address: 'fd00::1:5', port: 53 }] });
    m.upsertService({ frontend: { address: '0.0.0.0', port: 30080, protocol: 'TCP' }, nodePort: true, backends: [{ address: '10.244.1.1', port: 8080 }] });
    const v6 = decodedDump(maps, 'ipv6');
    expect(v6.services).toEqual([
      { address: 'fd00::a', port: 53, backendSlot: 0, proto: IPPROTO_UDP, scope: 0, backendId: 0, count: 1, revNatIndex: 1, flags: 0, flags2: 0 },
      { address: 'fd00::a', port: 53, backendSlot: 1, proto: IPPROTO_UDP, scope: 0, backendId: 1, count: 1, revNatIndex: 1, flags: 0, flags2: 0 },
    ]);
    expect(v6.backends).toEqual([{ id: 1, address: 'fd00::1:5', port: 53, proto: IPPROTO_UDP, flags: 0 }]);
    expect(v6.revNat).toEqual([{ index: 1, address: 'fd00::a', port: 53 }]);
    const v4 = decodedDump(maps, 'ipv4');
    expect(v4.services.map((s) => [s.address, s.port, s.backendSlot, s.flags])).toEqual([['0.0.0.0', 30080, 0, SERVICE_FLAG_NODEPORT], ['0.0.0.0', 30080, 1, SERVICE_FLAG_NODEPORT]]);
    expect(m.list().map((s) => `${s.frontend.address}:${s.frontend.port}/${s.frontend.protocol}:${s.nodePort}`)).toEqual(['0.0.0.0:30080/TCP:true', 'fd00::a:53/UDP:false']);
  });

  it('refuses bad input with typed errors and leaves the maps byte-for-byte unchanged', () => {
    using maps = createMaps();
    const m = ServiceManager.fromMaps(maps, { maxBackendsPerService: 4 });
    m.upsertService(web);
    m.upsertService({ frontend: { address: 'fd00::a', port: 443, protocol: 'TCP' }, backends: [{ address: 'fd00::1', port: 8443 }] });
    const before = rawDump(maps);
    const listBefore = m.list();
    const fe = web.frontend;
    const cases: [string, () => unknown][] = [
      ['LB_INVALID_ADDRESS', () => m.upsertService({ ...web, frontend: { ...fe, address: '10.96.0.256' } })],
      ['LB_INVALID_ADDRESS', () => m.upsertService({ ...web, frontend: { ...fe, address: '0.0.0.0' } })],
      ['LB_INVALID_ADDRESS', () => m.upsertService({ ...web, nodePort: true })],
      ['LB_INVALID_ADDRESS', () => m.upsertService({ frontend: { ...fe, address: '::ffff:10.96.0.10' }, backends: [] })],
      ['LB_INVALID_ADDRESS', () => m.upsertService({ ...web, backends: [{ address: 'backend-1', port: 80 }] })],
      ['LB_INVALID_ADDRESS', () => m.upsertService({ ...web, backends: [{ address: '0.0.0.0', port: 80 }] })],
      ['LB_INVALID_PORT', () => m.upsertService({ ...web, frontend: { ...fe, port: 0 } })],
      ['LB_INVALID_PORT', () => m.upsertService({ ...web, frontend: { ...fe, port: 65536 } })],
      ['LB_INVALID_PORT', () => m.upsertService({ ...web, backends: [{ address: '10.0.0.1', port: 80.5 }] })],
      ['LB_INVALID_PORT', () => m.upsertService({ ...web, backends: [{ address: '10.0.0.1', port: '80' as never }] })],
      ['LB_INVALID_PROTOCOL', () => m.upsertService({ ...web, frontend: { ...fe, protocol: 'SCTP' as never } })],
      ['LB_MIXED_FAMILY', () => m.upsertService({ ...web, backends: [{ address: 'fd00::1', port: 80 }] })],
      ['LB_DUPLICATE_BACKEND', () => m.upsertService({ ...web, backends: [web.backends[0]!, { address: '10.244.1.01'.replace('01', '1'), port: 8080 }] })],
      ['LB_TOO_MANY_BACKENDS', () => m.upsertService({ ...web, backends: [1, 2, 3, 4, 5].map((i) => ({ address: `10.0.0.${i}`, port: 80 })) })],
      ['LB_INVALID_SPEC', () => m.upsertService({ ...web, backend: [] } as never)],
      ['LB_INVALID_SPEC', () => m.upsertService({ frontend: fe } as never)],
      // One bad spec anywhere in a batch writes nothing, not even the good ones before it.
      ['LB_INVALID_PORT', () => m.apply({ upsert: [{ ...web, frontend: { ...fe, port: 81 } }, { ...web, frontend: { ...fe, port: 82 }, backends: [{ address: '10.0.0.1', port: -1 }] }] })],
      ['LB_DUPLICATE_FRONTEND', () => m.sync([web, { ...web, frontend: { ...fe, address: '10.96.000.10'.replace('000', '0') }, backends: [] }])],
      ['LB_DUPLICATE_FRONTEND', () => m.apply({ upsert: [web], delete: ['10.96.0.10:80/TCP'] })],
      ['LB_INVALID_ADDRESS', () => m.deleteService({ address: 'nope', port: 80, protocol: 'TCP' })],
      ['LB_INVALID_PROTOCOL', () => m.deleteService('10.96.0.10:80/icmp')],
    ];
    for (const [code, fn] of cases) {
      const e = expectCode(fn, code);
      expect(e.message.length).toBeGreaterThan(10);
    }
    expect(rawDump(maps)).toEqual(before);
    expect(m.list()).toEqual(listBefore);
  });

  it('names the field that is wrong', () => {
    using maps = createMaps();
    const m = ServiceManager.fromMaps(maps);
    const e = expectCode(() => m.sync([web, { ...web, frontend: { ...web.frontend, port: 81 }, backends: [web.backends[0]!, { address: 'fd00::1', port: 1 }] }]), 'LB_MIXED_FAMILY');
    expect(e.path).toBe('upsert[1].backends[1].address');
    expect(e.message).toMatch(/IPv6 backend fd00::1 for IPv4 frontend 10\.96\.0\.10:81\/TCP/);
  });

  it('refuses a change that does not fit the maps before writing anything', () => {
    using maps = createMaps(8);
    const m = ServiceManager.fromMaps(maps);
    m.upsertService(web); // 3 service entries, 2 backends
    const before = rawDump(maps);
    const big: ServiceSpec = { frontend: { address: '10.96.0.11', port: 80, protocol: 'TCP' }, backends: [1, 2, 3, 4, 5].map((i) => ({ address: `10.0.1.${i}`, port: 80 })) };
    const e = expectCode(() => m.upsertService(big), 'LB_MAP_FULL');
    expect(e.message).toMatch(/lb4_services/);
    expect(rawDump(maps)).toEqual(before);
    // Replacing the first service frees its entries first within one sync, so the same service fits then.
    const r = m.sync([big]);
    expect(r).toMatchObject({ added: ['10.96.0.11:80/TCP'], removed: ['10.96.0.10:80/TCP'], updated: [], unchanged: 0 });
    expect(decodedDump(maps, 'ipv4').services).toHaveLength(6);
  });

  it('rolls back every write when the kernel refuses one midway', () => {
    using maps = createMaps();
    const m0 = ServiceManager.fromMaps(maps);
    m0.upsertService(web);
    const before = rawDump(maps);
    // A services table that claims more room than the kernel map has: the pre-check passes and the kernel says E2BIG.
    using small = createMaps({ services4: 4 });
    const lying = { ...instrument(small.services4), maxEntries: 1000 };
    const m = ServiceManager.fromMaps({ services4: lying, backends4: small.backends4, revNat4: small.revNat4 });
    m.upsertService({ ...web, backends: [web.backends[0]!] }); // 2 of 4 entries
    const smallBefore = rawDump(small);
    const e = expectCode(() => m.upsertService({ ...web, backends: [1, 2, 3, 4].map((i) => ({ address: `10.0.1.${i}`, port: 80 })) }), 'LB_MAP_FULL');
    expect(e.message).toMatch(/rolled back/);
    expect(e.cause).toBeDefined();
    expect(rawDump(small)).toEqual(smallBefore);
    expect(m.get(web.frontend)!.backends.map((b) => b.address)).toEqual(['10.244.1.1']);

    // An injected failure at every possible write of a sync: each one leaves the maps as they were.
    const inst = instrumentAll(maps);
    const m2 = ServiceManager.fromMaps(inst.tables);
    const desired: ServiceSpec[] = [
      { ...web, backends: [{ address: '10.244.1.9', port: 8080 }, web.backends[1]!] },
      { frontend: { address: 'fd00::b', port: 53, protocol: 'UDP' }, backends: [{ address: 'fd00::53', port: 53 }] },
    ];
    let failures = 0;
    for (let k = 0; ; k++) {
      inst.budget.remaining = k;
      const writesBefore = inst.total();
      let error: unknown;
      try {
        m2.sync(desired);
      } catch (err) {
        error = err;
      }
      inst.budget.remaining = undefined;
      if (error === undefined) break;
      failures++;
      expect((error as ServiceError).code).toBe('LB_WRITE_FAILED');
      expect((error as ServiceError).message).toMatch(/injected failure/);
      expect(inst.total() - writesBefore).toBe(2 * k); // k writes, then k undone
      expect(rawDump(maps)).toEqual(before);
      expect(m2.list()).toEqual(m0.list());
    }
    // The update creates a backend, rewrites slot 1 and deletes the old backend; the addition takes 4 writes.
    expect(failures).toBe(3 + 4);
    expect(m2.list().map((s) => s.frontend.address)).toEqual(['10.96.0.10', 'fd00::b']);
  });

  it('rolls back batched writes that stop midway', () => {
    using maps = createMaps();
    const inst = instrumentAll(maps);
    const m = ServiceManager.fromMaps(inst.tables);
    const svc = (i: number, n = 2): ServiceSpec => ({
      frontend: { address: `10.96.3.${i}`, port: 80, protocol: 'TCP' },
      backends: Array.from({ length: n }, (_, k) => ({ address: `10.244.3.${i}`, port: 9000 + k })),
    });
    m.sync(Array.from({ length: 30 }, (_, i) => svc(i)));
    const before = rawDump(maps);
    const listBefore = m.list();
    // Everything changes: 10 removed, 10 grown, 10 shrunk, 10 added; one phase of many services goes out as one batch.
    const desired = [...Array.from({ length: 10 }, (_, i) => svc(10 + i, 3)), ...Array.from({ length: 10 }, (_, i) => svc(20 + i, 1)), ...Array.from({ length: 10 }, (_, i) => svc(40 + i))];
    let total = 0;
    for (const k of [0, 1, 9, 10, 11, 25, 40, 60, 80, 100, 1000]) {
      inst.budget.remaining = k;
      let error: unknown;
      try {
        total = m.sync(desired).writes;
      } catch (e) {
        error = e;
      }
      inst.budget.remaining = undefined;
      if (error === undefined) break;
      expect((error as ServiceError).code).toBe('LB_WRITE_FAILED');
      expect(rawDump(maps)).toEqual(before);
      expect(m.list()).toEqual(listBefore);
    }
    // Removed: 6 entries each; grown: backend + new slot + 2 slots (count) + frontend; shrunk: slot 1 (count) + frontend + slot 2 + backend; added: 6.
    expect(total).toBe(10 * 6 + 10 * 5 + 10 * 4 + 10 * 6);
    expect(m.list().map((s) => s.frontend.address)).toEqual(desired.map((d) => d.frontend.address));
    expect(decodedDump(maps, 'ipv4').services).toHaveLength(10 * 4 + 10 * 2 + 10 * 3);
  });

  it('restores services, ids and free lists from pinned maps', () => {
    using pins = createPinDir('lbmgr');
    const specs: ServiceSpec[] = [
      web,
      { frontend: { address: '10.96.0.11', port: 53, protocol: 'UDP' }, backends: [{ address: '10.244.2.1', port: 53 }, { address: '10.244.2.2', port: 53, terminating: true }] },
      { frontend: { address: '::', port: 30053, protocol: 'UDP' }, nodePort: true, backends: [{ address: 'fd00::2:1', port: 53 }] },
    ];
    let listed;
    {
      using m = ServiceManager.fromPins(pins.path, { create: true });
      for (const s of specs) m.upsertService(s);
      m.deleteService(web.frontend); // frees backend ids 1, 2 and revNat 1
      m.upsertService(web); // fresh ids 5, 6 and revNat 3 (freed ones are reused last)
      listed = m.list();
    }
    using m = ServiceManager.fromPins(pins.path);
    expect(m.restored).toEqual({ services: 3, backends: 5, orphansRemoved: 0 });
    expect(m.list()).toEqual(listed);
    expect(m.get(web.frontend)!.backends.map((b) => b.id)).toEqual([5, 6]);
    // Allocation continues after the highest id, never reusing a live one.
    const r = m.upsertService({ frontend: { address: '10.96.0.12', port: 80, protocol: 'TCP' }, backends: [{ address: '10.244.3.1', port: 80 }] });
    expect(r.service.backends[0]!.id).toBe(7);
    expect(r.service.revNatIndex).toBe(4);
    const all = m.list().flatMap((s) => (s.family === 'ipv4' ? s.backends.map((b) => b.id) : []));
    expect(new Set(all).size).toBe(all.length);
    // Unchanged after restore: the same desired set costs no write.
    expect(m.upsertService(specs[1]!)).toMatchObject({ change: 'unchanged', writes: 0 });
  });

  it('refuses pin directories without complete, matching service maps', () => {
    using pins = createPinDir('lbpins');
    expectCode(() => ServiceManager.fromPins(`${pins.path}/nothing-here`), 'LB_MAPS');
    const e = expectCode(() => ServiceManager.fromPins(pins.path), 'LB_MAPS');
    expect(e.message).toMatch(/no service maps pinned in .*lb4_services/);
    using maps = createMaps();
    maps.services4.pin(`${pins.path}/lb4_services`);
    expect(expectCode(() => ServiceManager.fromPins(pins.path), 'LB_MAPS').message).toMatch(/the ipv4 maps come together/);
    // A map of another shape under a service map's name.
    using wrong = BpfMap.create({ name: 'lb4_backends', type: 'HASH', key: 4, value: 4, maxEntries: 16 });
    wrong.pin(`${pins.path}/lb4_backends`);
    expect(expectCode(() => ServiceManager.fromPins(pins.path), 'LB_MAPS').message).toMatch(/does not match "lb4_backends": value size 4/);
    expect(expectCode(() => ServiceManager.fromPins(pins.path, { create: true }), 'LB_MAPS').message).toMatch(/lb4_backends/);
  });

  it('restores ids after exhaustion: the freed ones are reused, oldest first', () => {
    using maps = createMaps({ backends4: 4 });
    const m = ServiceManager.fromMaps(maps);
    const svc = (i: number): ServiceSpec => ({ frontend: { address: `10.96.1.${i}`, port: 80, protocol: 'TCP' }, backends: [{ address: `10.244.9.${i}`, port: 80 }] });
    m.sync([svc(1), svc(2), svc(3)]); // backend ids 1..3 of 4
    m.deleteService(svc(2).frontend);
    m.deleteService(svc(1).frontend);
    const m2 = ServiceManager.fromMaps(maps);
    // id 4 is fresh; then the gaps 1, 2 in ascending order (what a restore knows of the free list).
    const ids = [4, 5, 6].map((i) => m2.upsertService(svc(i)).service.backends[0]!.id);
    expect(ids).toEqual([4, 1, 2]);
    const before = rawDump(maps);
    const e = expectCode(() => m2.upsertService(svc(7)), 'LB_MAP_FULL');
    expect(e.message).toMatch(/lb4_backends/);
    expect(rawDump(maps)).toEqual(before);
  });

  it('deletes leftovers of an interrupted change on restore and refuses tables it cannot have written', () => {
    using maps = createMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService(web);
    const before = rawDump(maps);
    // A backend no slot names (a change interrupted after step 1).
    kernelTable(maps.backends4).update(new Uint8Array([99, 0, 0, 0]), new Uint8Array([10, 0, 0, 99, 0, 80, 6, 0]));
    const m2 = ServiceManager.fromMaps(maps);
    expect(m2.restored.orphansRemoved).toBe(1);
    expect(rawDump(maps)).toEqual(before);

    // A frontend claiming more slots than exist.
    const enc = { key: new Uint8Array(12), value: new Uint8Array(12) };
    enc.key.set([10, 96, 0, 99, 0, 80, 0, 0, 6, 0, 0, 0]);
    enc.value.set([0, 0, 0, 0, 2, 0, 9, 0, 0, 0, 0, 0]);
    kernelTable(maps.revNat4).update(new Uint8Array([9, 0]), new Uint8Array([10, 96, 0, 99, 0, 80, 0, 0]));
    kernelTable(maps.services4).update(enc.key, enc.value);
    const e = expectCode(() => ServiceManager.fromMaps(maps), 'LB_STATE');
    expect(e.message).toMatch(/10\.96\.0\.99:80\/TCP has count 2 but no slot 1/);
  });

  it('sync writes only the difference', () => {
    using maps = createMaps();
    const inst = instrumentAll(maps);
    const m = ServiceManager.fromMaps(inst.tables);
    const svc = (i: number, backends = 2): ServiceSpec => ({
      frontend: { address: `10.96.${i >> 8}.${i & 255}`, port: 80, protocol: 'TCP' },
      backends: Array.from({ length: backends }, (_, k) => ({ address: `10.244.${i >> 8}.${i & 255}`, port: 8000 + k })),
    });
    const desired = Array.from({ length: 200 }, (_, i) => svc(i));
    let r = m.sync(desired);
    expect(r.added).toHaveLength(200);
    expect(r.writes).toBe(200 * 6);
    expect(inst.total()).toBe(200 * 6);

    let w = inst.total();
    r = m.sync(desired);
    expect(r).toEqual({ added: [], updated: [], removed: [], unchanged: 200, writes: 0 });
    expect(inst.total()).toBe(w);

    // One service gains a backend, one is removed, one is added.
    const next = desired.slice(1);
    next[10] = svc(11, 3);
    next.push(svc(500));
    const before = rawDump(maps);
    r = m.sync(next);
    expect(r).toEqual({ added: ['10.96.1.244:80/TCP'], updated: ['10.96.0.11:80/TCP'], removed: ['10.96.0.0:80/TCP'], unchanged: 198, writes: r.writes });
    // Update: backend + new slot + 2 slots rewritten (count) + frontend = 5; delete: 6; add: 6.
    expect(r.writes).toBe(5 + 6 + 6);
    expect(inst.total() - w).toBe(17);
    const after = rawDump(maps);
    const changed = (a: string[], b: string[]) => a.filter((x) => !b.includes(x)).length;
    // Entries that differ are exactly those of the three services.
    expect(changed(after.services4!, before.services4!)).toBe(4 + 3);
    expect(changed(before.services4!, after.services4!)).toBe(3 + 3);
    w = inst.total();
  });
});
