/**
 * In-cluster credentials without a cluster: a service-account directory of
 * the test's own (token, ca.crt, namespace; never /var/run/secrets), the fake
 * API server serving HTTPS with a self-signed certificate that ca.crt holds
 * and refusing requests without the token, KUBERNETES_SERVICE_HOST/PORT
 * pointing at it. The agent lists and watches through those credentials (the
 * bearer token on every request); `--api-server` replaces the address but
 * keeps the token and CA; a wrong token or CA gets nothing programmed; a
 * directory without ca.crt is a typed error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../programs/agent/agent.js';
import type { DatapathFactory } from '../../programs/agent/datapath.js';
import { AgentError } from '../../programs/agent/errors.js';
import { loadKubeConfig, SERVICE_ACCOUNT_DIR } from '../../programs/agent/kubeconfig.js';
import { jsonLogger } from '../../programs/agent/log.js';
import type { ServiceProgrammer } from '../../programs/agent/programmer.js';
import { need } from '../support/env.js';
import { FakeKubeApi } from '../support/kube-api.js';
import { makeService, makeSlice } from '../support/kube-objects.js';
import { selfSignedCert, type TestCert } from '../support/tls.js';

const TOKEN = 'sa-token-for-tsbpf-tests';

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `p`, or a clear failure after `ms` (an agent that cannot list would otherwise wait forever). */
function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A datapath that records what the agent programs (no kernel: this test is about the API connection). */
function recordingDatapath(seen: string[]): DatapathFactory {
  const programmer: ServiceProgrammer = {
    apply(changes) {
      for (const [key, state] of changes) if (state) seen.push(key);
      return { upserted: changes.size, deleted: 0 };
    },
    counts: () => ({ frontends: seen.length, backends: 0 }),
    fill: () => [],
  };
  return () => ({ programmer, description: { datapath: 'recording' }, close() {}, uninstall() {} });
}

