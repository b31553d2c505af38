/**
 * The metrics `/metrics` exposes, named `tsbpf_agent_*`: what is known and
 * programmed, how full the maps are, how long syncs take and how long a
 * change takes from its trigger (the EndpointSlice controller's
 * `last-change-trigger-time`) to programmed in this node's maps — the
 * network-programming latency kube-proxy reports as
 * `network_programming_duration_seconds`.
 */
import type { ClusterWatch, WatchedResource } from './cluster-watch.js';
import { exponentialBuckets, Registry, type Counter, type Histogram } from './metrics.js';
import type { ServiceProgrammer } from './programmer.js';
import type { ServiceStore } from './store.js';
import type { SyncLoop, SyncReport } from './sync-loop.js';

/** The agent's metric families and how to feed them. */
export interface AgentMetrics {
  readonly registry: Registry;
  readonly syncDuration: Histogram;
  readonly programmingLatency: Histogram;
  readonly eventLatency: Histogram;
  readonly events: Counter;
  /** Records one completed sync. */
  synced(report: SyncReport): void;
  /** Records a failed sync. */
  syncFailed(): void;
}

/** What the collected gauges read from. */
export interface MetricSources {
  readonly store: ServiceStore;
  readonly loop: SyncLoop;
  readonly watch: () => ClusterWatch | undefined;
  readonly programmer: () => ServiceProgrammer | undefined;
}

/** Creates the registry with every agent metric. */
export function agentMetrics(src: MetricSources): AgentMetrics {
  const registry = new Registry();
  let lastSync = 0;
  registry.gauge('tsbpf_agent_services', 'Services known from the API server, by whether this node proxies them.', () => {
    const c = src.store.counts();
    return [[{ state: 'proxied' }, c.proxied], [{ state: 'skipped' }, c.services - c.proxied]];
  });
  registry.gauge('tsbpf_agent_endpoint_slices', 'EndpointSlices known from the API server.', () => [[{}, src.store.counts().slices]]);
  registry.gauge('tsbpf_agent_frontends', 'Service frontends (address, port, protocol) programmed in the datapath.', () => {
    const p = src.programmer();
    return p ? [[{}, p.counts().frontends]] : [];
  });
  registry.gauge('tsbpf_agent_backends', 'Backends programmed in the datapath.', () => {
    const p = src.programmer();
    return p ? [[{}, p.counts().backends]] : [];
  });
  registry.gauge('tsbpf_agent_map_entries', 'Entries in each datapath map.', () => (src.programmer()?.fill() ?? []).map((f) => [{ map: f.map }, f.entries]));
  registry.gauge('tsbpf_agent_map_capacity', 'Capacity (max_entries) of each datapath map.', () => (src.programmer()?.fill() ?? []).map((f) => [{ map: f.map }, f.capacity]));
  registry.gauge('tsbpf_agent_map_fill_ratio', 'Fill level of each datapath map (entries / capacity).', () =>
    (src.programmer()?.fill() ?? []).map((f) => [{ map: f.map }, f.capacity > 0 ? f.entries / f.capacity : 0]),
  );
  registry.gauge('tsbpf_agent_pending_changes_age_seconds', 'Age of the oldest change not yet programmed (0 when none).', () => [[{}, src.loop.pendingForMs() / 1000]]);
  registry.gauge('tsbpf_agent_last_sync_timestamp_seconds', 'Wall-clock time of the last completed sync.', () => (lastSync ? [[{}, lastSync / 1000]] : []));
  registry.gauge('tsbpf_agent_informers_synced', 'Whether both informers have completed a list (1) or not (0).', () => [[{}, src.watch()?.synced ? 1 : 0]]);
  const informerCounter = (pick: (s: { lists: number; restarts: number; events: number }) => number) => (): [Record<string, string>, number][] => {
    const stats = src.watch()?.stats();
    return stats ? (Object.entries(stats) as [WatchedResource, { lists: number; restarts: number; events: number }][]).map(([r, s]) => [{ resource: r }, pick(s)]) : [];
  };
  registry.counter('tsbpf_agent_informer_lists_total', 'Complete lists per informer (the first, then re-lists after 410 Gone).', informerCounter((s) => s.lists));
  registry.counter('tsbpf_agent_informer_restarts_total', 'Informer restarts after errors.', informerCounter((s) => s.restarts));
  registry.counter('tsbpf_agent_watch_events_total', 'Watch events received (bookmarks included).', informerCounter((s) => s.events));
  const events = registry.counter('tsbpf_agent_object_changes_total', 'Object changes applied to the store, by resource and verb.');
  const syncs = registry.counter('tsbpf_agent_syncs_total', 'Syncs of the datapath, by kind and result.');
  const syncedServices = registry.counter('tsbpf_agent_synced_services_total', 'Services programmed, summed over syncs.');
  const syncDuration = registry.histogram('tsbpf_agent_sync_duration_seconds', 'Time spent writing one sync into the maps.', exponentialBuckets(0.0001, 2, 16));
  const programmingLatency = registry.histogram(
    'tsbpf_agent_network_programming_duration_seconds',
    'From an EndpointSlice change trigger (endpoints.kubernetes.io/last-change-trigger-time) to programmed in this node.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
  );
  const eventLatency = registry.histogram('tsbpf_agent_event_to_programmed_seconds', 'From a watch event received to programmed in this node.', exponentialBuckets(0.0001, 2, 16));
  return {
    registry,
    syncDuration,
    programmingLatency,
    eventLatency,
    events,
    synced(report) {
      lastSync = Date.now();
      syncs.inc({ kind: report.full ? 'full' : 'incremental', result: 'ok' });
      syncedServices.inc({}, report.services);
      syncDuration.observe(report.durationMs / 1000);
      for (const ms of report.triggerLatenciesMs) programmingLatency.observe(ms / 1000);
      for (const ms of report.eventLatenciesMs) eventLatency.observe(ms / 1000);
    },
    syncFailed() {
      syncs.inc({ kind: 'any', result: 'error' });
    },
  };
}
