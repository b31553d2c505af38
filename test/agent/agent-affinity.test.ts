/**
 * Session affinity end to end through the agent: a Service with
 * `sessionAffinity: ClientIP` from the fake API server is programmed into the
 * real socket LB (private bpffs, a test cgroup holding only the client), and a
 * client in the lab's namespace makes real TCP connections to its VIP: every
 * one reaches the same backend, where the same Service without affinity
 * spreads over both; switching affinity off spreads again; the chosen backend
 * leaving the EndpointSlice moves the client to the other one (never to the
 * removed one); a short timeout lets it go once it has passed.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../programs/agent/agent.js';
import { loadKubeConfig } from '../../programs/agent/kubeconfig.js';
import { jsonLogger } from '../../programs/agent/log.js';
import { socketLbDatapath } from '../../programs/agent/socket-datapath.js';
import { need } from '../support/env.js';
import { FakeKubeApi } from '../support/kube-api.js';
import { makeService, makeSlice } from '../support/kube-objects.js';
import { TCP_CLIENT, type TcpResult } from '../sock/clients.js';
import { BACKEND_PORT, openSockLab, type SockLab } from '../sock/lab.js';

const VIP = '10.96.74.10';

describe.skipIf(!need({ kernel: true }))('agent: sessionAffinity ClientIP with real traffic', () => {
  let lab: SockLab;
  let api: FakeKubeApi;
  let agent: Agent | undefined;
  let b1: string;
  let b2: string;

  const service = (affinity?: number) => makeService('shop', 'sticky', VIP, [{ name: 'http', port: 80, targetPort: BACKEND_PORT.tcp }], affinity === undefined ? {} : { sessionAffinitySeconds: affinity });
  const slice = (ips: string[]) => makeSlice('shop', 'sticky-1', 'sticky', ips.map((ip) => ({ ip })), [{ name: 'http', port: BACKEND_PORT.tcp }]);
  /** Which backends answered `n` connections (a set of names). */
  const answered = async (n: number) => {
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, n]);
    expect(r.every((x) => x.ok), JSON.stringify(r.filter((x) => !x.ok))).toBe(true);
    return [...new Set(r.map((x) => x.data!))].sort();
  };
  const settled = async () => {
    const until = Date.now() + 15_000;
    for (;;) {
      const rv = agent!.resourceVersions();
      if ((['services', 'endpointslices'] as const).every((r) => api.lastResourceVersion(r) === '0' || Number(rv[r]) >= Number(api.lastResourceVersion(r)))) break;
      if (Date.now() > until) throw new Error('timed out waiting for the agent to catch up');
      await new Promise((r) => setTimeout(r, 20));
    }
    await agent!.loop.idle();
  };

  beforeAll(async () => {
    lab = await openSockLab({ subnet: 74, attach: false, target: 'host' });
    [b1, b2] = lab.backends4;
    api = await FakeKubeApi.start();
    agent = await startAgent({
      kubeConfig: loadKubeConfig({ apiServer: api.url, env: {} }).config,
      pinDir: join(lab.pins.path, 'agent'),
      cgroup: lab.cgroup.path,
      listen: false,
      target: 'host',
      datapath: socketLbDatapath,
      log: jsonLogger({ write: () => {} }, 'error'),
      informers: { initialBackoffMs: 10, maxBackoffMs: 100 },
    });
    await agent.programmed;
  });

  afterAll(async () => {
    try {
      await agent?.uninstall();
    } finally {
      await api?.close();
      lab?.close();
    }
  });

  it('without affinity connections spread over both backends; with ClientIP every one reaches the same', async () => {
    api.apply('services', service());
    api.apply('endpointslices', slice([b1, b2]));
    await settled();
    expect(await answered(30)).toEqual([`backend ${b1}`, `backend ${b2}`].sort());
    api.apply('services', service(600));
    await settled();
    expect(await answered(30)).toHaveLength(1);
    // Switched off again: spread.
    api.apply('services', service());
    await settled();
    expect(await answered(30)).toEqual([`backend ${b1}`, `backend ${b2}`].sort());
  });

  it('the chosen backend leaving the slice moves the client to the other one, which it then keeps', async () => {
    api.apply('services', service(600));
    api.apply('endpointslices', slice([b1, b2]));
    await settled();
    const [first] = await answered(20);
    expect(first).toMatch(/^backend /);
    const other = first === `backend ${b1}` ? b2 : b1;
    api.apply('endpointslices', slice([other]));
    await settled();
    expect(await answered(10)).toEqual([`backend ${other}`]);
    // Both back: affinity keeps the client where it is now.
    api.apply('endpointslices', slice([b1, b2]));
    await settled();
    expect(await answered(20)).toEqual([`backend ${other}`]);
  });

  it('a 1 s timeout: the client is free again once a second has passed without connections', async () => {
    api.apply('services', service(1));
    api.apply('endpointslices', slice([b1, b2]));
    await settled();
    // Each round: one connection after a pause longer than the timeout, so every pick is fresh; within 16 rounds both backends answer (all alike: 2^-15).
    const seen = new Set<string>();
    for (let i = 0; i < 16 && seen.size < 2; i++) {
      await new Promise((r) => setTimeout(r, 1100));
      for (const b of await answered(1)) seen.add(b);
    }
    expect([...seen].sort()).toEqual([`backend ${b1}`, `backend ${b2}`].sort());
  }, 30_000);
});
