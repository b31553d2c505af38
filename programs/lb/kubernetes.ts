/**
 * Kubernetes Services and EndpointSlices (the JSON of
 * `kubectl get services,endpointslices -A -o json`) translated into the
 * service specs the manager applies. Pure: no kernel, no API server.
 *
 * What becomes a frontend, per Service port with protocol TCP or UDP:
 * - each cluster IP (`spec.clusterIPs`, IPv4 and IPv6) at `port`;
 * - for NodePort and LoadBalancer services, the wildcard NodePort frontend
 *   (`0.0.0.0`/`::` at `nodePort`) once per family of the cluster IPs;
 * - `spec.externalIPs` and `status.loadBalancer.ingress[].ip` at `port`, flagged externalIP.
 * Skipped: headless services (`clusterIP: None`), ExternalName services, and
 * services labelled `service.kubernetes.io/service-proxy-name` (another proxy owns them).
 *
 * Backends come from every EndpointSlice labelled `kubernetes.io/service-name`
 * with the Service's name in its namespace, of the frontend's address family,
 * at the slice port whose name (and protocol) is the Service port's (a slice
 * without named ports matches a numeric `targetPort`). Endpoint conditions are
 * read as the API defines them (ready and serving default to true,
 * terminating to false) and used the way kube-proxy does:
 * - new connections go to ready endpoints; when none is ready, to endpoints
 *   that are serving and terminating (so a rolling restart never drops to zero);
 * - other terminating endpoints drain: kept for their flows, never picked;
 * - not ready and not terminating: left out;
 * - `publishNotReadyAddresses`: every endpoint takes new connections.
 *
 * Given this node's name (`nodeName`), endpoints whose `nodeName` is it are
 * marked `local` (draining ones that still serve also `serving`, which a
 * Local-policy frontend falls back to when no local endpoint is ready).
 * `spec.externalTrafficPolicy: Local` gives the NodePort and
 * external frontends (not the cluster IPs) the Local policy, as kube-proxy
 * does: for NodePort and LoadBalancer services and services with external
 * IPs. Without a node name no endpoint is local, so such frontends get no
 * backend from outside the node (kube-proxy drops that traffic too).
 * `spec.internalTrafficPolicy: Local` gives the cluster IPs only this node's
 * endpoints ({@link internalLocalBackends}); it needs the node's name (a
 * Service with it is skipped without one).
 * `spec.sessionAffinity: ClientIP` gives every frontend of the Service (cluster
 * IPs, NodePorts, external IPs) ClientIP affinity with
 * `sessionAffinityConfig.clientIP.timeoutSeconds` (default 10800); another
 * value than None or ClientIP, or a timeout outside 1..86400, skips the Service.
 */
import { ServiceError } from './errors.js';
import {
  canonicalAddress, formatFrontend, MAX_AFFINITY_TIMEOUT_SECONDS, type AddressFamily, type BackendSpec, type ExternalTrafficPolicy, type Protocol, type ServiceSpec,
} from './spec.js';

/** Kubernetes' default `sessionAffinityConfig.clientIP.timeoutSeconds` (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

/** The label joining an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** The label handing a Service to another proxy. */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';

/** The parts of a v1 Service the translation reads. */
export interface KubernetesService {
  readonly kind?: 'Service';
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: {
    readonly type?: string;
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly externalIPs?: readonly string[];
    readonly publishNotReadyAddresses?: boolean;
    /** `Cluster` (default) or `Local`. */
    readonly externalTrafficPolicy?: string;
    /** `Cluster` (default) or `Local`: cluster IPs reach only this node's endpoints. */
    readonly internalTrafficPolicy?: string;
    /** `None` (default) or `ClientIP`: a client keeps its backend (see `sessionAffinityConfig`). */
    readonly sessionAffinity?: string;
    /** The ClientIP affinity timeout (default 10800 s, 3 hours). */
    readonly sessionAffinityConfig?: { readonly clientIP?: { readonly timeoutSeconds?: number } };
    readonly ports?: readonly {
      readonly name?: string;
      readonly protocol?: string;
      readonly port: number;
      readonly targetPort?: number | string;
      readonly nodePort?: number;
    }[];
  };
  readonly status?: { readonly loadBalancer?: { readonly ingress?: readonly { readonly ip?: string }[] } };
}

