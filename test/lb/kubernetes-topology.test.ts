/**
 * Topology-aware routing in the Kubernetes import: with this node's zone, the
 * EndpointSlice zone hints pick who takes new connections — only when every
 * ready endpoint is hinted and one hint is for this zone, as kube-proxy rules;
 * the endpoints hinted elsewhere drain (their flows keep working). A local
 * endpoint hinted for another zone stays usable by a Local-policy frontend.
 */
import { describe, expect, it } from 'vitest';
import { ServiceError, ServiceManager, formatFrontend } from '../../programs/lb/index.js';
import { servicesFromKubernetes, translateService, type KubernetesEndpointSlice, type KubernetesService } from '../../programs/lb/kubernetes.js';
import { SERVICE_SCOPE_INTERNAL } from '../../programs/lb/schemas.js';
import { decodedDump, memoryMaps } from './helpers.js';

const svc = (policy?: string): KubernetesService => ({
  kind: 'Service',
  metadata: { name: 'api', namespace: 'shop' },
  spec: { type: 'NodePort', clusterIPs: ['10.96.7.7'], ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30700 }], ...(policy ? { externalTrafficPolicy: policy } : {}) },
});

interface Ep { ip: string; zones?: string[]; node?: string; ready?: boolean }
const slice = (eps: Ep[]): KubernetesEndpointSlice => ({
  kind: 'EndpointSlice',
  metadata: { name: 'api-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'api' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  endpoints: eps.map((e) => ({
    addresses: [e.ip],
    ...(e.node ? { nodeName: e.node } : {}),
    conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: false },
    ...(e.zones ? { hints: { forZones: e.zones.map((name) => ({ name })) } } : {}),
  })),
});

/** The cluster IP's backends as [address, role]. */
const roles = (eps: Ep[], options: Parameters<typeof translateService>[2]) => {
  const r = translateService(svc(), [slice(eps)], options);
  const cip = r.services.find(({ spec }) => formatFrontend(spec.frontend) === '10.96.7.7:80/TCP')!.spec;
  return cip.backends.map((b) => [b.address, b.terminating ? 'drain' : 'new']);
};

const hinted: Ep[] = [
  { ip: '10.244.1.1', zones: ['zone-a'] },
  { ip: '10.244.1.2', zones: ['zone-a'] },
  { ip: '10.244.2.1', zones: ['zone-b'] },
  { ip: '10.244.3.1', zones: ['zone-c', 'zone-b'] },
];

describe('topology-aware routing (zone hints)', () => {
  it('only the endpoints hinted for this zone take new connections; the others drain', () => {
    expect(roles(hinted, { zone: 'zone-a' })).toEqual([['10.244.1.1', 'new'], ['10.244.1.2', 'new'], ['10.244.2.1', 'drain'], ['10.244.3.1', 'drain']]);
    // An endpoint hinted for two zones serves both.
    expect(roles(hinted, { zone: 'zone-b' })).toEqual([['10.244.1.1', 'drain'], ['10.244.1.2', 'drain'], ['10.244.2.1', 'new'], ['10.244.3.1', 'new']]);
    // The NodePort frontend (Cluster policy) follows the same hints.
    const r = translateService(svc(), [slice(hinted)], { zone: 'zone-c' });
    const np = r.services.find(({ spec }) => spec.nodePort)!.spec;
    expect(np.backends.filter((b) => !b.terminating).map((b) => b.address)).toEqual(['10.244.3.1']);
  });

  it('falls back to every ready endpoint: no zone known, a ready endpoint without hints, or no hint for this zone', () => {
    const all = [['10.244.1.1', 'new'], ['10.244.1.2', 'new'], ['10.244.2.1', 'new'], ['10.244.3.1', 'new']];
    expect(roles(hinted, {})).toEqual(all);
    expect(roles(hinted, { zone: 'zone-d' })).toEqual(all);
    expect(roles([...hinted.slice(0, 3), { ip: '10.244.3.1' }], { zone: 'zone-a' })).toEqual(all);
    // A not-ready endpoint without hints does not count (kube-proxy checks the ready ones).
    expect(roles([...hinted, { ip: '10.244.4.1', ready: false }], { zone: 'zone-a' })).toEqual([['10.244.1.1', 'new'], ['10.244.1.2', 'new'], ['10.244.2.1', 'drain'], ['10.244.3.1', 'drain']]);
  });

  it('a local endpoint hinted for another zone still serves a Local-policy NodePort with no other local endpoint', () => {
    const eps: Ep[] = [{ ip: '10.244.1.1', zones: ['zone-a'], node: 'node-b' }, { ip: '10.244.2.1', zones: ['zone-b'], node: 'node-a' }];
    const r = servicesFromKubernetes({ items: [svc('Local'), slice(eps)] }, { nodeName: 'node-a', zone: 'zone-a' });
    const cip = r.services.find((s) => formatFrontend(s.frontend) === '10.96.7.7:80/TCP')!;
    expect(cip.backends).toEqual([{ address: '10.244.1.1', port: 8080 }, { address: '10.244.2.1', port: 8080, terminating: true, local: true, serving: true }]);
    const maps = memoryMaps();
    ServiceManager.fromMaps(maps).sync(r.services);
    const d = decodedDump(maps, 'ipv4');
    const addressOf = new Map(d.backends.map((b) => [b.id, b.address]));
    expect(d.services.filter((e) => e.scope === SERVICE_SCOPE_INTERNAL && e.backendSlot > 0).map((e) => addressOf.get(e.backendId))).toEqual(['10.244.2.1']);
  });

  it('refuses malformed hints with the path of the endpoint', () => {
    const bad = (hints: unknown) => {
      const s = slice([{ ip: '10.244.1.1' }]);
      try {
        servicesFromKubernetes({ items: [{ ...s, endpoints: [{ ...s.endpoints![0]!, hints }] }] });
      } catch (e) {
        expect(e).toBeInstanceOf(ServiceError);
        return [(e as ServiceError).code, (e as ServiceError).path];
      }
      return undefined;
    };
    expect(bad({ forZones: 'zone-a' })).toEqual(['LB_KUBERNETES_INPUT', 'items[0].endpoints[0].hints']);
    expect(bad({ forZones: [{ name: 1 }] })).toEqual(['LB_KUBERNETES_INPUT', 'items[0].endpoints[0].hints']);
    expect(bad({ forZones: [{ name: 'zone-a' }] })).toBeUndefined();
    expect(bad(null)).toBeUndefined();
  });
});
