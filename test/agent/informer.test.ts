/**
 * The informer path against a local server speaking the list/watch protocol:
 * the store (and the states the sync loop hands to the programmer) follow the
 * server through dropped watches, server-side closes, 410 Gone as an event and
 * as HTTP status, failing requests and bookmarks, with no lost update: after
 * every disturbance the programmed state equals the server's.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterWatch } from '../../programs/agent/cluster-watch.js';
import { loadKubeConfig } from '../../programs/agent/kubeconfig.js';
import type { ProgramResult, ServiceProgrammer } from '../../programs/agent/programmer.js';
import { ServiceStore, skipReason, type ServiceState } from '../../programs/agent/store.js';
import { SyncLoop } from '../../programs/agent/sync-loop.js';
import { FakeKubeApi, type KubeObject } from '../support/kube-api.js';
import { makeService, makeSlice } from '../support/kube-objects.js';

const fixture = (name: string) => (JSON.parse(readFileSync(new URL(`../fixtures/kubernetes/${name}`, import.meta.url), 'utf8')) as { items: KubeObject[] }).items;

/** Remembers the last state programmed per service key: the "datapath" of these tests. */
class RecordingProgrammer implements ServiceProgrammer {
  readonly programmed = new Map<string, ServiceState>();
  applies = 0;
  fulls = 0;
  failNext = 0;
  apply(changes: ReadonlyMap<string, ServiceState | undefined>, full: boolean): ProgramResult {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('injected programmer failure');
    }
    this.applies++;
    if (full) {
      this.fulls++;
      for (const key of [...this.programmed.keys()]) if (!changes.has(key)) this.programmed.delete(key);
    }
    let upserted = 0;
    let deleted = 0;
    for (const [key, state] of changes) {
      if (state) (this.programmed.set(key, state), upserted++);
      else if (this.programmed.delete(key)) deleted++;
    }
    return { upserted, deleted };
  }
  counts() {
    return { frontends: this.programmed.size, backends: 0 };
  }
  fill() {
    return [];
  }
}

/** Service key → "svcRV|slice:RV,…" for what the server holds now (proxied services only). */
function serverView(api: FakeKubeApi): Map<string, string> {
  const out = new Map<string, string>();
  const slices = api.list('endpointslices');
  for (const svc of api.list('services')) {
    if (skipReason(svc as never) !== undefined) continue;
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const own = slices
      .filter((s) => s.metadata.namespace === svc.metadata.namespace && (s.metadata as { labels?: Record<string, string> }).labels?.['kubernetes.io/service-name'] === svc.metadata.name)
      .map((s) => `${s.metadata.name}:${s.metadata.resourceVersion}`)
      .sort();
    out.set(key, `${svc.metadata.resourceVersion}|${own.join(',')}`);
  }
  return out;
}