/** The parts of a discovery.k8s.io/v1 EndpointSlice the translation reads. */
export interface KubernetesEndpointSlice {
  readonly kind?: 'EndpointSlice';
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly addressType: string;
  readonly ports?: readonly { readonly name?: string; readonly protocol?: string; readonly port?: number | null }[] | null;
  readonly endpoints?: readonly {
    readonly addresses: readonly string[];
    /** The node the endpoint runs on. */
    readonly nodeName?: string | null;
    readonly conditions?: { readonly ready?: boolean | null; readonly serving?: boolean | null; readonly terminating?: boolean | null };
    /** Topology-aware routing: the zones whose nodes should use this endpoint (set by the EndpointSlice controller). */
    readonly hints?: { readonly forZones?: readonly { readonly name: string }[] | null } | null;
  }[] | null;
}

/** Options of the translation. */
export interface KubernetesImportOptions {
  /** NodePort wildcard frontends for NodePort/LoadBalancer services (default true). */
  readonly nodePorts?: boolean;
  /** ExternalIP and LoadBalancer ingress frontends (default true). */
  readonly externalIPs?: boolean;
  /** This node's name: endpoints with this `nodeName` are `local` (default: none is). */
  readonly nodeName?: string;
  /**
   * This node's zone (its `topology.kubernetes.io/zone` label): topology-aware
   * routing, as kube-proxy does it — when every ready endpoint of a port
   * carries zone hints and one of them is for this zone, only the endpoints
   * hinted for this zone take new connections; the others drain. Without a
   * zone, or hints missing anywhere, every ready endpoint is used.
   */
  readonly zone?: string;
  /**
   * The address families the proxy serves (default both). Frontends of another
   * family are left out and reported in `skipped`, as a single-stack kube-proxy
   * ignores the other family of a dual-stack Service.
   */
  readonly families?: readonly AddressFamily[];
}

/** A Service (or one of its ports) that produced no frontend, and why. */
export interface SkippedService {
  /** `namespace/name`, with `:port` when only one port was skipped. */
  readonly service: string;
  readonly reason: string;
}

/** The translation of a whole list. */
export interface KubernetesImport {
  /** Desired services, ready for `ServiceManager.sync`. */
  readonly services: ServiceSpec[];
  /** Frontend (canonical text) → the Service port it came from, `namespace/name:port`. */
  readonly origins: Map<string, string>;
  readonly skipped: SkippedService[];
}

const bad = (path: string, msg: string) => new ServiceError('LB_KUBERNETES_INPUT', msg, { path });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkMetadata(item: Record<string, unknown>, path: string): void {
  const md = item.metadata;
  if (!isObject(md) || typeof md.name !== 'string') throw bad(`${path}.metadata.name`, 'every item needs metadata.name');
  if (md.labels !== undefined && !isObject(md.labels)) throw bad(`${path}.metadata.labels`, 'labels must be an object');
}

