/**
 * ClientIP session affinity in the service manager: the exact entries
 * (`SERVICE_FLAG_AFFINITY` on every entry, the timeout in both frontend
 * entries' `backendId`), the diff (a timeout change rewrites the frontend
 * entries only; adding or removing affinity rewrites every entry and leaves
 * the maps as without it), validation with paths and nothing written, and
 * restore (in memory and from pins on a private bpffs): flag and timeout read
 * back, an interrupted change tolerated, inconsistent frontends refused.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfMap } from '../../loader/index.js';
import { entries4 } from '../../programs/lb/entries.js';
import { kernelTable, ServiceManager, type ServiceSpec } from '../../programs/lb/index.js';
import {
  IPPROTO_TCP, SERVICE_FLAG_AFFINITY, SERVICE_FLAG_EXTERNAL_LOCAL, SERVICE_FLAG_NODEPORT, SERVICE_SCOPE_EXTERNAL, SERVICE_SCOPE_INTERNAL,
  ServiceEntry, ServiceKey4,
} from '../../programs/lb/schemas.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { decodedDump, instrumentAll, memoryMaps, rawDump, throwsCode } from './helpers.js';

const VIP = { address: '10.96.0.10', port: 80, protocol: 'TCP' } as const;
const NP = { address: '0.0.0.0', port: 30080, protocol: 'TCP' } as const;
const B1 = { address: '10.244.1.1', port: 8080 };
const B2 = { address: '10.244.1.2', port: 8080 };
const L1 = { address: '10.244.1.5', port: 8080, local: true };
const sticky = (timeoutSeconds: number, backends: ServiceSpec['backends'] = [B1, B2, { ...L1, terminating: true }]): ServiceSpec => ({
  frontend: VIP,
  backends,
  sessionAffinity: { timeoutSeconds },
});
const localSticky = (timeoutSeconds: number): ServiceSpec => ({
  frontend: NP, nodePort: true, externalTrafficPolicy: 'Local', backends: [B1, L1], sessionAffinity: { timeoutSeconds },
});

/** The services entries as [scope, slot, backendId, count, flags], by port, slot and scope. */
const services = (maps: ReturnType<typeof memoryMaps>) =>
  decodedDump(maps, 'ipv4')
    .services.sort((a, b) => a.port - b.port || a.backendSlot - b.backendSlot || a.scope - b.scope)
    .map((e) => [e.scope, e.backendSlot, e.backendId, e.count, e.flags]);

/** A frontend entry key (slot 0) of the IPv4 services table. */
const frontendKey = (address: Uint8Array, port: number, scope = SERVICE_SCOPE_EXTERNAL) => entries4.serviceKey(address, port, 0, IPPROTO_TCP, undefined, scope);
const VIP_BYTES = new Uint8Array([10, 96, 0, 10]);