describe.skipIf(!need({ tools: ['openssl'] }))('agent with in-cluster credentials', () => {
  let root: string;
  let cert: TestCert;
  let otherCert: TestCert;
  let api: FakeKubeApi;
  const agents: Agent[] = [];
  let sa: string;
  const env = () => ({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port) });
  const writeSa = (name: string, files: { token?: string; ca?: string; namespace?: string }) => {
    const dir = mkdtempSync(join(root, `${name}-`));
    if (files.token !== undefined) writeFileSync(join(dir, 'token'), files.token);
    if (files.ca !== undefined) writeFileSync(join(dir, 'ca.crt'), files.ca);
    if (files.namespace !== undefined) writeFileSync(join(dir, 'namespace'), files.namespace);
    return dir;
  };
  const start = (saDir: string, e: NodeJS.ProcessEnv, seen: string[], apiServer?: string, logs: string[] = []) =>
    startAgent({
      kube: { serviceAccountDir: saDir, ...(apiServer ? { apiServer } : {}) },
      env: e,
      nodeName: 'node-a',
      listen: false,
      datapath: recordingDatapath(seen),
      log: jsonLogger({ write: (s: string) => logs.push(s) }, 'debug'),
      informers: { initialBackoffMs: 10, maxBackoffMs: 50 },
    }).then((a) => (agents.push(a), a));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tsbpf-incluster-'));
    cert = selfSignedCert(root, 'api');
    otherCert = selfSignedCert(root, 'other');
    api = await FakeKubeApi.start({ tls: { key: cert.key, cert: cert.cert }, token: TOKEN });
    api.apply('services', makeService('shop', 'web', '10.96.0.20', [{ name: 'http', port: 80, targetPort: 8080 }]));
    api.apply('endpointslices', makeSlice('shop', 'web-1', 'web', [{ ip: '10.244.1.5', nodeName: 'node-a' }], [{ name: 'http', port: 8080 }]));
    sa = writeSa('sa', { token: `${TOKEN}\n`.trimEnd(), ca: cert.cert, namespace: 'kube-system\n' });
  });

  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    await api?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('loads the directory: server from KUBERNETES_SERVICE_HOST/PORT, its CA, the token file, the namespace', () => {
    expect(SERVICE_ACCOUNT_DIR).toBe('/var/run/secrets/kubernetes.io/serviceaccount');
    const k = loadKubeConfig({ serviceAccountDir: sa, env: env() });
    expect(k.source).toBe('in-cluster');
    expect(k.server).toBe(`https://127.0.0.1:${api.port}`);
    expect(k.config.getCurrentCluster()).toMatchObject({ caFile: join(sa, 'ca.crt'), skipTLSVerify: false });
    expect(k.config.getCurrentUser()?.authProvider).toEqual({ name: 'tokenFile', config: { tokenFile: join(sa, 'token') } });
    expect(k.config.getContextObject(k.config.getCurrentContext())?.namespace).toBe('kube-system');
    // The directory can also come from the environment; IPv6 hosts are bracketed.
    const v6 = loadKubeConfig({ env: { TSBPF_SERVICE_ACCOUNT_DIR: sa, KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' } });
    expect([v6.source, v6.server]).toEqual(['in-cluster', 'https://[fd00::1]:6443']);
  });

  it('the agent lists and watches over HTTPS with the bearer token and programs what it got', async () => {
    const seen: string[] = [];
    const a = await start(sa, env(), seen);
    await within(a.programmed, 'the first sync');
    expect(seen).toContain('shop/web');
    await waitFor('watches open', () => api.seen('services', true).length > 0 && api.seen('endpointslices', true).length > 0);
    const mine = api.requests.filter((r) => r.resource !== undefined);
    expect(mine.length).toBeGreaterThanOrEqual(4);
    expect(mine.every((r) => r.authorization === `Bearer ${TOKEN}` && r.status === 200)).toBe(true);
    // A change arrives through the watch.
    api.apply('services', makeService('shop', 'api', '10.96.0.21', [{ port: 80 }]));
    await waitFor('watched service programmed', () => seen.includes('shop/api'));
    await a.stop();
  });

  it('--api-server replaces the address but keeps the in-cluster token and CA', async () => {
    // KUBERNETES_SERVICE_HOST points nowhere useful (port 1); the override is what is dialled.
    const k = loadKubeConfig({ serviceAccountDir: sa, env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '1' }, apiServer: api.url });
    expect([k.source, k.server]).toEqual(['in-cluster', api.url]);
    // Without KUBERNETES_SERVICE_HOST at all, the override alone selects the in-cluster credentials.
    expect(loadKubeConfig({ serviceAccountDir: sa, env: {}, apiServer: api.url }).source).toBe('in-cluster');
    const before = api.requests.length;
    const seen: string[] = [];
    const a = await start(sa, {}, seen, api.url);
    await within(a.programmed, 'the first sync');
    expect(seen).toContain('shop/web');
    const mine = api.requests.slice(before).filter((r) => r.resource !== undefined);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine.every((r) => r.authorization === `Bearer ${TOKEN}` && r.status === 200)).toBe(true);
    await a.stop();
  });

  it('a wrong token is refused (401) and a certificate the CA does not vouch for is not trusted: nothing is programmed', async () => {
    const before = api.requests.length;
    const wrongToken = writeSa('bad-token', { token: 'not-the-token', ca: cert.cert });
    const seen: string[] = [];
    const logs: string[] = [];
    const a = await start(wrongToken, env(), seen, undefined, logs);
    await waitFor('refused requests', () => api.requests.slice(before).some((r) => r.status === 401 && r.authorization === 'Bearer not-the-token'));
    expect(a.loop.programmed).toBe(false);
    await a.stop();

    const wrongCa = writeSa('bad-ca', { token: TOKEN, ca: otherCert.cert });
    const seen2: string[] = [];
    const logs2: string[] = [];
    const countBefore = api.requests.length;
    const b = await start(wrongCa, env(), seen2, undefined, logs2);
    await waitFor('an informer failure logged', () => logs2.some((l) => JSON.parse(l).msg === 'informer failed; restarting'));
    // TLS fails before any HTTP request of this agent (the right token) reaches the server; a late
    // request of the stopped wrong-token agent may still be recorded, so look at the token.
    expect(api.requests.slice(countBefore).filter((r) => r.authorization === `Bearer ${TOKEN}`)).toEqual([]);
    expect(seen2).toEqual([]);
    expect(b.loop.programmed).toBe(false);
    await b.stop();
  });

  it('a token without ca.crt is a typed error', () => {
    const noCa = writeSa('no-ca', { token: TOKEN });
    let err: unknown;
    try {
      loadKubeConfig({ serviceAccountDir: noCa, env: env() });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe('AGENT_NO_KUBECONFIG');
    expect((err as Error).message).toContain('ca.crt');
  });
});
