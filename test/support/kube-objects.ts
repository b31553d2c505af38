/**
 * Builders of Service and EndpointSlice objects in the shape the API server
 * returns (what `kubectl get -o json` shows), for tests and benchmarks that
 * need many of them; the fixtures under test/fixtures/kubernetes are recorded
 * ones.
 */
import type { KubeObject } from './kube-api.js';

/** A port of a service: `port` on the VIP, `targetPort` on the pods. */
export interface PortSpec {
  readonly name?: string;
  readonly port: number;
  readonly targetPort?: number;
  readonly protocol?: 'TCP' | 'UDP';
  readonly nodePort?: number;
}

/** A ClusterIP (or NodePort, with a `nodePort` on a port) Service. */
export function makeService(
  namespace: string,
  name: string,
  clusterIP: string,
  ports: readonly PortSpec[],
  extra: { labels?: Record<string, string>; type?: string; externalTrafficPolicy?: 'Cluster' | 'Local'; healthCheckNodePort?: number; sessionAffinitySeconds?: number } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, uid: `uid-svc-${namespace}-${name}`, creationTimestamp: '2026-12-01T00:00:00Z', ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      type: extra.type ?? (ports.some((p) => p.nodePort !== undefined) ? 'NodePort' : 'ClusterIP'),
      clusterIP,
      clusterIPs: [clusterIP],
      ipFamilies: [clusterIP.includes(':') ? 'IPv6' : 'IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: ports.map((p) => ({
        ...(p.name !== undefined ? { name: p.name } : {}),
        port: p.port,
        protocol: p.protocol ?? 'TCP',
        targetPort: p.targetPort ?? p.port,
        ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
      })),
      ...(extra.sessionAffinitySeconds !== undefined
        ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: extra.sessionAffinitySeconds } } }
        : { sessionAffinity: 'None' }),
      ...(extra.externalTrafficPolicy ? { externalTrafficPolicy: extra.externalTrafficPolicy } : {}),
      ...(extra.healthCheckNodePort !== undefined ? { healthCheckNodePort: extra.healthCheckNodePort } : {}),
    },
    status: { loadBalancer: {} },
  };
}

/** One endpoint of a slice. */
export interface EndpointSpec {
  readonly ip: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
  readonly nodeName?: string;
  /** Zone hints (`hints.forZones`), as the EndpointSlice controller sets for topology-aware routing. */
  readonly forZones?: readonly string[];
}

/** An EndpointSlice of service `service`; `ports` as the pods listen (targetPort). */
export function makeSlice(
  namespace: string,
  name: string,
  service: string,
  endpoints: readonly EndpointSpec[],
  ports: readonly { name?: string; port: number; protocol?: 'TCP' | 'UDP' }[],
  triggerTime?: Date,
): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: endpoints[0]?.ip.includes(':') ? 'IPv6' : 'IPv4',
    metadata: {
      name,
      namespace,
      uid: `uid-eps-${namespace}-${name}`,
      generateName: `${service}-`,
      labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      ...(triggerTime ? { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': triggerTime.toISOString() } } : {}),
    },
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? !e.terminating, serving: e.serving ?? true, terminating: e.terminating ?? false },
      ...(e.nodeName !== undefined ? { nodeName: e.nodeName } : {}),
      ...(e.forZones !== undefined ? { hints: { forZones: e.forZones.map((name) => ({ name })) } } : {}),
    })),
    ports: ports.map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? 'TCP' })),
  };
}