describe('session affinity in the service manager', () => {
  it('flags every entry and puts the timeout in the frontend entry; the view reports it; a resync writes nothing', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    const r = m.upsertService(sticky(300));
    expect(r.change).toBe('added');
    const A = SERVICE_FLAG_AFFINITY;
    expect(services(maps)).toEqual([
      [SERVICE_SCOPE_EXTERNAL, 0, 300, 2, A],
      [SERVICE_SCOPE_EXTERNAL, 1, 1, 2, A],
      [SERVICE_SCOPE_EXTERNAL, 2, 2, 2, A],
      [SERVICE_SCOPE_EXTERNAL, 3, 3, 2, A],
    ]);
    expect(r.service.sessionAffinity).toEqual({ timeoutSeconds: 300 });
    expect(m.get(VIP)!.sessionAffinity).toEqual({ timeoutSeconds: 300 });
    expect(m.upsertService(sticky(300))).toMatchObject({ change: 'unchanged', writes: 0 });
    // Without affinity: no flag, backendId 0, and no sessionAffinity in the view.
    const plain = m.upsertService({ frontend: { ...VIP, port: 81 }, backends: [B1] });
    expect(plain.service).not.toHaveProperty('sessionAffinity');
    expect(decodedDump(maps, 'ipv4').services.filter((e) => e.port === 81).map((e) => [e.backendSlot, e.backendId, e.flags])).toEqual([[0, 0, 0], [1, 4, 0]]);
  });

  it('a Local-policy service holds the timeout in both frontend entries', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService(localSticky(60));
    const f = SERVICE_FLAG_NODEPORT | SERVICE_FLAG_EXTERNAL_LOCAL | SERVICE_FLAG_AFFINITY;
    expect(services(maps)).toEqual([
      [SERVICE_SCOPE_EXTERNAL, 0, 60, 2, f],
      [SERVICE_SCOPE_INTERNAL, 0, 60, 1, f],
      [SERVICE_SCOPE_EXTERNAL, 1, 1, 2, f],
      [SERVICE_SCOPE_INTERNAL, 1, 2, 1, f],
      [SERVICE_SCOPE_EXTERNAL, 2, 2, 2, f],
    ]);
    expect(m.get(NP)).toMatchObject({ externalTrafficPolicy: 'Local', sessionAffinity: { timeoutSeconds: 60 } });
  });

  it('a timeout change rewrites the frontend entries only', () => {
    const maps = memoryMaps();
    const { tables, total } = instrumentAll(maps);
    const m = ServiceManager.fromMaps(tables);
    m.upsertService(sticky(300));
    m.upsertService(localSticky(60));
    const before = total();
    const r = m.upsertService(sticky(301));
    expect(r).toMatchObject({ change: 'updated', writes: 1 });
    expect(total() - before).toBe(1);
    expect(decodedDump(maps, 'ipv4').services.filter((e) => e.port === 80).map((e) => e.backendId)).toEqual([301, 1, 2, 3]);
    expect(m.get(VIP)!.sessionAffinity).toEqual({ timeoutSeconds: 301 });
    // Both frontend entries of the Local service, nothing else.
    const r2 = m.upsertService(localSticky(86400));
    expect(r2.writes).toBe(2);
    const frontends = decodedDump(maps, 'ipv4').services.filter((e) => e.port === 30080 && e.backendSlot === 0).sort((a, b) => a.scope - b.scope);
    expect(frontends.map((e) => [e.scope, e.backendId])).toEqual([[SERVICE_SCOPE_EXTERNAL, 86400], [SERVICE_SCOPE_INTERNAL, 86400]]);
  });

  it('adding affinity rewrites every entry of the service; removing it clears flag and timeout, leaving the maps as without it', () => {
    const plain: ServiceSpec = { frontend: NP, nodePort: true, externalTrafficPolicy: 'Local', backends: [B1, L1] };
    const reference = memoryMaps();
    ServiceManager.fromMaps(reference).upsertService(plain);
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService(plain);
    // Frontend + 2 slots, INTERNAL frontend + 1 slot; the backends and the reverse NAT stay.
    expect(m.upsertService(localSticky(10)).writes).toBe(5);
    expect(decodedDump(maps, 'ipv4').services.every((e) => (e.flags & SERVICE_FLAG_AFFINITY) !== 0)).toBe(true);
    const back = m.upsertService(plain);
    expect(back).toMatchObject({ change: 'updated', writes: 5 });
    expect(back.service).not.toHaveProperty('sessionAffinity');
    expect(rawDump(maps)).toEqual(rawDump(reference));
    expect(decodedDump(maps, 'ipv4').services.some((e) => (e.flags & SERVICE_FLAG_AFFINITY) !== 0 || (e.backendSlot === 0 && e.backendId !== 0))).toBe(false);
  });

  it('refuses a bad sessionAffinity with its path, writing nothing; accepts the bounds', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService(sticky(300));
    const before = rawDump(maps);
    const bad = (sessionAffinity: unknown, path: string) =>
      throwsCode(() => m.apply({ upsert: [{ frontend: VIP, backends: [B1], sessionAffinity } as never] }), 'LB_INVALID_SPEC', `upsert[0].${path}`);
    bad(300, 'sessionAffinity');
    bad(null, 'sessionAffinity');
    bad([300], 'sessionAffinity');
    expect(bad({ timeoutSeconds: 300, clientIP: true }, 'sessionAffinity').message).toMatch(/unknown field 'clientIP'/);
    bad({}, 'sessionAffinity.timeoutSeconds');
    bad({ timeoutSeconds: 0 }, 'sessionAffinity.timeoutSeconds');
    bad({ timeoutSeconds: 86401 }, 'sessionAffinity.timeoutSeconds');
    bad({ timeoutSeconds: 1.5 }, 'sessionAffinity.timeoutSeconds');
    expect(bad({ timeoutSeconds: '300' }, 'sessionAffinity.timeoutSeconds').message).toMatch(/integer in 1\.\.86400, got '300'/);
    // In a sync, the index of the spec is in the path.
    throwsCode(() => m.sync([sticky(300), { frontend: NP, nodePort: true, backends: [], sessionAffinity: { timeoutSeconds: -1 } }]), 'LB_INVALID_SPEC', 'upsert[1].sessionAffinity.timeoutSeconds');
    expect(rawDump(maps)).toEqual(before);
    expect(m.upsertService(sticky(1)).service.sessionAffinity).toEqual({ timeoutSeconds: 1 });
    expect(m.upsertService(sticky(86400)).service.sessionAffinity).toEqual({ timeoutSeconds: 86400 });
  });

  it('restores flag and timeout from the maps: a fresh manager lists the same and diffs against them', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService(sticky(300));
    m.upsertService(localSticky(60));
    m.upsertService({ frontend: { ...VIP, port: 81 }, backends: [B1] });
    const again = ServiceManager.fromMaps(maps);
    expect(again.restored.orphansRemoved).toBe(0);
    expect(again.list()).toEqual(m.list());
    expect(Object.fromEntries(again.list().map((s) => [s.frontend.port, s.sessionAffinity?.timeoutSeconds]))).toEqual({ 80: 300, 81: undefined, 30080: 60 });
    expect(again.upsertService(sticky(300)).writes).toBe(0);
    expect(again.upsertService(localSticky(60)).writes).toBe(0);
    expect(again.upsertService(sticky(7)).writes).toBe(1);
    expect(ServiceManager.fromMaps(maps).get(VIP)!.sessionAffinity).toEqual({ timeoutSeconds: 7 });
  });

  it('keeps an INTERNAL frontend left with the other timeout by an interrupted change, and the next change rewrites it', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    m.upsertService(localSticky(60));
    const clean = rawDump(maps);
    // Step 4 (the INTERNAL frontend, timeout 90) happened, step 5 (the frontend) did not.
    const f = SERVICE_FLAG_NODEPORT | SERVICE_FLAG_EXTERNAL_LOCAL | SERVICE_FLAG_AFFINITY;
    maps.services4.update(frontendKey(new Uint8Array(4), 30080, SERVICE_SCOPE_INTERNAL), entries4.serviceValue(90, 1, 1, f));
    const again = ServiceManager.fromMaps(maps);
    expect(again.get(NP)!.sessionAffinity).toEqual({ timeoutSeconds: 60 });
    // Resyncing the old state puts the INTERNAL frontend back (one write).
    expect(again.upsertService(localSticky(60)).writes).toBe(1);
    expect(rawDump(maps)).toEqual(clean);
  });

  it('refuses frontends whose affinity flag and timeout disagree, writing nothing', () => {
    const cases: [string, (maps: ReturnType<typeof memoryMaps>) => void, RegExp][] = [
      ['flag without timeout', (maps) => maps.services4.update(frontendKey(VIP_BYTES, 80), entries4.serviceValue(0, 2, 1, SERVICE_FLAG_AFFINITY)), /affinity flag but timeout 0/],
      ['timeout without flag', (maps) => maps.services4.update(frontendKey(VIP_BYTES, 80), entries4.serviceValue(300, 2, 1, 0)), /backend id 300 in slot 0 but no affinity flag/],
      ['timeout beyond a day', (maps) => maps.services4.update(frontendKey(VIP_BYTES, 80), entries4.serviceValue(86401, 2, 1, SERVICE_FLAG_AFFINITY)), /timeout 86401/],
      [
        'INTERNAL frontend with flag but no timeout',
        (maps) => maps.services4.update(frontendKey(new Uint8Array(4), 30080, SERVICE_SCOPE_INTERNAL), entries4.serviceValue(0, 1, 2, SERVICE_FLAG_NODEPORT | SERVICE_FLAG_EXTERNAL_LOCAL | SERVICE_FLAG_AFFINITY)),
        /INTERNAL-scope frontend of 0\.0\.0\.0:30080\/TCP has the affinity flag but timeout 0/,
      ],
    ];
    for (const [what, corrupt, message] of cases) {
      const maps = memoryMaps();
      const m = ServiceManager.fromMaps(maps);
      m.upsertService(sticky(300, [B1, B2]));
      m.upsertService(localSticky(60));
      corrupt(maps);
      const before = rawDump(maps);
      const e = throwsCode(() => ServiceManager.fromMaps(maps), 'LB_STATE');
      expect(e.message, what).toMatch(message);
      expect(rawDump(maps), what).toEqual(before);
    }
  });
});