function checkService(item: Record<string, unknown>, path: string): KubernetesService {
  checkMetadata(item, path);
  const spec = item.spec;
  if (spec !== undefined && !isObject(spec)) throw bad(`${path}.spec`, 'spec must be an object');
  const ports = spec?.ports;
  if (ports !== undefined && !Array.isArray(ports)) throw bad(`${path}.spec.ports`, 'ports must be an array');
  (ports ?? []).forEach((p: unknown, i: number) => {
    if (!isObject(p) || typeof p.port !== 'number') throw bad(`${path}.spec.ports[${i}].port`, 'a Service port needs a numeric port');
    if (p.nodePort !== undefined && typeof p.nodePort !== 'number') throw bad(`${path}.spec.ports[${i}].nodePort`, 'nodePort must be a number');
  });
  for (const f of ['clusterIPs', 'externalIPs'] as const)
    if (spec?.[f] !== undefined && !(Array.isArray(spec[f]) && spec[f].every((x: unknown) => typeof x === 'string'))) throw bad(`${path}.spec.${f}`, `${f} must be an array of strings`);
  if (spec?.externalTrafficPolicy !== undefined && typeof spec.externalTrafficPolicy !== 'string') throw bad(`${path}.spec.externalTrafficPolicy`, 'externalTrafficPolicy must be a string');
  if (spec?.internalTrafficPolicy !== undefined && typeof spec.internalTrafficPolicy !== 'string') throw bad(`${path}.spec.internalTrafficPolicy`, 'internalTrafficPolicy must be a string');
  if (spec?.sessionAffinity !== undefined && typeof spec.sessionAffinity !== 'string') throw bad(`${path}.spec.sessionAffinity`, 'sessionAffinity must be a string');
  const config = spec?.sessionAffinityConfig;
  if (config !== undefined) {
    if (!isObject(config)) throw bad(`${path}.spec.sessionAffinityConfig`, 'sessionAffinityConfig must be an object');
    if (config.clientIP !== undefined && !isObject(config.clientIP)) throw bad(`${path}.spec.sessionAffinityConfig.clientIP`, 'clientIP must be an object');
    const t = isObject(config.clientIP) ? config.clientIP.timeoutSeconds : undefined;
    if (t !== undefined && typeof t !== 'number') throw bad(`${path}.spec.sessionAffinityConfig.clientIP.timeoutSeconds`, 'timeoutSeconds must be a number');
  }
  return item as unknown as KubernetesService;
}

function checkSlice(item: Record<string, unknown>, path: string): KubernetesEndpointSlice {
  checkMetadata(item, path);
  if (typeof item.addressType !== 'string') throw bad(`${path}.addressType`, 'an EndpointSlice needs addressType');
  if (item.ports != null && !Array.isArray(item.ports)) throw bad(`${path}.ports`, 'ports must be an array');
  if (item.endpoints != null && !Array.isArray(item.endpoints)) throw bad(`${path}.endpoints`, 'endpoints must be an array');
  (item.endpoints ?? []).forEach((e: unknown, i: number) => {
    if (!isObject(e) || !Array.isArray(e.addresses) || !e.addresses.every((a) => typeof a === 'string'))
      throw bad(`${path}.endpoints[${i}].addresses`, 'an endpoint needs an array of addresses');
    if (e.nodeName != null && typeof e.nodeName !== 'string') throw bad(`${path}.endpoints[${i}].nodeName`, 'nodeName must be a string');
    const zones = isObject(e.hints) ? e.hints.forZones : e.hints;
    if (zones != null && (!Array.isArray(zones) || !zones.every((z) => isObject(z) && typeof z.name === 'string')))
      throw bad(`${path}.endpoints[${i}].hints`, 'hints must be an object whose forZones is an array of { name }');
  });
  return item as unknown as KubernetesEndpointSlice;
}

/** Splits a `kubectl get services,endpointslices -A -o json` list (or an array of items) into Services and EndpointSlices. */
export function parseKubernetesList(list: unknown): { services: KubernetesService[]; slices: KubernetesEndpointSlice[] } {
  const items = Array.isArray(list) ? list : isObject(list) ? list.items : undefined;
  if (!Array.isArray(items)) throw bad('', 'expected a Kubernetes List (an object with items), as `kubectl get services,endpointslices -A -o json` prints');
  const services: KubernetesService[] = [];
  const slices: KubernetesEndpointSlice[] = [];
  items.forEach((item: unknown, i: number) => {
    const path = `items[${i}]`;
    if (!isObject(item)) throw bad(path, 'each item must be an object');
    if (item.kind === 'Service') services.push(checkService(item, path));
    else if (item.kind === 'EndpointSlice') slices.push(checkSlice(item, path));
    else if (item.kind === 'List' || item.kind === 'ServiceList' || item.kind === 'EndpointSliceList') {
      const inner = parseKubernetesList(item);
      services.push(...inner.services);
      slices.push(...inner.slices);
    } else throw bad(`${path}.kind`, `expected kind Service or EndpointSlice, got ${JSON.stringify(item.kind)}`);
  });
  return { services, slices };
}

