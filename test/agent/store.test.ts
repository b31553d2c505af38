/** The agent's service store and sync loop without an API server. */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { parseNodePortRange } from '../../cli/commands/agent.js';
import { nodeSettings } from '../../programs/agent/agent.js';
import { AgentError } from '../../programs/agent/errors.js';
import { loadKubeConfig } from '../../programs/agent/kubeconfig.js';
import type { ServiceProgrammer } from '../../programs/agent/programmer.js';
import { ServiceStore, skipReason, type ServiceState } from '../../programs/agent/store.js';
import { SyncLoop } from '../../programs/agent/sync-loop.js';
import { makeService, makeSlice } from '../support/kube-objects.js';

const svc = (...a: Parameters<typeof makeService>) => makeService(...a) as unknown as V1Service;
const slc = (...a: Parameters<typeof makeSlice>) => makeSlice(...a) as unknown as V1EndpointSlice;

describe('service store', () => {
  it('groups slices by service, follows a slice moving to another service, reports new trigger times once', () => {
    const store = new ServiceStore();
    expect(store.upsertService(svc('a', 'web', '10.96.0.1', [{ port: 80 }])).keys).toEqual(['a/web']);
    store.upsertService(svc('a', 'api', '10.96.0.2', [{ port: 80 }]));
    const t = new Date('2026-12-01T10:00:00.250Z');
    const first = store.upsertSlice(slc('a', 's1', 'web', [{ ip: '10.244.0.1' }], [{ port: 8080 }], t));
    expect(first).toEqual({ keys: ['a/web'], triggeredAt: t.getTime() });
    // Same annotation again (a re-list, a resync): no new trigger.
    expect(store.upsertSlice(slc('a', 's1', 'web', [{ ip: '10.244.0.9' }], [{ port: 8080 }], t))).toEqual({ keys: ['a/web'] });
    expect(store.state('a/web')!.slices[0]!.endpoints[0]!.addresses).toEqual(['10.244.0.9']);
    // Relabelled to the other service: both are touched.
    expect(store.upsertSlice(slc('a', 's1', 'api', [{ ip: '10.244.0.9' }], [{ port: 8080 }])).keys).toEqual(['a/web', 'a/api']);
    expect(store.state('a/web')!.slices).toEqual([]);
    expect(store.state('a/api')!.slices).toHaveLength(1);
    expect(store.deleteSlice(slc('a', 's1', 'api', [], []))).toEqual({ keys: ['a/api'] });
    expect(store.deleteSlice(slc('a', 'never', 'api', [], []))).toEqual({ keys: [] });
    expect(store.counts()).toEqual({ services: 2, proxied: 2, slices: 0 });
  });

  it('skips headless, ExternalName and other-proxy services', () => {
    expect(skipReason(svc('a', 'h', 'None', [{ port: 80 }]))).toBe('headless');
    expect(skipReason(svc('a', 'x', '10.96.0.3', [{ port: 80 }], { labels: { 'service.kubernetes.io/service-proxy-name': 'mesh' } }))).toMatch(/service-proxy-name=mesh/);
    expect(skipReason({ metadata: { name: 'e' }, spec: { type: 'ExternalName', externalName: 'x.example' } } as V1Service)).toBe('type ExternalName');
    const store = new ServiceStore();
    store.upsertService(svc('a', 'h', 'None', [{ port: 80 }]));
    expect(store.state('a/h')).toBeUndefined();
    expect(store.allStates()).toEqual([]);
  });
});

describe('sync loop', () => {
  class Recorder implements ServiceProgrammer {
    calls: { keys: string[]; full: boolean }[] = [];
    apply(changes: ReadonlyMap<string, ServiceState | undefined>, full: boolean) {
      this.calls.push({ keys: [...changes.keys()].sort(), full });
      return { upserted: changes.size, deleted: 0 };
    }
    counts() {
      return { frontends: 0, backends: 0 };
    }
    fill() {
      return [];
    }
  }

  it('programs nothing before begin(), then one full sync, then only the touched services', async () => {
    const store = new ServiceStore();
    const p = new Recorder();
    const loop = new SyncLoop({ store, programmer: p, debounceMs: 1 });
    loop.changed(store.upsertService(svc('a', 'one', '10.96.0.1', [{ port: 80 }])));
    loop.changed(store.upsertService(svc('a', 'two', '10.96.0.2', [{ port: 80 }])));
    await new Promise((r) => setTimeout(r, 20));
    expect(p.calls).toEqual([]);
    expect(loop.pendingForMs()).toBeGreaterThan(0);
    loop.begin();
    await loop.idle();
    expect(p.calls).toEqual([{ keys: ['a/one', 'a/two'], full: true }]);
    expect(loop.programmed).toBe(true);
    loop.changed(store.deleteService(svc('a', 'one', '10.96.0.1', [])));
    loop.changed(store.upsertSlice(slc('a', 'two-x', 'two', [{ ip: '10.244.0.2' }], [{ port: 80 }])));
    await loop.idle();
    expect(p.calls.slice(1)).toEqual([{ keys: ['a/one', 'a/two'], full: false }]);
    expect(loop.pendingForMs()).toBe(0);
    loop.close();
  });
});

describe('agent options', () => {
  it('node settings: defaults, node name from K8S_NODE_NAME, bad ranges refused', () => {
    const s = nodeSettings({ env: { K8S_NODE_NAME: 'node-7' } });
    expect(s).toMatchObject({ nodeName: 'node-7', pinDir: '/sys/fs/bpf/tsbpf', nodePortRange: [30000, 32767], ipv4: true, ipv6: true, hostNamespaceOnly: false });
    expect(() => nodeSettings({ env: {}, nodePortRange: [40000, 30000] })).toThrow(AgentError);
    expect(() => nodeSettings({ env: {}, ipv4: false, ipv6: false })).toThrow(/both off/);
    expect(parseNodePortRange('30000-30010')).toEqual([30000, 30010]);
    expect(parseNodePortRange('none')).toBe(false);
    expect(() => parseNodePortRange('3-2')).toThrow(/FIRST-LAST/);
  });

  it('kubeconfig: --api-server alone, a file with its server replaced, clear errors otherwise', async () => {
    const only = loadKubeConfig({ apiServer: 'http://127.0.0.1:1234', env: {} });
    expect(only).toMatchObject({ source: 'api-server-only', server: 'http://127.0.0.1:1234' });
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/tsbpf-kubeconfig-');
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = `${dir}/config`;
    writeFileSync(
      file,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: abc\n',
    );
    expect(loadKubeConfig({ kubeconfig: file, env: {} })).toMatchObject({ source: 'kubeconfig-file', server: 'https://10.0.0.1:6443' });
    const over = loadKubeConfig({ kubeconfig: file, apiServer: 'https://192.0.2.10:6443', env: {} });
    expect(over.server).toBe('https://192.0.2.10:6443');
    expect(over.config.getCurrentUser()?.token).toBe('abc');
    expect(() => loadKubeConfig({ kubeconfig: `${dir}/missing`, env: {} })).toThrow(/does not exist/);
    expect(() => loadKubeConfig({ apiServer: 'not a url', env: {} })).toThrow(/is not a URL/);
    expect(() => loadKubeConfig({ apiServer: 'ftp://x', env: {} })).toThrow(/http:\/\/ or https:\/\//);
    expect(() => loadKubeConfig({ env: { HOME: '/nonexistent' } })).toThrow(expect.objectContaining({ code: 'AGENT_NO_KUBECONFIG' }));
  });
});
