/**
 * Kubernetes import of `sessionAffinity`: ClientIP gives every frontend of
 * the Service (cluster IPs of both families, NodePorts, external IPs) the
 * timeout of `sessionAffinityConfig.clientIP.timeoutSeconds` (default 10800);
 * None or absent gives none; another value or an out-of-range timeout skips
 * the Service with a reason; wrongly typed fields are refused with their path.
 * The result syncs into a manager that writes the flag and the timeout.
 */
import { describe, expect, it } from 'vitest';
import { ServiceError, ServiceManager, formatFrontend } from '../../programs/lb/index.js';
import { servicesFromKubernetes, translateService, type KubernetesEndpointSlice, type KubernetesService } from '../../programs/lb/kubernetes.js';
import { SERVICE_FLAG_AFFINITY } from '../../programs/lb/schemas.js';
import { decodedDump, memoryMaps } from './helpers.js';

function service(extra: Record<string, unknown> = {}, type = 'LoadBalancer'): KubernetesService {
  return {
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      type,
      clusterIPs: ['10.96.5.5', 'fd00:96::5'],
      externalIPs: ['192.0.2.5'],
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30500 }],
      ...extra,
    },
    status: { loadBalancer: { ingress: [{ ip: '198.51.100.5' }] } },
  };
}

