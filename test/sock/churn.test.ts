/**
 * The socket LB under the real service manager (programs/lb/manager.ts): while a
 * client opens thousands of TCP connections to a ClusterIP, the manager keeps
 * replacing the service's backend set (growing, shrinking, draining, swapping);
 * no connection fails and every one reaches a backend the service had. Draining
 * (terminating) backends get no new connections; a deleted service stops being
 * translated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapsOf, ServiceManager } from '../../programs/lb/manager.js';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';
import { CHURN_CLIENT, TCP_CLIENT, type ChurnResult, type TcpResult } from './clients.js';
import { BACKEND_PORT, openSockLab, type SockLab } from './lab.js';

const VIP = '10.96.1.10';
const CONNECTIONS = 3000;

describe.skipIf(!need({ kernel: true }))('socket LB + ServiceManager: churn', () => {
  let lab: SockLab;
  let manager: ServiceManager;
  let all: string[];
  const frontend = { address: VIP, port: 80, protocol: 'TCP' } as const;
  const upsert = (live: readonly string[], draining: readonly string[] = []) =>
    manager.upsertService({
      frontend,
      backends: [...live.map((a) => ({ address: a, port: BACKEND_PORT.tcp })), ...draining.map((a) => ({ address: a, port: BACKEND_PORT.tcp, terminating: true }))],
    });

  beforeAll(async () => {
    lab = await openSockLab({ subnet: 72, target: 'host', extraBackends4: 4 });
    manager = ServiceManager.fromMaps(mapsOf(lab.obj));
    all = [...lab.backends4, ...lab.extra4];
  });
  afterAll(() => {
    manager?.close();
    lab?.close();
    if (lab) expect(listNetns().filter((n) => n === lab.net.a || n === lab.net.b)).toEqual([]);
  });

  it(`${CONNECTIONS} connections while the backend set changes under them: none fails`, async () => {
    upsert(all.slice(0, 2));
    // Backend sets cycled through: each keeps at least one live backend.
    const sets: [string[], string[]][] = [
      [all.slice(0, 3), []], [all.slice(2, 3), all.slice(0, 2)], [all.slice(1, 6), []], [all.slice(5, 6), all.slice(1, 5)],
      [all, []], [all.slice(0, 1), []], [all.slice(3, 6), all.slice(0, 1)], [all.slice(0, 2), []],
    ];
    let updates = 0;
    let stop = false;
    const churn = (async () => {
      while (!stop) {
        const [live, draining] = sets[updates++ % sets.length]!;
        upsert(live, draining);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    let r: ChurnResult;
    try {
      r = await lab.client<ChurnResult>(CHURN_CLIENT, [VIP, 80, CONNECTIONS, 8], 30_000);
    } finally {
      stop = true;
      await churn;
    }
    expect(r.failed).toEqual({});
    expect(r.ok).toBe(CONNECTIONS);
    // Every answer came from one of the service's backends, and the churn reached most of them.
    for (const b of Object.keys(r.byBackend)) expect(all).toContain(b);
    expect(Object.keys(r.byBackend).length).toBeGreaterThanOrEqual(4);
    expect(updates).toBeGreaterThan(20);
  });

  it('a draining backend gets no new connections; the live ones do', async () => {
    upsert([all[0]!, all[1]!], [all[2]!]);
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, 40]);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(r.map((x) => x.data))).toEqual(new Set([`backend ${all[0]}`, `backend ${all[1]}`]));
  });

  it('only draining backends: connects are refused; deleted: not translated at all', async () => {
    upsert([], [all[0]!]);
    expect(await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, 1])).toEqual([{ ok: false, code: 'ECONNREFUSED' }]);
    expect(manager.deleteService(frontend)).toBe(true);
    expect(await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, 1])).toEqual([{ ok: false, code: 'ENETUNREACH' }]);
  });
});