const nameOf = (o: { metadata: { name: string; namespace?: string } }) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

/** One endpoint's usable state for a port. */
interface Candidate {
  readonly address: string;
  readonly port: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly local: boolean;
  /** Zones the endpoint is hinted for (empty: no hints). */
  readonly zones: readonly string[];
}

/** Backends of one Service port in one family, with kube-proxy's choice of who gets new connections. */
export function backendsFor(
  port: { readonly name?: string; readonly protocol?: string; readonly targetPort?: number | string },
  family: AddressFamily,
  slices: readonly KubernetesEndpointSlice[],
  publishNotReadyAddresses = false,
  nodeName?: string,
  zone?: string,
): BackendSpec[] {
  const protocol = port.protocol ?? 'TCP';
  const wantName = port.name ?? '';
  const addressType = family === 'ipv4' ? 'IPv4' : 'IPv6';
  const byKey = new Map<string, Candidate>();
  for (const slice of [...slices].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0))) {
    if (slice.addressType !== addressType) continue;
    const ports = slice.ports ?? [];
    let sp = ports.find((p) => (p.name ?? '') === wantName && (p.protocol ?? 'TCP') === protocol);
    if (!sp && typeof port.targetPort === 'number') sp = ports.find((p) => !p.name && p.port === port.targetPort && (p.protocol ?? 'TCP') === protocol);
    if (!sp || typeof sp.port !== 'number') continue;
    for (const ep of slice.endpoints ?? []) {
      const addr = canonicalAddress(ep.addresses[0]);
      if (!addr || addr.family !== family) continue;
      const c = ep.conditions ?? {};
      const cand: Candidate = {
        address: addr.address,
        port: sp.port,
        ready: publishNotReadyAddresses || (c.ready ?? true),
        serving: c.serving ?? true,
        terminating: c.terminating ?? false,
        local: nodeName !== undefined && ep.nodeName === nodeName,
        zones: (ep.hints?.forZones ?? []).map((z) => z.name),
      };
      const key = `${cand.address}|${cand.port}`;
      const old = byKey.get(key);
      // The same endpoint in two slices (mid-move between slices): the more usable copy wins.
      if (!old || (cand.ready && !old.ready) || (cand.serving && !old.serving)) byKey.set(key, cand);
    }
  }
  const all = [...byKey.values()];
  const ready = all.filter((c) => c.ready && (publishNotReadyAddresses || !c.terminating));
  // kube-proxy's topology rule: only when every ready endpoint has hints and one is for this zone (else all are used).
  const topology = zone !== undefined && ready.length > 0 && ready.every((c) => c.zones.length > 0) && ready.some((c) => c.zones.includes(zone));
  const picked = new Set(topology ? ready.filter((c) => c.zones.includes(zone!)) : ready.length > 0 ? ready : all.filter((c) => c.serving && c.terminating));
  const out: BackendSpec[] = [];
  for (const c of all) {
    const local = c.local ? { local: true } : {};
    if (picked.has(c)) out.push({ address: c.address, port: c.port, ...local });
    // Ready but hinted for other zones: kept for the flows already using it, never picked. Hints are for cluster traffic
    // only: a local one stays `serving`, so a Local-policy frontend with no other local endpoint still uses it.
    else if (topology && ready.includes(c)) out.push({ address: c.address, port: c.port, terminating: true, ...local, ...(c.local ? { serving: true } : {}) });
    // `serving` is what a Local-policy frontend's fallback reads, so only local draining endpoints carry it.
    else if (c.terminating) out.push({ address: c.address, port: c.port, terminating: true, ...local, ...(c.local && c.serving ? { serving: true } : {}) });
  }
  return out;
}

