/**
 * Kubernetes import with a node name: endpoints on this node become `local`
 * backends, `externalTrafficPolicy: Local` gives the NodePort and external
 * frontends (never the cluster IPs) the Local policy — for NodePort and
 * LoadBalancer services and services with external IPs, as kube-proxy reads
 * it — and the result syncs into a manager, which writes the INTERNAL-scope
 * frontend of exactly the local endpoints.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ServiceError, ServiceManager, formatFrontend } from '../../programs/lb/index.js';
import { servicesFromKubernetes, translateService, type KubernetesEndpointSlice, type KubernetesService } from '../../programs/lb/kubernetes.js';
import { BACKEND_FLAG_LOCAL, SERVICE_SCOPE_INTERNAL } from '../../programs/lb/schemas.js';
import { decodedDump, memoryMaps } from './helpers.js';

const fixture = () => JSON.parse(readFileSync(new URL('../fixtures/kubernetes/cluster-list.json', import.meta.url), 'utf8'));

function service(type: string, policy: string | undefined, extra: Record<string, unknown> = {}): KubernetesService {
  return {
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      type,
      clusterIPs: ['10.96.5.5'],
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30500 }],
      ...(policy ? { externalTrafficPolicy: policy } : {}),
      ...extra,
    },
  };
}

function slice(endpoints: { ip: string; node?: string | null; ready?: boolean; serving?: boolean; terminating?: boolean }[], name = 'web-1'): KubernetesEndpointSlice {
  return {
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      ...(e.node !== undefined ? { nodeName: e.node } : {}),
      conditions: { ready: e.ready ?? true, serving: e.serving ?? true, terminating: e.terminating ?? false },
    })),
  };
}

const byFrontend = (r: ReturnType<typeof translateService>) => new Map(r.services.map(({ spec }) => [formatFrontend(spec.frontend), spec]));

describe('Kubernetes import with a node name', () => {
  const slices = [slice([{ ip: '10.244.1.5', node: 'node-a' }, { ip: '10.244.2.6', node: 'node-b' }, { ip: '10.244.1.7', node: 'node-a', ready: false, terminating: true }, { ip: '10.244.3.8', node: null }])];

  it('marks endpoints whose nodeName is this node local, on every frontend', () => {
    const specs = byFrontend(translateService(service('NodePort', undefined), slices, { nodeName: 'node-a' }));
    const want = [
      { address: '10.244.1.5', port: 8080, local: true },
      { address: '10.244.2.6', port: 8080 },
      { address: '10.244.1.7', port: 8080, terminating: true, local: true, serving: true },
      { address: '10.244.3.8', port: 8080 },
    ];
    expect(specs.get('10.96.5.5:80/TCP')).toEqual({ frontend: { address: '10.96.5.5', port: 80, protocol: 'TCP' }, backends: want });
    expect(specs.get('0.0.0.0:30500/TCP')).toEqual({ frontend: { address: '0.0.0.0', port: 30500, protocol: 'TCP' }, backends: want, nodePort: true });
    // Another node sees other local endpoints; no node name: none is local.
    expect(byFrontend(translateService(service('NodePort', undefined), slices, { nodeName: 'node-b' })).get('10.96.5.5:80/TCP')!.backends.filter((b) => b.local).map((b) => b.address)).toEqual(['10.244.2.6']);
    expect(byFrontend(translateService(service('NodePort', undefined), slices)).get('10.96.5.5:80/TCP')!.backends.some((b) => b.local)).toBe(false);
  });

  it('a Local frontend falls back to this node’s serving terminating endpoints when none of its own is ready', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    const rolling = [slice([
      { ip: '10.244.2.6', node: 'node-b' },
      { ip: '10.244.1.7', node: 'node-a', ready: false, serving: true, terminating: true },
      { ip: '10.244.1.8', node: 'node-a', ready: false, serving: false, terminating: true },
    ])];
    const specs = byFrontend(translateService(service('NodePort', 'Local'), rolling, { nodeName: 'node-a' }));
    // Cluster-wide a ready endpoint exists, so both local ones drain; only the serving one is marked.
    expect(specs.get('0.0.0.0:30500/TCP')!.backends).toEqual([
      { address: '10.244.2.6', port: 8080 },
      { address: '10.244.1.7', port: 8080, terminating: true, local: true, serving: true },
      { address: '10.244.1.8', port: 8080, terminating: true, local: true },
    ]);
    m.sync(servicesFromKubernetes({ items: [service('NodePort', 'Local'), ...rolling] }, { nodeName: 'node-a' }).services);
    const internal = () => {
      const d = decodedDump(maps, 'ipv4');
      const addressOf = new Map(d.backends.map((b) => [b.id, b.address]));
      return d.services.filter((e) => e.scope === SERVICE_SCOPE_INTERNAL && e.backendSlot > 0).map((e) => addressOf.get(e.backendId));
    };
    expect(internal()).toEqual(['10.244.1.7']);
    // The new local pod becomes ready: it alone is picked.
    rolling[0] = slice([...(rolling[0]!.endpoints ?? []).map((e) => ({ ip: e.addresses[0]!, node: e.nodeName, ready: e.conditions?.ready ?? true, serving: e.conditions?.serving ?? true, terminating: e.conditions?.terminating ?? false })), { ip: '10.244.1.9', node: 'node-a' }]);
    m.sync(servicesFromKubernetes({ items: [service('NodePort', 'Local'), ...rolling] }, { nodeName: 'node-a' }).services);
    expect(internal()).toEqual(['10.244.1.9']);
  });

  it('gives the Local policy to NodePort, LoadBalancer and external-IP frontends, never to cluster IPs', () => {
    const lb = service('LoadBalancer', 'Local', { externalIPs: ['192.0.2.1'] });
    const withStatus = { ...lb, status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } } };
    const specs = byFrontend(translateService(withStatus, slices, { nodeName: 'node-a' }));
    expect([...specs.keys()].sort()).toEqual(['0.0.0.0:30500/TCP', '10.96.5.5:80/TCP', '192.0.2.1:80/TCP', '203.0.113.9:80/TCP']);
    expect(specs.get('10.96.5.5:80/TCP')!.externalTrafficPolicy).toBeUndefined();
    for (const id of ['0.0.0.0:30500/TCP', '192.0.2.1:80/TCP', '203.0.113.9:80/TCP']) expect(specs.get(id)!.externalTrafficPolicy).toBe('Local');
    expect(byFrontend(translateService(service('NodePort', 'Local'), slices)).get('0.0.0.0:30500/TCP')!.externalTrafficPolicy).toBe('Local');
    // A ClusterIP service with external IPs: kube-proxy applies the policy to them.
    const cip = byFrontend(translateService(service('ClusterIP', 'Local', { externalIPs: ['192.0.2.1'] }), slices));
    expect(cip.get('192.0.2.1:80/TCP')!.externalTrafficPolicy).toBe('Local');
    expect(cip.get('10.96.5.5:80/TCP')!.externalTrafficPolicy).toBeUndefined();
    // Cluster (explicit or default) adds nothing; a plain ClusterIP service with Local has no frontend to apply it to.
    expect([...byFrontend(translateService(service('NodePort', 'Cluster'), slices)).values()].some((s) => s.externalTrafficPolicy !== undefined)).toBe(false);
    expect([...byFrontend(translateService(service('ClusterIP', 'Local'), slices)).values()].some((s) => s.externalTrafficPolicy !== undefined)).toBe(false);
  });

  it('internalTrafficPolicy Local: cluster IPs reach only this node’s endpoints (local fallback), NodePort keeps every one', () => {
    const local = service('NodePort', undefined, { internalTrafficPolicy: 'Local' });
    const specs = byFrontend(translateService(local, slices, { nodeName: 'node-a' }));
    expect(specs.get('10.96.5.5:80/TCP')!.backends).toEqual([
      { address: '10.244.1.5', port: 8080, local: true },
      { address: '10.244.1.7', port: 8080, terminating: true, local: true, serving: true },
    ]);
    expect(specs.get('0.0.0.0:30500/TCP')!.backends).toHaveLength(4);
    // Seen from a node with no endpoint of it: no backend (connections refused, as kube-proxy drops them).
    expect(byFrontend(translateService(local, slices, { nodeName: 'node-c' })).get('10.96.5.5:80/TCP')!.backends).toEqual([]);
    // A ready endpoint elsewhere, only a serving terminating one here: that one takes new connections; the non-serving one drains.
    const rolling = [slice([
      { ip: '10.244.2.6', node: 'node-b' },
      { ip: '10.244.1.7', node: 'node-a', ready: false, serving: true, terminating: true },
      { ip: '10.244.1.8', node: 'node-a', ready: false, serving: false, terminating: true },
    ])];
    expect(byFrontend(translateService(local, rolling, { nodeName: 'node-a' })).get('10.96.5.5:80/TCP')!.backends).toEqual([
      { address: '10.244.1.7', port: 8080, local: true },
      { address: '10.244.1.8', port: 8080, terminating: true, local: true },
    ]);
    // Written by a manager: the cluster IP's slots hold the local endpoint only.
    const maps = memoryMaps();
    ServiceManager.fromMaps(maps).sync(servicesFromKubernetes({ items: [local, ...slices] }, { nodeName: 'node-a' }).services);
    const d = decodedDump(maps, 'ipv4');
    const addressOf = new Map(d.backends.map((b) => [b.id, b.address]));
    const cip = d.services.filter((e) => e.address === '10.96.5.5');
    const count = cip.find((e) => e.backendSlot === 0)!.count;
    // Slots 1..count take new connections; the draining local endpoint is kept past them for its flows.
    expect(cip.filter((e) => e.backendSlot > 0 && e.backendSlot <= count).map((e) => addressOf.get(e.backendId))).toEqual(['10.244.1.5']);
    expect(cip.filter((e) => e.backendSlot > count).map((e) => addressOf.get(e.backendId))).toEqual(['10.244.1.7']);
    // Without a node name nothing is known to be local: skipped, said why.
    expect(translateService(local, slices)).toEqual({ services: [], skipped: [{ service: 'shop/web', reason: "internalTrafficPolicy Local needs this node's name (--node-name, K8S_NODE_NAME)" }] });
    expect(translateService(service('ClusterIP', undefined, { internalTrafficPolicy: 'Near' }), slices, { nodeName: 'node-a' }).skipped).toEqual([{ service: 'shop/web', reason: 'internalTrafficPolicy "Near" is not Cluster or Local' }]);
  });

  it('skips a Service with an unknown policy and rejects a malformed nodeName or policy', () => {
    const r = translateService(service('NodePort', 'Nearest'), slices);
    expect(r.services).toEqual([]);
    expect(r.skipped).toEqual([{ service: 'shop/web', reason: 'externalTrafficPolicy "Nearest" is not Cluster or Local' }]);
    const code = (input: unknown) => {
      try {
        servicesFromKubernetes(input);
      } catch (e) {
        expect(e).toBeInstanceOf(ServiceError);
        return [(e as ServiceError).code, (e as ServiceError).path];
      }
      return undefined;
    };
    expect(code({ items: [{ ...service('NodePort', undefined), spec: { ...service('NodePort', undefined).spec, externalTrafficPolicy: 1 } }] })).toEqual(['LB_KUBERNETES_INPUT', 'items[0].spec.externalTrafficPolicy']);
    expect(code({ items: [{ ...slices[0], endpoints: [{ addresses: ['10.244.1.5'], nodeName: 5 }] }] })).toEqual(['LB_KUBERNETES_INPUT', 'items[0].endpoints[0].nodeName']);
    expect(code({ items: [{ ...service('NodePort', undefined), spec: { ...service('NodePort', undefined).spec, internalTrafficPolicy: true } }] })).toEqual(['LB_KUBERNETES_INPUT', 'items[0].spec.internalTrafficPolicy']);
  });

  it('the recorded list on kind-worker: every pod endpoint local, the API server endpoint not', () => {
    const r = servicesFromKubernetes(fixture(), { nodeName: 'kind-worker' });
    const all = r.services.flatMap((s) => s.backends.map((b) => [b.address, b.local ?? false] as const));
    expect(all.filter(([a]) => a === '172.18.0.2')).toEqual([['172.18.0.2', false]]);
    expect(all.filter(([a]) => a !== '172.18.0.2').every(([, local]) => local)).toBe(true);
    expect(servicesFromKubernetes(fixture(), { nodeName: 'kind-control-plane' }).services.flatMap((s) => s.backends.filter((b) => b.local).map((b) => b.address))).toEqual(['172.18.0.2']);
  });

  it('syncs into a manager: the INTERNAL frontend lists exactly this node’s ready endpoints', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    const list = { items: [service('NodePort', 'Local'), ...slices] };
    m.sync(servicesFromKubernetes(list, { nodeName: 'node-a' }).services);
    const d = decodedDump(maps, 'ipv4');
    const addressOf = new Map(d.backends.map((b) => [b.id, b.address]));
    const internal = d.services.filter((e) => e.scope === SERVICE_SCOPE_INTERNAL);
    expect(internal.map((e) => [e.port, e.backendSlot, e.count])).toEqual([[30500, 0, 1], [30500, 1, 1]]);
    expect(addressOf.get(internal[1]!.backendId)).toBe('10.244.1.5');
    // Both the ClusterIP and the NodePort frontend flag node-a's endpoints local (4 backends each).
    expect(d.backends.filter((b) => b.flags & BACKEND_FLAG_LOCAL).map((b) => b.address).sort()).toEqual(['10.244.1.5', '10.244.1.5', '10.244.1.7', '10.244.1.7']);
    // The same list from node-b's point of view.
    m.sync(servicesFromKubernetes(list, { nodeName: 'node-b' }).services);
    const d2 = decodedDump(maps, 'ipv4');
    const internal2 = d2.services.filter((e) => e.scope === SERVICE_SCOPE_INTERNAL);
    expect(internal2.map((e) => [e.backendSlot, e.count])).toEqual([[0, 1], [1, 1]]);
    expect(new Map(d2.backends.map((b) => [b.id, b.address])).get(internal2[1]!.backendId)).toBe('10.244.2.6');
  });
});
