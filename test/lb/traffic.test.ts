/**
 * The service manager driving the real socket load balancer (programs/sock,
 * through the shared test lab: client and backend namespaces, a test cgroup,
 * maps pinned on a private bpffs): services written by the manager carry real
 * TCP connections; draining takes a backend out of new connections; a deleted
 * service refuses connects; churn of the backend set while a client connects
 * continuously costs no connection; a manager reopened from the pins carries on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceManager, mapsOf, type ServiceSpec } from '../../programs/lb/index.js';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';
import { TCP_CLIENT, type TcpResult } from '../sock/clients.js';
import { BACKEND_PORT, openSockLab, type SockLab } from '../sock/lab.js';

const VIP = '10.96.81.10';
const VIP6 = 'fd00:96::81';

describe.skipIf(!need({ kernel: true }))('service manager + socket LB, real traffic', () => {
  let lab: SockLab;
  let m: ServiceManager;
  let spec: (backends: { address: string; terminating?: boolean }[]) => ServiceSpec;
  beforeAll(async () => {
    lab = await openSockLab({ subnet: 81, target: 'host' });
    m = ServiceManager.fromPins(lab.pins.path);
    spec = (backends) => ({ frontend: { address: VIP, port: 80, protocol: 'TCP' }, backends: backends.map((b) => ({ ...b, port: BACKEND_PORT.tcp })) });
  });
  afterAll(() => {
    m?.close();
    lab?.close();
    if (lab) expect(listNetns().filter((n) => n === lab.net.a || n === lab.net.b)).toEqual([]);
  });

  const reached = (r: TcpResult[]) => new Set(r.map((x) => x.data));

  it('a service written by the manager spreads connections over its backends (IPv4 and IPv6)', async () => {
    const [b1, b2] = lab.backends4;
    m.upsertService(spec([{ address: b1 }, { address: b2 }]));
    m.upsertService({ frontend: { address: VIP6, port: 80, protocol: 'TCP' }, backends: lab.backends6.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, 30]);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(reached(r)).toEqual(new Set([`backend ${b1}`, `backend ${b2}`]));
    expect(new Set(r.map((x) => x.peer))).toEqual(new Set([`${VIP}:80`]));
    // The same maps reached through the loaded object's handles restore the same services.
    expect(ServiceManager.fromMaps(mapsOf(lab.obj)).list()).toEqual(m.list());
    const r6 = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP6, 80, 30]);
    expect(r6.filter((x) => !x.ok)).toEqual([]);
    expect(reached(r6)).toEqual(new Set(lab.backends6.map((a) => `backend ${a}`)));
  });

  it('a draining backend gets no new connection; a deleted service refuses connects', async () => {
    const [b1, b2] = lab.backends4;
    m.upsertService(spec([{ address: b1 }, { address: b2, terminating: true }]));
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, 20]);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(reached(r)).toEqual(new Set([`backend ${b1}`]));
    m.upsertService(spec([{ address: b1, terminating: true }, { address: b2, terminating: true }]));
    const none = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, 2]);
    expect(none.every((x) => !x.ok && (x.code === 'ECONNREFUSED' || x.code === 'EPERM'))).toBe(true);
    m.deleteService(spec([]).frontend);
    const gone = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, 1]);
    // No service: the connect goes to the VIP itself, which nothing routes here.
    expect(gone).toEqual([{ ok: false, code: 'ENETUNREACH' }]);
  });

  it('churn: backends added, drained, removed and swapped while a client connects costs no connection', async () => {
    const [b1, b2] = lab.backends4;
    const sets = [[{ address: b1 }], [{ address: b1 }, { address: b2 }], [{ address: b2 }], [{ address: b2 }, { address: b1, terminating: true }], [{ address: b1 }, { address: b2, terminating: true }], [{ address: b2 }, { address: b1 }]];
    m.upsertService(spec(sets[0]!));
    let updates = 0;
    let stop = false;
    const churn = (async () => {
      while (!stop) {
        m.upsertService(spec(sets[updates++ % sets.length]!));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    let r: TcpResult[];
    try {
      r = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, 2000], 12_000);
    } finally {
      stop = true;
      await churn;
    }
    expect(updates).toBeGreaterThan(50);
    expect(r.length).toBeGreaterThan(1000);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(reached(r)).toEqual(new Set([`backend ${b1}`, `backend ${b2}`]));
  });

  it('a manager reopened from the pins finds the same services and keeps serving them', async () => {
    const before = m.list();
    m.close();
    m = ServiceManager.fromPins(lab.pins.path);
    expect(m.list()).toEqual(before);
    expect(m.restored.orphansRemoved).toBe(0);
    const [b1] = lab.backends4;
    m.upsertService(spec([{ address: b1 }]));
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, 10]);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(reached(r)).toEqual(new Set([`backend ${b1}`]));
  });
});