describe.skipIf(!need({ kernel: true }))('session affinity restored from pins', () => {
  it('a manager reopened on the pinned maps has the same affinity, and refuses a corrupted frontend', () => {
    using pins = createPinDir('lbaff');
    let listed;
    {
      using m = ServiceManager.fromPins(pins.path, { create: true });
      m.upsertService(sticky(300));
      m.upsertService(localSticky(60));
      m.upsertService({ frontend: { address: 'fd00::10', port: 80, protocol: 'TCP' }, backends: [{ address: 'fd00::1:1', port: 80 }], sessionAffinity: { timeoutSeconds: 10800 } });
      listed = m.list();
    }
    {
      using m = ServiceManager.fromPins(pins.path);
      expect(m.restored).toEqual({ services: 3, backends: 6, orphansRemoved: 0 });
      expect(m.list()).toEqual(listed);
      expect(Object.fromEntries(m.list().map((s) => [s.frontend.address, s.sessionAffinity]))).toEqual({
        '10.96.0.10': { timeoutSeconds: 300 }, '0.0.0.0': { timeoutSeconds: 60 }, 'fd00::10': { timeoutSeconds: 10800 },
      });
      expect(m.upsertService(sticky(300)).writes).toBe(0);
      // Dropping affinity on the pinned maps: the frontend and the three slots.
      expect(m.upsertService({ frontend: VIP, backends: [B1, B2, { ...L1, terminating: true }] }).writes).toBe(4);
    }
    {
      using m = ServiceManager.fromPins(pins.path);
      expect(m.get(VIP)).not.toHaveProperty('sessionAffinity');
      expect(m.get(NP)!.sessionAffinity).toEqual({ timeoutSeconds: 60 });
    }
    // A timeout written without the flag (not something the manager writes) is refused, and nothing is written.
    using svc = BpfMap.fromPin(join(pins.path, 'lb4_services'), { key: ServiceKey4, value: ServiceEntry });
    const table = kernelTable(svc);
    table.update(frontendKey(VIP_BYTES, 80), entries4.serviceValue(300, 2, 1, 0));
    const before = rawDump({ services4: table });
    expect(throwsCode(() => ServiceManager.fromPins(pins.path), 'LB_STATE').message).toMatch(/10\.96\.0\.10:80\/TCP has backend id 300 in slot 0 but no affinity flag/);
    expect(rawDump({ services4: table })).toEqual(before);
  });
});
