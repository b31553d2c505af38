/**
 * The two informers the agent runs (Services, EndpointSlices in all
 * namespaces), feeding the service store. Each store change is handed on with
 * the services it touched; `start()` resolves once both have listed.
 */
import type { KubeConfig, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { ResilientInformer, type InformerStats } from './informer.js';
import { listRaw } from './raw-list.js';
import type { ServiceStore, StoreChange } from './store.js';

/** Which resource an informer watches. */
export type WatchedResource = 'services' | 'endpointslices';

/** Callbacks of {@link ClusterWatch}. */
export interface ClusterWatchHandlers {
  /** After the store applied a change. */
  changed(change: StoreChange, resource: WatchedResource, verb: 'upsert' | 'delete'): void;
  /** A full list of `resource` was applied (`count` objects). */
  listed?(resource: WatchedResource, count: number): void;
  /** An informer failed and restarts after `delayMs`. */
  failed?(resource: WatchedResource, err: unknown, attempt: number, delayMs: number): void;
}

/** Restart/timeout tuning passed to both informers. */
export interface ClusterWatchTuning {
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly watchTimeoutSeconds?: number;
  readonly idleTimeoutMs?: number;
}

/** Annotation kubectl keeps a whole copy of the applied object in. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Drops what the agent never reads but would hold for every object:
 * `managedFields` and kubectl's last-applied copy (together often larger than
 * the rest of the object). In place: the informer's cache holds the same object.
 */
export function trimObject<T extends { metadata?: { managedFields?: unknown; annotations?: Record<string, string> } }>(obj: T): T {
  const md = obj.metadata;
  if (md) {
    delete md.managedFields;
    if (md.annotations && LAST_APPLIED in md.annotations) delete md.annotations[LAST_APPLIED];
  }
  return obj;
}

/** Services + EndpointSlices informers over one store. */
export class ClusterWatch {
  private readonly services: ResilientInformer<V1Service>;
  private readonly slices: ResilientInformer<V1EndpointSlice>;

  constructor(config: KubeConfig, store: ServiceStore, handlers: ClusterWatchHandlers, tuning: ClusterWatchTuning = {}) {
    this.services = new ResilientInformer<V1Service>({
      ...tuning,
      config,
      path: '/api/v1/services',
      list: () => listRaw<V1Service>(config, '/api/v1/services'),
      handlers: {
        upsert: (o) => handlers.changed(store.upsertService(trimObject(o)), 'services', 'upsert'),
        delete: (o) => handlers.changed(store.deleteService(o), 'services', 'delete'),
        listed: (n) => handlers.listed?.('services', n),
        failed: (e, a, d) => handlers.failed?.('services', e, a, d),
      },
    });
    this.slices = new ResilientInformer<V1EndpointSlice>({
      ...tuning,
      config,
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: () => listRaw<V1EndpointSlice>(config, '/apis/discovery.k8s.io/v1/endpointslices'),
      handlers: {
        upsert: (o) => handlers.changed(store.upsertSlice(trimObject(o)), 'endpointslices', 'upsert'),
        delete: (o) => handlers.changed(store.deleteSlice(o), 'endpointslices', 'delete'),
        listed: (n) => handlers.listed?.('endpointslices', n),
        failed: (e, a, d) => handlers.failed?.('endpointslices', e, a, d),
      },
    });
  }

  /** Starts both informers; resolves when both have listed once. */
  async start(): Promise<void> {
    await Promise.all([this.services.start(), this.slices.start()]);
  }

  /** Stops both informers. */
  async stop(): Promise<void> {
    await Promise.all([this.services.stop(), this.slices.stop()]);
  }

  /** Whether both have listed at least once. */
  get synced(): boolean {
    return this.services.synced && this.slices.synced;
  }

  /** resourceVersion each informer has applied up to. */
  resourceVersions(): Record<WatchedResource, string> {
    return { services: this.services.resourceVersion, endpointslices: this.slices.resourceVersion };
  }

  /** Counters per informer. */
  stats(): Record<WatchedResource, InformerStats> {
    return { services: this.services.stats, endpointslices: this.slices.stats };
  }
}