const slices: KubernetesEndpointSlice[] = (['IPv4', 'IPv6'] as const).map((addressType) => ({
  kind: 'EndpointSlice',
  metadata: { name: `web-${addressType}`, namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType,
  ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  endpoints: [{ addresses: [addressType === 'IPv4' ? '10.244.1.5' : 'fd00:244::5'] }],
}));

/** Frontend → its sessionAffinity (undefined: none). */
const affinityOf = (r: ReturnType<typeof translateService>) => Object.fromEntries(r.services.map(({ spec }) => [formatFrontend(spec.frontend), spec.sessionAffinity]));
const FRONTENDS = ['10.96.5.5:80/TCP', '[fd00:96::5]:80/TCP', '192.0.2.5:80/TCP', '198.51.100.5:80/TCP', '0.0.0.0:30500/TCP', '[::]:30500/TCP'];

describe('Kubernetes sessionAffinity', () => {
  it('ClientIP with a sessionAffinityConfig gives every frontend its timeout', () => {
    const r = translateService(service({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }), slices);
    expect(r.skipped).toEqual([]);
    expect(affinityOf(r)).toEqual(Object.fromEntries(FRONTENDS.map((f) => [f, { timeoutSeconds: 600 }])));
    // The other fields are as without affinity.
    const plain = translateService(service(), slices);
    expect(r.services.map(({ spec }) => ({ ...spec, sessionAffinity: undefined }))).toEqual(plain.services.map(({ spec }) => ({ ...spec, sessionAffinity: undefined })));
  });

  it('ClientIP without a config (or without its clientIP) takes the Kubernetes default of 10800 seconds', () => {
    for (const extra of [{}, { sessionAffinityConfig: {} }, { sessionAffinityConfig: { clientIP: {} } }]) {
      const r = translateService(service({ sessionAffinity: 'ClientIP', ...extra }), slices);
      expect(Object.values(affinityOf(r))).toEqual(FRONTENDS.map(() => ({ timeoutSeconds: 10800 })));
    }
  });

  it('None or absent: no affinity on any frontend', () => {
    for (const extra of [{}, { sessionAffinity: 'None' }]) {
      const r = translateService(service(extra), slices);
      expect(r.services).toHaveLength(FRONTENDS.length);
      expect(r.services.every(({ spec }) => !('sessionAffinity' in spec))).toBe(true);
    }
  });

  it('another value, or a timeout outside 1..86400, skips the Service with a reason', () => {
    const skipped = (extra: Record<string, unknown>) => {
      const r = translateService(service(extra), slices);
      expect(r.services).toEqual([]);
      return r.skipped;
    };
    expect(skipped({ sessionAffinity: 'clientip' })).toEqual([{ service: 'shop/web', reason: 'sessionAffinity "clientip" is not None or ClientIP' }]);
    expect(skipped({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } })[0]!.reason).toMatch(/timeoutSeconds 0 is not an integer in 1\.\.86400/);
    expect(skipped({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } })[0]!.reason).toMatch(/86401/);
    expect(skipped({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 2.5 } } })[0]!.reason).toMatch(/2\.5/);
    // The agent hands Services over unchecked: a wrongly typed timeout there is a skip, not a crash.
    expect(skipped({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: '60' } } })[0]!.reason).toMatch(/"60"/);
    expect(skipped({ sessionAffinity: 7 })[0]!.reason).toMatch(/sessionAffinity 7/);
    // In a whole list the others still go through.
    const r = servicesFromKubernetes({ items: [service({ sessionAffinity: 'Sticky' }), { ...service(), metadata: { name: 'api', namespace: 'shop' }, spec: { ...service().spec, clusterIPs: ['10.96.5.6'], externalIPs: [] } }] });
    expect(r.skipped.map((s) => s.service)).toEqual(['shop/web']);
    expect(r.services.map((s) => formatFrontend(s.frontend))).toEqual(['10.96.5.6:80/TCP', '198.51.100.5:80/TCP', '0.0.0.0:30500/TCP']);
  });

  it('refuses wrongly typed fields in a list with LB_KUBERNETES_INPUT and their path', () => {
    const code = (extra: Record<string, unknown>) => {
      try {
        servicesFromKubernetes({ items: [service(extra)] });
      } catch (e) {
        expect(e).toBeInstanceOf(ServiceError);
        return [(e as ServiceError).code, (e as ServiceError).path];
      }
      return undefined;
    };
    expect(code({ sessionAffinity: true })).toEqual(['LB_KUBERNETES_INPUT', 'items[0].spec.sessionAffinity']);
    expect(code({ sessionAffinity: 'ClientIP', sessionAffinityConfig: 'long' })).toEqual(['LB_KUBERNETES_INPUT', 'items[0].spec.sessionAffinityConfig']);
    expect(code({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: [] } })).toEqual(['LB_KUBERNETES_INPUT', 'items[0].spec.sessionAffinityConfig.clientIP']);
    expect(code({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: '60' } } })).toEqual([
      'LB_KUBERNETES_INPUT', 'items[0].spec.sessionAffinityConfig.clientIP.timeoutSeconds',
    ]);
    expect(code({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } })).toBeUndefined();
  });

  it('syncs into a manager: every entry of every frontend carries the flag, the frontends the timeout', () => {
    const maps = memoryMaps();
    const m = ServiceManager.fromMaps(maps);
    const list = { items: [service({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 120 } } })] };
    const r = m.sync(servicesFromKubernetes(list).services);
    expect(r.added).toHaveLength(FRONTENDS.length);
    for (const family of ['ipv4', 'ipv6'] as const) {
      const entries = decodedDump(maps, family).services;
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.every((e) => (e.flags & SERVICE_FLAG_AFFINITY) !== 0)).toBe(true);
      expect(entries.filter((e) => e.backendSlot === 0).map((e) => e.backendId).every((t) => t === 120)).toBe(true);
    }
    // The Service goes back to None: every entry rewritten without the flag, then a resync writes nothing.
    const none = servicesFromKubernetes({ items: [service({ sessionAffinity: 'None' })] }).services;
    expect(m.sync(none).updated).toHaveLength(FRONTENDS.length);
    expect(decodedDump(maps, 'ipv4').services.some((e) => (e.flags & SERVICE_FLAG_AFFINITY) !== 0 || (e.backendSlot === 0 && e.backendId !== 0))).toBe(false);
    expect(m.sync(none).writes).toBe(0);
  });
});