/** The same view of what was programmed. */
function programmedView(p: RecordingProgrammer): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, st] of p.programmed) {
    const own = st.slices.map((s) => `${s.metadata?.name}:${s.metadata?.resourceVersion}`).sort();
    out.set(key, `${st.service.metadata?.resourceVersion}|${own.join(',')}`);
  }
  return out;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('agent informers against a list/watch server', () => {
  let api: FakeKubeApi;
  let watch: ClusterWatch | undefined;
  let loop: SyncLoop | undefined;
  let programmer: RecordingProgrammer;
  let store: ServiceStore;

  beforeEach(async () => {
    api = await FakeKubeApi.start();
    programmer = new RecordingProgrammer();
    store = new ServiceStore();
  });

  afterEach(async () => {
    loop?.close();
    await watch?.stop();
    watch = undefined;
    loop = undefined;
    await api.close();
  });

  async function startAgentPath(): Promise<void> {
    const { config } = loadKubeConfig({ apiServer: api.url, env: {} });
    loop = new SyncLoop({ store, programmer, debounceMs: 1, retryMs: 20 });
    watch = new ClusterWatch(config, store, { changed: (c) => loop!.changed(c) }, { initialBackoffMs: 10, maxBackoffMs: 50 });
    await watch.start();
    loop.begin();
    await loop.idle();
  }

  /** Waits until what was programmed equals what the server holds. */
  async function converged(): Promise<void> {
    const want = () => JSON.stringify([...serverView(api)].sort());
    await waitFor('programmed state to equal the server state', () => JSON.stringify([...programmedView(programmer)].sort()) === want());
    await loop!.idle();
    expect([...programmedView(programmer)].sort()).toEqual([...serverView(api)].sort());
  }

  it('lists recorded objects and programs only the services this node proxies', async () => {
    for (const s of fixture('agent-services.json')) api.apply('services', s);
    for (const s of fixture('agent-endpointslices.json')) api.apply('endpointslices', s);
    await startAgentPath();
    expect([...programmer.programmed.keys()].sort()).toEqual(['kube-system/kube-dns', 'shop/checkout', 'shop/web']);
    expect(programmer.fulls).toBe(1);
    const web = programmer.programmed.get('shop/web')!;
    expect(web.service.spec?.clusterIP).toBe('10.96.12.40');
    // kubectl's last-applied copy is not kept.
    expect(web.service.metadata?.annotations).toEqual({});
    expect(web.slices.map((s) => s.endpoints.map((e) => e.conditions?.terminating))).toEqual([[false, true]]);
    await converged();
  });

  it('follows ADDED, MODIFIED and DELETED events, coalescing a burst into few applies', async () => {
    await startAgentPath();
    const before = programmer.applies;
    for (let i = 0; i < 50; i++) api.apply('services', makeService('burst', `s${i}`, `10.97.0.${i + 1}`, [{ port: 80 }]));
    for (let i = 0; i < 50; i++) api.apply('endpointslices', makeSlice('burst', `s${i}-a`, `s${i}`, [{ ip: `10.244.0.${i + 1}` }], [{ port: 8080 }]));
    await converged();
    expect(programmer.programmed.size).toBe(50);
    // 100 events, far fewer applies: bursts are coalesced.
    expect(programmer.applies - before).toBeLessThan(50);
    api.remove('services', 'burst', 's7');
    api.apply('endpointslices', makeSlice('burst', 's8-a', 's8', [{ ip: '10.244.9.9' }], [{ port: 8080 }]));
    await converged();
    expect(programmer.programmed.has('burst/s7')).toBe(false);
    expect(programmer.programmed.get('burst/s8')!.slices[0]!.endpoints[0]!.addresses).toEqual(['10.244.9.9']);
  });

  it('resumes a dropped watch from its resourceVersion without re-listing, replaying what it missed', async () => {
    api.apply('services', makeService('a', 'one', '10.97.1.1', [{ port: 80 }]));
    await startAgentPath();
    const lists = api.seen('services', false).length;
    api.hold();
    api.dropWatches();
    api.apply('services', makeService('a', 'two', '10.97.1.2', [{ port: 80 }]));
    api.remove('services', 'a', 'one');
    api.apply('endpointslices', makeSlice('a', 'two-x', 'two', [{ ip: '10.244.1.2' }], [{ port: 80 }]));
    api.release();
    await converged();
    expect(api.seen('services', false).length).toBe(lists);
    const resumed = api.seen('services', true).at(-1)!;
    expect(Number(resumed.resourceVersion)).toBeLessThan(api.resourceVersion);
  });

  for (const expiry of ['event', 'http'] as const) {
    it(`re-lists on 410 Gone (${expiry === 'event' ? 'ERROR event with Status 410' : 'HTTP 410'}) and deletes what vanished meanwhile`, async () => {
      api.expiry = expiry;
      for (let i = 0; i < 5; i++) {
        api.apply('services', makeService('g', `s${i}`, `10.97.2.${i + 1}`, [{ port: 80 }]));
        api.apply('endpointslices', makeSlice('g', `s${i}-x`, `s${i}`, [{ ip: `10.244.2.${i + 1}` }], [{ port: 80 }]));
      }
      await startAgentPath();
      const lists = api.seen('services', false).length;
      api.hold();
      api.dropWatches();
      api.remove('services', 'g', 's1');
      api.remove('endpointslices', 'g', 's2-x');
      api.apply('services', makeService('g', 's3', '10.97.2.99', [{ port: 81 }]));
      api.apply('services', makeService('g', 'new', '10.97.2.50', [{ port: 80 }]));
      api.compact();
      api.release();
      await converged();
      expect(api.seen('services', false).length).toBe(lists + 1);
      if (expiry === 'http') expect(api.requests.some((r) => r.status === 410)).toBe(true);
      expect(programmer.programmed.has('g/s1')).toBe(false);
      expect(programmer.programmed.get('g/s2')!.slices).toEqual([]);
      expect(programmer.programmed.get('g/s3')!.service.spec?.clusterIP).toBe('10.97.2.99');
    });
  }

  it('re-lists when a live watch gets an ERROR 410 event mid-stream', async () => {
    api.apply('services', makeService('e', 'keep', '10.97.3.1', [{ port: 80 }]));
    api.apply('services', makeService('e', 'gone', '10.97.3.2', [{ port: 80 }]));
    await startAgentPath();
    await waitFor('watches open', () => api.openWatches === 2);
    api.hold();
    api.expireWatches();
    api.remove('services', 'e', 'gone');
    api.compact();
    api.release();
    await converged();
    expect(programmer.programmed.has('e/gone')).toBe(false);
    expect(programmer.programmed.has('e/keep')).toBe(true);
  });

  it('re-watches after a server-side close and uses bookmarks to move its resourceVersion', async () => {
    await startAgentPath();
    await waitFor('watches open', () => api.openWatches === 2);
    api.apply('endpointslices', makeSlice('b', 'unrelated', 'nothing', [{ ip: '10.244.5.5' }], [{ port: 80 }]));
    await waitFor('slice event delivered', () => watch!.stats().endpointslices.events > 0);
    const rv = api.resourceVersion;
    api.bookmark();
    await waitFor('bookmark delivered', () => watch!.stats().services.events > 0);
    const lists = api.requests.filter((r) => !r.watch).length;
    api.closeWatches();
    await waitFor('re-watch', () => api.seen('services', true).length >= 2 && api.openWatches === 2);
    expect(api.seen('services', true).at(-1)!.resourceVersion).toBe(String(rv));
    expect(api.requests.filter((r) => !r.watch).length).toBe(lists);
    api.apply('services', makeService('b', 'after', '10.97.4.1', [{ port: 80 }]));
    await converged();
  });

  it('restarts with backoff after failing lists and watches', async () => {
    api.failNext(500, { resource: 'services', watch: false });
    api.failNext(503, { resource: 'services', watch: false });
    api.apply('services', makeService('f', 'one', '10.97.5.1', [{ port: 80 }]));
    await startAgentPath();
    expect(watch!.stats().services.restarts).toBe(2);
    expect(watch!.stats().services.lastError).toBeDefined();
    api.failNext(500, { resource: 'endpointslices', watch: true });
    api.dropWatches();
    api.apply('endpointslices', makeSlice('f', 'one-x', 'one', [{ ip: '10.244.6.1' }], [{ port: 80 }]));
    await converged();
    expect(watch!.stats().endpointslices.restarts).toBeGreaterThanOrEqual(1);
  });

  it('lists in pages of 500 with continue tokens; an expired token restarts the list unpaged', async () => {
    for (let i = 0; i < 1200; i++) api.apply('services', makeService('page', `s${i}`, `10.99.${i >> 8}.${i & 255}`, [{ port: 80 }]));
    await startAgentPath();
    expect(programmer.programmed.size).toBe(1200);
    expect(api.seen('services', false).length).toBe(3);
    api.expireContinue = true;
    api.hold();
    api.dropWatches();
    api.remove('services', 'page', 's5');
    api.compact();
    api.release();
    await converged();
    expect(programmer.programmed.size).toBe(1199);
    // page 1, then a 410 on the continue token, then one unpaged list.
    expect(api.seen('services', false).map((r) => r.status).slice(3)).toEqual([200, 410, 200]);
  });

  it('retries a failed apply for the same services', async () => {
    await startAgentPath();
    programmer.failNext = 2;
    api.apply('services', makeService('r', 'one', '10.97.6.1', [{ port: 80 }]));
    await converged();
    expect(loop!.failures).toBe(2);
    expect(programmer.programmed.has('r/one')).toBe(true);
  });

  it('loses no update through random changes mixed with drops, closes, 410s and failures', async () => {
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    await startAgentPath();
    for (let round = 0; round < 8; round++) {
      for (let op = 0; op < 40; op++) {
        const i = rand(12);
        const what = rand(6);
        if (what === 0) api.remove('services', 'rnd', `s${i}`);
        else if (what === 1) api.remove('endpointslices', 'rnd', `s${i}-${rand(2)}`);
        else if (what <= 3) api.apply('services', makeService('rnd', `s${i}`, `10.98.0.${i + 1}`, [{ port: 80 + rand(3) }], rand(5) === 0 ? { labels: { 'service.kubernetes.io/service-proxy-name': 'x' } } : {}));
        else api.apply('endpointslices', makeSlice('rnd', `s${i}-${rand(2)}`, `s${i}`, [{ ip: `10.244.7.${rand(250) + 1}`, terminating: rand(4) === 0 }], [{ port: 8080 }]));
        if (op === 20) {
          const fault = rand(5);
          if (fault === 0) api.dropWatches();
          else if (fault === 1) api.closeWatches();
          else if (fault === 2) (api.hold(), api.dropWatches(), setTimeout(() => (api.compact(), api.release()), 5));
          else if (fault === 3) api.expireWatches();
          else (api.failNext(500, { watch: true }), api.dropWatches());
        }
      }
      await converged();
    }
  });
});
