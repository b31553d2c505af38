/**
 * healthCheckNodePort servers (programs/agent/service-health.ts) driven by the
 * agent's informers from the fake API server: a LoadBalancer Service with
 * externalTrafficPolicy=Local answers 503 until this node has a ready endpoint,
 * then 200 with the count (terminating and other nodes' endpoints not counted);
 * the server goes when the policy, the type or the Service goes, and when the
 * agent stops; a taken port is retried at a later sync. Real HTTP on 127.0.0.1.
 * The datapath is a recording programmer: nothing here needs the kernel.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../programs/agent/agent.js';
import type { Datapath } from '../../programs/agent/datapath.js';
import { loadKubeConfig } from '../../programs/agent/kubeconfig.js';
import { jsonLogger } from '../../programs/agent/log.js';
import { healthCheckPort, localReadyEndpoints } from '../../programs/agent/service-health.js';
import { parseHealthCheckAddress } from '../../cli/commands/agent.js';
import { FakeKubeApi } from '../support/kube-api.js';
import { makeService, makeSlice, type EndpointSpec } from '../support/kube-objects.js';

const NODE = 'node-a';

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** GET the health port: status, JSON body and the weight header, or 'refused'. */
async function check(port: number): Promise<{ status: number; body: { localEndpoints: number; service: unknown }; weight: string | null } | 'refused'> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { status: res.status, body: (await res.json()) as never, weight: res.headers.get('x-load-balancing-endpoint-weight') };
  } catch {
    return 'refused';
  }
}

const recordingDatapath = (): Datapath => ({
  programmer: { apply: (changes) => ({ upserted: changes.size, deleted: 0 }) as never, counts: () => ({ frontends: 0, backends: 0 }), fill: () => [] },
  description: { kind: 'recording' },
  close() {},
  uninstall() {},
});