/**
 * The backends of a cluster IP under `internalTrafficPolicy: Local`: this
 * node's endpoints only (never a remote one). The local ones taking new
 * connections stay so; with none, the local serving terminating ones take them
 * (kube-proxy's fallback, computed over the local endpoints alone), and the
 * other local terminating ones drain. No local endpoint: no backend.
 */
export function internalLocalBackends(backends: readonly BackendSpec[]): BackendSpec[] {
  const local = backends.filter((b) => b.local);
  if (local.some((b) => !b.terminating)) return local;
  return local.map((b) => (b.serving ? { address: b.address, port: b.port, local: true } : b));
}

/** The frontends of one Service with their backends (pure); `skipped` says why a Service or port gave none. */
export function translateService(
  service: KubernetesService,
  slices: readonly KubernetesEndpointSlice[],
  options: KubernetesImportOptions = {},
): { services: { spec: ServiceSpec; origin: string }[]; skipped: SkippedService[] } {
  const name = nameOf(service);
  const spec = service.spec ?? {};
  const skip = (reason: string, port?: string) => ({ services: [], skipped: [{ service: port ? `${name}:${port}` : name, reason }] });
  if (service.metadata.labels?.[SERVICE_PROXY_NAME_LABEL] !== undefined)
    return skip(`labelled ${SERVICE_PROXY_NAME_LABEL}=${service.metadata.labels[SERVICE_PROXY_NAME_LABEL]} (another proxy serves it)`);
  if (spec.type === 'ExternalName') return skip('ExternalName service (DNS only)');
  const clusterIPs = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  if (clusterIPs.length === 0 || clusterIPs[0] === 'None') return skip(clusterIPs[0] === 'None' ? 'headless service (clusterIP None)' : 'no cluster IP allocated');
  const ips = clusterIPs.map((ip) => canonicalAddress(ip));
  const badIp = ips.findIndex((a) => a === undefined);
  if (badIp !== -1) return skip(`cluster IP ${JSON.stringify(clusterIPs[badIp])} is not an IP address`);
  const policy = spec.externalTrafficPolicy ?? 'Cluster';
  if (policy !== 'Cluster' && policy !== 'Local') return skip(`externalTrafficPolicy ${JSON.stringify(policy)} is not Cluster or Local`);
  // kube-proxy's rule: the policy means something only for services reachable from outside.
  const externalPolicy: ExternalTrafficPolicy =
    policy === 'Local' && (spec.type === 'NodePort' || spec.type === 'LoadBalancer' || (spec.externalIPs?.length ?? 0) > 0) ? 'Local' : 'Cluster';
  const policyOf = externalPolicy === 'Local' ? { externalTrafficPolicy: 'Local' as const } : {};
  const internal = spec.internalTrafficPolicy ?? 'Cluster';
  if (internal !== 'Cluster' && internal !== 'Local') return skip(`internalTrafficPolicy ${JSON.stringify(internal)} is not Cluster or Local`);
  // Which endpoints are local is only known with the node's name; without it every cluster IP would refuse connections.
  if (internal === 'Local' && options.nodeName === undefined) return skip('internalTrafficPolicy Local needs this node\'s name (--node-name, K8S_NODE_NAME)');
  const affinity = spec.sessionAffinity ?? 'None';
  if (affinity !== 'None' && affinity !== 'ClientIP') return skip(`sessionAffinity ${JSON.stringify(affinity)} is not None or ClientIP`);
  // The agent hands Services over unchecked (no parseKubernetesList): the timeout is checked here, not trusted.
  const timeout = affinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS) : 0;
  if (affinity === 'ClientIP' && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= MAX_AFFINITY_TIMEOUT_SECONDS))
    return skip(`sessionAffinityConfig.clientIP.timeoutSeconds ${JSON.stringify(timeout)} is not an integer in 1..${MAX_AFFINITY_TIMEOUT_SECONDS}`);
  const affinityOf = timeout > 0 ? { sessionAffinity: { timeoutSeconds: timeout } } : {};
  const mine = slices.filter((s) => (s.metadata.namespace ?? 'default') === (service.metadata.namespace ?? 'default') && s.metadata.labels?.[SERVICE_NAME_LABEL] === service.metadata.name);
  const external = options.externalIPs === false ? [] : [...(spec.externalIPs ?? []), ...(service.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []))];
  const out: { spec: ServiceSpec; origin: string }[] = [];
  const skipped: SkippedService[] = [];
  for (const port of spec.ports ?? []) {
    const portName = port.name || String(port.port);
    const protocol = port.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP') {
      skipped.push({ service: `${name}:${portName}`, reason: `protocol ${protocol} is not supported (TCP and UDP are)` });
      continue;
    }
    const origin = `${name}:${portName}`;
    const families = new Map<AddressFamily, BackendSpec[]>();
    const backendsOf = (family: AddressFamily) => {
      let b = families.get(family);
      if (!b) families.set(family, (b = backendsFor(port, family, mine, spec.publishNotReadyAddresses ?? false, options.nodeName, options.zone)));
      return b;
    };
    const unserved = new Set<AddressFamily>();
    const add = (address: string, p: number, family: AddressFamily, flags: { nodePort?: boolean; externalIP?: boolean; externalTrafficPolicy?: 'Local' }, clusterIp = false) => {
      if (options.families && !options.families.includes(family)) {
        if (!unserved.has(family)) skipped.push({ service: origin, reason: `${family === 'ipv4' ? 'IPv4' : 'IPv6'} frontends: this proxy serves ${options.families.length ? options.families.map((f) => (f === 'ipv4' ? 'IPv4' : 'IPv6')).join(' and ') : 'no family'} only` });
        unserved.add(family);
        return;
      }
      const backends = clusterIp && internal === 'Local' ? internalLocalBackends(backendsOf(family)) : backendsOf(family);
      out.push({ spec: { frontend: { address, port: p, protocol: protocol as Protocol }, backends, ...flags, ...affinityOf }, origin });
    };
    for (const ip of ips) add(ip!.address, port.port, ip!.family, {}, true);
    for (const text of external) {
      const a = canonicalAddress(text);
      if (!a) skipped.push({ service: origin, reason: `external IP ${JSON.stringify(text)} is not an IP address` });
      else add(a.address, port.port, a.family, { externalIP: true, ...policyOf });
    }
    if (options.nodePorts !== false && (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && port.nodePort)
      for (const family of new Set(ips.map((a) => a!.family))) add(family === 'ipv4' ? '0.0.0.0' : '::', port.nodePort, family, { nodePort: true, ...policyOf });
  }
  return { services: out, skipped };
}

/**
 * The desired services of a whole `kubectl get services,endpointslices -A -o json`
 * list. A frontend claimed by two Services (which a cluster never allocates)
 * goes to the first, the second is reported in `skipped`.
 */
export function servicesFromKubernetes(list: unknown, options: KubernetesImportOptions = {}): KubernetesImport {
  const { services, slices } = parseKubernetesList(list);
  const result: KubernetesImport = { services: [], origins: new Map(), skipped: [] };
  const sorted = [...services].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0));
  for (const svc of sorted) {
    const t = translateService(svc, slices, options);
    result.skipped.push(...t.skipped);
    for (const { spec, origin } of t.services) {
      const id = formatFrontend(spec.frontend);
      const owner = result.origins.get(id);
      if (owner !== undefined) {
        result.skipped.push({ service: origin, reason: `frontend ${id} is already taken by ${owner}` });
        continue;
      }
      result.origins.set(id, origin);
      result.services.push(spec);
    }
  }
  return result;
}
