/**
 * `/metrics` families of the NodePort datapath, read from its kernel counters
 * at scrape time: redirected packets by how the next hop was found, drops by
 * reason, SNAT port allocations by the number of tries it took, and how many
 * local endpoints are written.
 */
import { SNAT_HIST_BUCKETS, SNAT_HIST_FAILED, SNAT_HIST_RECLAIMED, SNAT_HIST_ROLLBACK } from '../tc/snat-schemas.js';
import type { Registry } from './metrics.js';
import type { NodePortCounters } from './nodeport-datapath.js';

const snake = (name: string) => name.toLowerCase();

function tryLabel(i: number): string {
  if (i === SNAT_HIST_FAILED) return 'failed';
  if (i === SNAT_HIST_ROLLBACK) return 'rolled_back';
  if (i === SNAT_HIST_RECLAIMED) return 'reclaimed';
  return String(i);
}

/** Registers the NodePort families; `read` returns the counters now (undefined when they cannot be read). */
export function registerNodePortMetrics(registry: Registry, read: () => NodePortCounters | undefined): void {
  registry.counter('tsbpf_agent_nodeport_packets_total', 'NodePort packets redirected or registered, by path (fib, neigh_cache, redirect_neigh, host_flow, host_clash).', () =>
    Object.entries(read()?.paths ?? {}).map(([path, n]) => [{ path: snake(path) }, Number(n)]),
  );
  registry.counter('tsbpf_agent_nodeport_drops_total', 'NodePort packets dropped, by reason.', () =>
    Object.entries(read()?.drops ?? {}).map(([reason, n]) => [{ reason: snake(reason) }, Number(n)]),
  );
  registry.counter(
    'tsbpf_agent_nodeport_snat_allocations_total',
    'NodePort SNAT port allocations by the try that found a free port (0 = first candidate), plus failed, rolled_back and reclaimed.',
    () => (read()?.snatTries ?? []).slice(0, SNAT_HIST_BUCKETS).map((n, i) => [{ tries: tryLabel(i) }, Number(n)]),
  );
  registry.counter('tsbpf_agent_nodeport_refresh_failures_total', 'Local-endpoint refreshes that failed (device gone, netlink errors); each is logged and retried.', () => {
    const c = read();
    return c ? [[{}, c.failedRefreshes]] : [];
  });
  registry.gauge('tsbpf_agent_nodeport_local_endpoints', 'Pods of this node written as NodePort local endpoints (veth and MAC known).', () => {
    const c = read();
    return c ? [[{}, c.localEndpoints]] : [];
  });
}
