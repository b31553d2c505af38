/**
 * Per-service health checks, as kube-proxy serves them: a LoadBalancer Service
 * with `externalTrafficPolicy: Local` gets a `healthCheckNodePort` from the API
 * server, and the cloud load balancer probes it on every node to send traffic
 * only to nodes that have a ready endpoint of the service — the others would
 * drop it (Local never forwards to another node). Every path answers
 * `{"service":{"namespace","name"},"localEndpoints":N,"serviceProxyHealthy":true}`
 * with 200 when N > 0, else 503, and the header `X-Load-Balancing-Endpoint-Weight: N`.
 *
 * One HTTP server per health-check port, opened when a qualifying Service
 * appears, closed when it goes or stops qualifying. A port that cannot be bound
 * (taken) is logged and tried again at the next refresh.
 */
import { createServer, type Server } from 'node:http';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Logger } from './log.js';
import type { ServiceStore } from './store.js';

/** The health-check port a service asks this node to serve, if any. */
export function healthCheckPort(service: V1Service): number | undefined {
  const spec = service.spec;
  if (spec?.type !== 'LoadBalancer' || spec.externalTrafficPolicy !== 'Local') return undefined;
  const port = spec.healthCheckNodePort;
  return typeof port === 'number' && Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
}

/** Ready endpoints of the slices on node `nodeName` (distinct addresses, terminating ones not counted). */
export function localReadyEndpoints(slices: readonly V1EndpointSlice[], nodeName: string | undefined): number {
  if (nodeName === undefined) return 0;
  const seen = new Set<string>();
  for (const slice of slices)
    for (const ep of slice.endpoints ?? []) {
      const c = ep.conditions ?? {};
      if (ep.nodeName !== nodeName || (c.ready ?? true) === false || c.terminating === true) continue;
      const address = ep.addresses[0];
      if (address !== undefined) seen.add(`${slice.addressType ?? ''}|${address}`);
    }
  return seen.size;
}

/** What one health-check port answers. */
interface Checked {
  readonly namespace: string;
  readonly name: string;
  localEndpoints: number;
}

interface Listener {
  readonly key: string;
  readonly server: Server;
  readonly checked: Checked;
}

/** The health-check servers of this node; see the module comment. */
export class ServiceHealthServers {
  private readonly byPort = new Map<number, Listener>();
  private readonly portOf = new Map<string, number>();

  constructor(
    private readonly store: ServiceStore,
    private readonly nodeName: string | undefined,
    /** Address the servers bind (default every address, as kube-proxy). */
    private readonly host: string | undefined,
    private readonly log: Logger,
  ) {}

  /** Ports served now, with what each answers (tests, metrics). */
  served(): { port: number; service: string; localEndpoints: number }[] {
    return [...this.byPort].map(([port, l]) => ({ port, service: l.key, localEndpoints: l.checked.localEndpoints })).sort((a, b) => a.port - b.port);
  }

  /** Brings the servers of `keys` (every service when undefined) in line with the store. */
  async refresh(keys?: Iterable<string>): Promise<void> {
    const todo = keys ? new Set(keys) : new Set([...this.portOf.keys(), ...this.store.allStates().map((s) => s.key)]);
    for (const key of todo) {
      const state = this.store.state(key);
      const port = state ? healthCheckPort(state.service) : undefined;
      const had = this.portOf.get(key);
      if (had !== undefined && had !== port) await this.closePort(had);
      if (port === undefined || !state) continue;
      const count = localReadyEndpoints(state.slices, this.nodeName);
      const current = this.byPort.get(port);
      if (current && current.key === key) {
        current.checked.localEndpoints = count;
        continue;
      }
      if (current) {
        this.log.warn('health check port already served for another service', { port, service: key, servedFor: current.key });
        continue;
      }
      const [namespace = '', name = ''] = key.split('/');
      await this.open(key, port, { namespace, name, localEndpoints: count });
    }
  }

  /** Closes every server. */
  async close(): Promise<void> {
    for (const port of [...this.byPort.keys()]) await this.closePort(port);
  }

  private async closePort(port: number): Promise<void> {
    const l = this.byPort.get(port);
    if (!l) return;
    this.byPort.delete(port);
    this.portOf.delete(l.key);
    await new Promise<void>((resolve) => {
      l.server.closeAllConnections();
      l.server.close(() => resolve());
    });
  }

  private async open(key: string, port: number, checked: Checked): Promise<void> {
    const server = createServer((req, res) => {
      const n = checked.localEndpoints;
      const body = JSON.stringify({ service: { namespace: checked.namespace, name: checked.name }, localEndpoints: n, serviceProxyHealthy: true });
      res
        .writeHead(n > 0 ? 200 : 503, {
          'content-type': 'application/json',
          'x-content-type-options': 'nosniff',
          'x-load-balancing-endpoint-weight': String(n),
        })
        .end(req.method === 'HEAD' ? undefined : body);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.host, () => resolve());
      });
    } catch (err) {
      this.log.warn('cannot serve the health check port; trying again at the next sync', { port, service: key, error: err });
      return;
    }
    this.byPort.set(port, { key, server, checked });
    this.portOf.set(key, port);
    this.log.info('serving health check', { port, service: key, localEndpoints: checked.localEndpoints });
  }
}
