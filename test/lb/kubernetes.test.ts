/**
 * Kubernetes import: a recorded-style `kubectl get services,endpointslices -A -o json`
 * list (test/fixtures/kubernetes/cluster-list.json) translated into service specs
 * (ClusterIP per port and family, NodePort wildcards, external IPs, skipped kinds),
 * EndpointSlice semantics (several slices, port names, ready/serving/terminating,
 * the serving+terminating fallback, publishNotReadyAddresses), and `sync` of the
 * result into a manager over in-memory tables applying only the difference.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ServiceError, ServiceManager, formatFrontend } from '../../programs/lb/index.js';
import { backendsFor, servicesFromKubernetes, type KubernetesEndpointSlice } from '../../programs/lb/kubernetes.js';
import { memoryMaps } from './helpers.js';

const fixture = () => JSON.parse(readFileSync(new URL('../fixtures/kubernetes/cluster-list.json', import.meta.url), 'utf8'));

describe('servicesFromKubernetes', () => {
  it('translates every frontend of the recorded list', () => {
    const r = servicesFromKubernetes(fixture());
    const byId = new Map(r.services.map((s) => [formatFrontend(s.frontend), s]));
    expect([...byId.keys()]).toEqual([
      '10.96.0.1:443/TCP',
      '10.96.0.10:53/UDP',
      '10.96.0.10:53/TCP',
      '10.96.0.10:9153/TCP',
      '10.96.40.4:80/TCP',
      '10.96.40.2:7946/UDP',
      '10.96.40.3:8080/TCP',
      '10.96.12.7:80/TCP',
      '[fd00:10:96::c07]:80/TCP',
      '0.0.0.0:30080/TCP',
      '[::]:30080/TCP',
      '10.96.60.6:5060/UDP',
      '198.51.100.7:5060/UDP',
      '203.0.113.20:5060/UDP',
      '0.0.0.0:31060/UDP',
    ]);
    expect(byId.get('10.96.0.1:443/TCP')).toEqual({ frontend: { address: '10.96.0.1', port: 443, protocol: 'TCP' }, backends: [{ address: '172.18.0.2', port: 6443 }] });
    // Ready pod takes connections, the terminating one drains, the not-yet-ready one is left out.
    const dns = [{ address: '10.244.0.3', port: 53 }, { address: '10.244.0.4', port: 53, terminating: true }];
    expect(byId.get('10.96.0.10:53/UDP')!.backends).toEqual(dns);
    expect(byId.get('10.96.0.10:53/TCP')!.backends).toEqual(dns);
    expect(byId.get('10.96.0.10:9153/TCP')!.backends).toEqual([{ address: '10.244.0.3', port: 9153 }, { address: '10.244.0.4', port: 9153, terminating: true }]);
    // Two IPv4 slices joined; web-2 is ready in one and terminating in the other: the ready copy wins. Named targetPort → slice port 8080.
    const web4 = [{ address: '10.244.1.10', port: 8080 }, { address: '10.244.2.11', port: 8080 }, { address: '10.244.3.12', port: 8080 }];
    const web6 = [{ address: 'fd00:10:244:1::a', port: 8080 }, { address: 'fd00:10:244:2::b', port: 8080 }];
    expect(byId.get('10.96.12.7:80/TCP')!.backends).toEqual(web4);
    expect(byId.get('[fd00:10:96::c07]:80/TCP')!.backends).toEqual(web6);
    expect(byId.get('0.0.0.0:30080/TCP')).toEqual({ frontend: { address: '0.0.0.0', port: 30080, protocol: 'TCP' }, backends: web4, nodePort: true });
    expect(byId.get('[::]:30080/TCP')).toEqual({ frontend: { address: '::', port: 30080, protocol: 'TCP' }, backends: web6, nodePort: true });
    // publishNotReadyAddresses: the not-ready peer takes connections too.
    expect(byId.get('10.96.40.2:7946/UDP')!.backends).toEqual([{ address: '10.244.1.30', port: 7946 }, { address: '10.244.2.31', port: 7946 }]);
    // Nothing ready: the serving+terminating pod takes connections; the non-serving terminating one drains.
    expect(byId.get('10.96.40.3:8080/TCP')!.backends).toEqual([{ address: '10.244.1.40', port: 8080 }, { address: '10.244.2.41', port: 8080, terminating: true }]);
    // Only a terminating, non-serving endpoint: no backend takes new connections (connects fail fast).
    expect(byId.get('10.96.40.4:80/TCP')!.backends).toEqual([{ address: '10.244.1.50', port: 80, terminating: true }]);
    expect(byId.get('198.51.100.7:5060/UDP')).toMatchObject({ externalIP: true, backends: [{ address: '10.244.2.70', port: 5060 }] });
    expect(byId.get('203.0.113.20:5060/UDP')).toMatchObject({ externalIP: true });
    expect(r.origins.get('[::]:30080/TCP')).toBe('shop/web:http');
    expect(r.skipped).toEqual([
      { service: 'ext/search', reason: 'ExternalName service (DNS only)' },
      { service: 'istio-system/mesh-gw', reason: 'labelled service.kubernetes.io/service-proxy-name=mesh-proxy (another proxy serves it)' },
      { service: 'shop/db', reason: 'headless service (clusterIP None)' },
      { service: 'voip/sip:sctp', reason: 'protocol SCTP is not supported (TCP and UDP are)' },
    ]);
  });

  it('leaves NodePort and external frontends out when asked', () => {
    const r = servicesFromKubernetes(fixture(), { nodePorts: false, externalIPs: false });
    const ids = r.services.map((s) => formatFrontend(s.frontend));
    expect(ids.filter((i) => i.includes('0.0.0.0') || i.includes('[::]') || i.startsWith('198.') || i.startsWith('203.'))).toEqual([]);
    expect(ids).toHaveLength(10);
  });

  it('serves only the families asked for: the other family of a dual-stack Service is skipped once per port', () => {
    const all = servicesFromKubernetes(fixture()).services.map((s) => formatFrontend(s.frontend));
    const v4 = servicesFromKubernetes(fixture(), { families: ['ipv4'] });
    expect(v4.services.map((s) => formatFrontend(s.frontend))).toEqual(all.filter((i) => !i.startsWith('[')));
    expect(v4.skipped).toContainEqual({ service: 'shop/web:http', reason: 'IPv6 frontends: this proxy serves IPv4 only' });
    expect(v4.skipped.filter((k) => k.reason.startsWith('IPv6'))).toHaveLength(1);
    const v6 = servicesFromKubernetes(fixture(), { families: ['ipv6'] });
    expect(v6.services.map((s) => formatFrontend(s.frontend))).toEqual(['[fd00:10:96::c07]:80/TCP', '[::]:30080/TCP']);
    expect(v6.skipped).toContainEqual({ service: 'kube-system/kube-dns:dns', reason: 'IPv4 frontends: this proxy serves IPv6 only' });
  });

  it('matches slice ports by name and protocol, or by a numeric targetPort for unnamed ones', () => {
    const slice = (ports: KubernetesEndpointSlice['ports']): KubernetesEndpointSlice => ({
      metadata: { name: 's', namespace: 'n', labels: { 'kubernetes.io/service-name': 'x' } },
      addressType: 'IPv4',
      ports,
      endpoints: [{ addresses: ['10.1.0.1'], conditions: {} }],
    });
    expect(backendsFor({ name: 'dns', protocol: 'UDP' }, 'ipv4', [slice([{ name: 'dns', protocol: 'TCP', port: 53 }])])).toEqual([]);
    expect(backendsFor({ name: 'dns', protocol: 'UDP' }, 'ipv4', [slice([{ name: 'dns', protocol: 'UDP', port: 5353 }])])).toEqual([{ address: '10.1.0.1', port: 5353 }]);
    expect(backendsFor({ targetPort: 9000 }, 'ipv4', [slice([{ port: 9000 }])])).toEqual([{ address: '10.1.0.1', port: 9000 }]);
    expect(backendsFor({ name: 'a', targetPort: 9000 }, 'ipv4', [slice([{ name: 'b', port: 9000 }])])).toEqual([]);
    // A port without a number (a selector-less slice for a headless service) gives nothing.
    expect(backendsFor({}, 'ipv4', [slice([{ port: null }])])).toEqual([]);
    // Conditions default: ready and serving true, terminating false.
    expect(backendsFor({}, 'ipv6', [slice([{ port: 1 }])])).toEqual([]);
  });

  it('rejects input that is not a Service/EndpointSlice list with a path', () => {
    const cases: [unknown, string][] = [
      [{ kind: 'Pod' }, ''],
      [{ items: [{ kind: 'Pod', metadata: { name: 'p' } }] }, 'items[0].kind'],
      [{ items: [{ kind: 'Service', metadata: {} }] }, 'items[0].metadata.name'],
      [{ items: [{ kind: 'Service', metadata: { name: 'a' }, spec: { ports: [{ port: '80' }] } }] }, 'items[0].spec.ports[0].port'],
      [{ items: [{ kind: 'EndpointSlice', metadata: { name: 'a' }, addressType: 'IPv4', endpoints: [{ addresses: '10.0.0.1' }] }] }, 'items[0].endpoints[0].addresses'],
    ];
    for (const [input, path] of cases) {
      let err: unknown;
      try {
        servicesFromKubernetes(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ServiceError);
      expect((err as ServiceError).code).toBe('LB_KUBERNETES_INPUT');
      expect((err as ServiceError).path).toBe(path);
    }
  });
});

describe('sync of a Kubernetes import', () => {
  it('applies the list, then only what changed between two recorded lists', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    const first = servicesFromKubernetes(fixture());
    const r1 = m.sync(first.services);
    expect(r1.added).toHaveLength(15);
    expect(m.get('10.96.40.4:80/TCP')).toMatchObject({ backends: [{ address: '10.244.1.50', terminating: true }] });
    expect(m.sync(first.services)).toEqual({ added: [], updated: [], removed: [], unchanged: 15, writes: 0 });

    // web scales: web-3 goes away, a new ready pod arrives in a third slice; kube-dns's terminating pod is gone; sip is deleted.
    const next = fixture();
    next.items = next.items.filter((i: { metadata: { name: string } }) => i.metadata.name !== 'sip' && i.metadata.name !== 'sip-s6s6s');
    const webSlice = next.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'web-def34');
    webSlice.endpoints = webSlice.endpoints.filter((e: { addresses: string[] }) => e.addresses[0] !== '10.244.3.12');
    next.items.push({ ...webSlice, metadata: { ...webSlice.metadata, name: 'web-ghi56' }, endpoints: [{ addresses: ['10.244.3.13'], conditions: { ready: true } }] });
    const dnsSlice = next.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'kube-dns-7xq2p');
    dnsSlice.endpoints = dnsSlice.endpoints.filter((e: { addresses: string[] }) => e.addresses[0] !== '10.244.0.4');
    const before = { services4: maps.services4.size, backends4: maps.backends4.size };
    const r2 = m.sync(servicesFromKubernetes(next).services);
    expect(r2.added).toEqual([]);
    expect(r2.updated.sort()).toEqual(['0.0.0.0:30080/TCP', '10.96.0.10:53/TCP', '10.96.0.10:53/UDP', '10.96.0.10:9153/TCP', '10.96.12.7:80/TCP'].sort());
    expect(r2.removed.sort()).toEqual(['0.0.0.0:31060/UDP', '10.96.60.6:5060/UDP', '198.51.100.7:5060/UDP', '203.0.113.20:5060/UDP'].sort());
    expect(r2.unchanged).toBe(15 - 5 - 4);
    // web (2 frontends): new backend + rewritten slot + deleted backend each; dns (3): delete slot + backend each; sip (4): 4 entries each.
    expect(r2.writes).toBe(2 * 3 + 3 * 2 + 4 * 4);
    expect(maps.backends4.size).toBe(before.backends4 - 3 - 4);
    expect(m.get('10.96.12.7:80/TCP')!.backends.map((b) => b.address).sort()).toEqual(['10.244.1.10', '10.244.2.11', '10.244.3.13']);
  });
});