describe('healthCheckNodePort', () => {
  it('qualifies only LoadBalancer + Local services and counts this node\'s ready endpoints', () => {
    const lb = (extra: Parameters<typeof makeService>[4]) => makeService('ns', 'web', '10.96.0.5', [{ port: 80 }], extra) as never;
    expect(healthCheckPort(lb({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32100 }))).toBe(32100);
    expect(healthCheckPort(lb({ type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', healthCheckNodePort: 32100 }))).toBeUndefined();
    expect(healthCheckPort(lb({ type: 'NodePort', externalTrafficPolicy: 'Local', healthCheckNodePort: 32100 }))).toBeUndefined();
    expect(healthCheckPort(lb({ type: 'LoadBalancer', externalTrafficPolicy: 'Local' }))).toBeUndefined();
    const eps: EndpointSpec[] = [
      { ip: '10.244.0.1', nodeName: NODE },
      { ip: '10.244.0.2', nodeName: NODE, terminating: true },
      { ip: '10.244.0.3', nodeName: NODE, ready: false },
      { ip: '10.244.1.1', nodeName: 'node-b' },
    ];
    const slices = [makeSlice('ns', 'web-1', 'web', eps, [{ port: 8080 }]), makeSlice('ns', 'web-2', 'web', [{ ip: '10.244.0.1', nodeName: NODE }], [{ port: 8080 }])] as never[];
    expect(localReadyEndpoints(slices, NODE)).toBe(1); // the same pod in two slices counts once
    expect(localReadyEndpoints(slices, undefined)).toBe(0);
    expect(parseHealthCheckAddress('all')).toBeUndefined();
    expect(parseHealthCheckAddress('none')).toBe(false);
    expect(parseHealthCheckAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(() => parseHealthCheckAddress('localhost:1')).toThrow(/must be an IP address/);
  });

  let api: FakeKubeApi;
  let agent: Agent | undefined;
  let blocker: Server | undefined;
  beforeEach(async () => {
    api = await FakeKubeApi.start();
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
    blocker = undefined;
    await api.close();
  });

  const start = async () => {
    agent = await startAgent({
      kubeConfig: loadKubeConfig({ apiServer: api.url, env: {} }).config,
      nodeName: NODE,
      listen: false,
      healthCheckAddress: '127.0.0.1',
      datapath: recordingDatapath,
      log: jsonLogger({ write: () => true }),
      env: {},
    });
    await agent.programmed;
    return agent;
  };

  it('503 without a local ready endpoint, 200 with the count; gone with the policy, the service and the agent', async () => {
    const port = await freePort();
    const service = (policy: 'Local' | 'Cluster', type = 'LoadBalancer') =>
      makeService('shop', 'web', '10.96.0.5', [{ port: 80, nodePort: 31080 }], { type, externalTrafficPolicy: policy, healthCheckNodePort: port });
    api.apply('services', service('Local'));
    api.apply('endpointslices', makeSlice('shop', 'web-1', 'web', [{ ip: '10.244.1.1', nodeName: 'node-b' }], [{ port: 8080 }]));
    await start();
    const first = await waitFor('the health server', async () => {
      const r = await check(port);
      return r === 'refused' ? undefined : r;
    });
    expect(first).toEqual({ status: 503, body: { service: { namespace: 'shop', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true }, weight: '0' });

    api.apply('endpointslices', makeSlice('shop', 'web-1', 'web', [{ ip: '10.244.1.1', nodeName: 'node-b' }, { ip: '10.244.0.7', nodeName: NODE }, { ip: '10.244.0.8', nodeName: NODE }], [{ port: 8080 }]));
    const two = await waitFor('two local endpoints', async () => {
      const r = await check(port);
      return r !== 'refused' && r.body.localEndpoints === 2 ? r : undefined;
    });
    expect([two.status, two.weight]).toEqual([200, '2']);
    expect(agent!.healthChecks!.served()).toEqual([{ port, service: 'shop/web', localEndpoints: 2 }]);

    // Both local pods terminating: the load balancer must stop sending here.
    api.apply('endpointslices', makeSlice('shop', 'web-1', 'web', [{ ip: '10.244.0.7', nodeName: NODE, terminating: true }, { ip: '10.244.0.8', nodeName: NODE, terminating: true }], [{ port: 8080 }]));
    await waitFor('503 while draining', async () => {
      const r = await check(port);
      return r !== 'refused' && r.status === 503 ? r : undefined;
    });

    api.apply('services', service('Cluster'));
    await waitFor('the server to close with policy Cluster', async () => ((await check(port)) === 'refused' ? true : undefined));
    expect(agent!.healthChecks!.served()).toEqual([]);
    api.apply('services', service('Local'));
    await waitFor('the server back with policy Local', async () => ((await check(port)) !== 'refused' ? true : undefined));
    api.apply('services', service('Local', 'NodePort'));
    await waitFor('the server to close for a NodePort service', async () => ((await check(port)) === 'refused' ? true : undefined));
    api.apply('services', service('Local'));
    await waitFor('the server back', async () => ((await check(port)) !== 'refused' ? true : undefined));
    api.remove('services', 'shop', 'web');
    await waitFor('the server to close with the service', async () => ((await check(port)) === 'refused' ? true : undefined));

    api.apply('services', service('Local'));
    await waitFor('the server back once more', async () => ((await check(port)) !== 'refused' ? true : undefined));
    await agent!.stop();
    agent = undefined;
    expect(await check(port)).toBe('refused');
  });

  it('a taken port is logged and served once it is free (at the next sync)', async () => {
    const port = await freePort();
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(port, '127.0.0.1', () => r()));
    api.apply('services', makeService('shop', 'api', '10.96.0.6', [{ port: 80, nodePort: 31081 }], { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: port }));
    api.apply('endpointslices', makeSlice('shop', 'api-1', 'api', [{ ip: '10.244.0.9', nodeName: NODE }], [{ port: 8080 }]));
    await start();
    await new Promise((r) => setTimeout(r, 100));
    expect(agent!.healthChecks!.served()).toEqual([]);
    await new Promise<void>((r) => blocker!.close(() => r()));
    blocker = undefined;
    // Any change of the service makes a sync that tries again.
    api.apply('endpointslices', makeSlice('shop', 'api-1', 'api', [{ ip: '10.244.0.9', nodeName: NODE }, { ip: '10.244.0.10', nodeName: NODE }], [{ port: 8080 }]));
    const r = await waitFor('the freed port served', async () => {
      const c = await check(port);
      return c !== 'refused' ? c : undefined;
    });
    expect([r.status, r.body.localEndpoints]).toEqual([200, 2]);
  });
});
