/**
 * The per-node agent: sets up the datapath for this node (built for the
 * probed kernel, loaded with its maps reused from pins), starts the ops server,
 * watches Services and EndpointSlices, and once both are listed programs the
 * maps — one full sync, then only the services each change touched.
 *
 * Stopping (`stop()`, SIGTERM in the CLI) leaves the datapath pinned and
 * working: connections keep flowing while the agent is away, and the next
 * start resumes from the pinned maps. `uninstall()` removes it.
 */
import { readNodeZone } from './node-zone.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_SNAT_PORTS } from '../tc/nodeport-agent.js';
import { agentMetrics, type AgentMetrics } from './agent-metrics.js';
import { ClusterWatch, type ClusterWatchTuning } from './cluster-watch.js';
import type { Datapath, DatapathFactory, NodeSettings } from './datapath.js';
import type { ServiceProgrammer } from './programmer.js';
import { AgentError } from './errors.js';
import { loadKubeConfig, type KubeConnectionOptions } from './kubeconfig.js';
import type { Logger } from './log.js';
import { startOpsServer, type Health, type OpsServer } from './ops-server.js';
import { ServiceStore } from './store.js';
import { ServiceHealthServers } from './service-health.js';
import { SyncLoop, type SyncReport } from './sync-loop.js';

/** Default bpffs directory of the agent's pins. */
export const DEFAULT_PIN_DIR = '/sys/fs/bpf/tsbpf';
/** Default ops address: kube-proxy's healthz port, so the two cannot both run by accident. */
export const DEFAULT_LISTEN = '0.0.0.0:10256';
/** A change waiting longer than this makes `/healthz` fail (the sync is stuck). */
export const STUCK_AFTER_MS = 60_000;

/** Options of {@link startAgent}. */
export interface AgentOptions extends Partial<Omit<NodeSettings, 'nodeName'>> {
  /** How to reach the API server (ignored when `kubeConfig` is given). */
  readonly kube?: KubeConnectionOptions;
  /** A ready client configuration (tests, embedders). */
  readonly kubeConfig?: KubeConfig;
  /** Node name; default `$K8S_NODE_NAME`. */
  readonly nodeName?: string;
  /**
   * Read the node's zone from its Node object's `topology.kubernetes.io/zone`
   * label at start when no `zone` is given (default true; needs `get nodes`,
   * which deploy/'s RBAC grants). Unreadable: logged, no topology-aware routing.
   */
  readonly zoneFromNode?: boolean;
  /** Ops server address (`HOST:PORT`, port 0 picks one); `false` for none. Default {@link DEFAULT_LISTEN}. */
  readonly listen?: string | false;
  /** Sets up the datapath (default: the socket LB, see `socket-datapath.ts`). */
  readonly datapath: DatapathFactory;
  readonly log: Logger;
  /** Coalescing window for bursts of changes (default 1 ms). */
  readonly debounceMs?: number;
  /** Informer restart tuning. */
  readonly informers?: ClusterWatchTuning;
  /** Called after every completed sync (benchmarks, embedders). */
  readonly onSync?: (report: SyncReport) => void;
  /** Environment (`K8S_NODE_NAME`); default the process's. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Address the per-service health-check servers bind (`healthCheckNodePort` of
   * LoadBalancer Services with externalTrafficPolicy=Local, see
   * service-health.ts); default every address, as kube-proxy; `false` serves none.
   */
  readonly healthCheckAddress?: string | false;
}

/** A running agent. */
export interface Agent {
  readonly settings: NodeSettings;
  readonly datapath: Datapath;
  readonly store: ServiceStore;
  readonly loop: SyncLoop;
  readonly metrics: AgentMetrics;
  /** resourceVersion each informer has applied up to (tests wait on it). */
  resourceVersions(): Record<'services' | 'endpointslices', string>;
  /** The ops server's bound address, when it runs. */
  readonly opsAddress: string | undefined;
  /** Resolves when both informers have listed and the first full sync is written. */
  readonly programmed: Promise<void>;
  /** The per-service health-check servers (undefined with `healthCheckAddress: false`). */
  readonly healthChecks: ServiceHealthServers | undefined;
  /** What `/healthz` says now. */
  health(): Health;
  /** Stops watching and serving; the datapath stays pinned and keeps working. */
  stop(): Promise<void>;
  /** Stops and removes the datapath (programs detached, pins removed). */
  uninstall(): Promise<void>;
}

/** Node settings from the options, with defaults and checks. */
export function nodeSettings(options: Partial<NodeSettings> & { env?: NodeJS.ProcessEnv }): NodeSettings {
  const env = options.env ?? process.env;
  const range = options.nodePortRange ?? [30000, 32767];
  if (range !== false && !(Number.isInteger(range[0]) && Number.isInteger(range[1]) && range[0] >= 1 && range[0] <= range[1] && range[1] <= 65535))
    throw new AgentError('AGENT_BAD_OPTION', `NodePort range must be FIRST-LAST with 1 ≤ FIRST ≤ LAST ≤ 65535, got ${JSON.stringify(range)}`);
  if (options.nodePortDevice !== undefined && range === false)
    throw new AgentError('AGENT_BAD_OPTION', 'a NodePort device needs NodePort translation on (a NodePort range, not "none")');
  const snat = options.snatPortRange;
  if (snat !== undefined && !(Number.isInteger(snat[0]) && Number.isInteger(snat[1]) && snat[0] >= 1 && snat[0] <= snat[1] && snat[1] <= 65535))
    throw new AgentError('AGENT_BAD_OPTION', `SNAT port range must be FIRST-LAST with 1 ≤ FIRST ≤ LAST ≤ 65535, got ${JSON.stringify(snat)}`);
  // Only the tc NodePort datapath SNATs; the range matters (and must stay clear of NodePorts) with a device.
  const snatRange = options.nodePortDevice !== undefined ? (snat ?? [DEFAULT_SNAT_PORTS.min, DEFAULT_SNAT_PORTS.max]) : undefined;
  if (snatRange !== undefined && range !== false && snatRange[0] <= range[1] && range[0] <= snatRange[1])
    throw new AgentError('AGENT_BAD_OPTION', `SNAT port range ${snatRange[0]}-${snatRange[1]} overlaps the NodePort range ${range[0]}-${range[1]}`);
  if (options.nodePortAttachMode !== undefined && !['auto', 'tcx', 'netlink'].includes(options.nodePortAttachMode))
    throw new AgentError('AGENT_BAD_OPTION', `NodePort attach mode must be auto, tcx or netlink, got ${JSON.stringify(options.nodePortAttachMode)}`);
  const ipv4 = options.ipv4 ?? true;
  const ipv6 = options.ipv6 ?? true;
  if (!ipv4 && !ipv6) throw new AgentError('AGENT_BAD_OPTION', 'IPv4 and IPv6 are both off: nothing to proxy');
  return {
    nodeName: options.nodeName ?? (env.K8S_NODE_NAME || undefined),
    ...(options.zone !== undefined ? { zone: options.zone } : {}),
    pinDir: options.pinDir ?? DEFAULT_PIN_DIR,
    ...(options.cgroup !== undefined ? { cgroup: options.cgroup } : {}),
    ...(options.nodeAddresses !== undefined ? { nodeAddresses: options.nodeAddresses } : {}),
    ...(options.tcDevices?.length ? { tcDevices: options.tcDevices } : {}),
    ...(options.tcNetns !== undefined ? { tcNetns: options.tcNetns } : {}),
    ...(options.tcRescanMs !== undefined ? { tcRescanMs: options.tcRescanMs } : {}),
    nodePortRange: range,
    ipv4,
    ipv6,
    hostNamespaceOnly: options.hostNamespaceOnly ?? false,
    ...(options.nodePortDevice !== undefined ? { nodePortDevice: options.nodePortDevice } : {}),
    ...(options.nodePortNetns !== undefined ? { nodePortNetns: options.nodePortNetns } : {}),
    ...(options.nodePortAddresses?.length ? { nodePortAddresses: options.nodePortAddresses } : {}),
    ...(options.snatPortRange !== undefined ? { snatPortRange: options.snatPortRange } : {}),
    ...(options.nodePortRefreshMs !== undefined ? { nodePortRefreshMs: options.nodePortRefreshMs } : {}),
    ...(options.nodePortAttachMode !== undefined ? { nodePortAttachMode: options.nodePortAttachMode } : {}),
    ...(options.target !== undefined ? { target: options.target } : {}),
  };
}

/**
 * Starts the agent; see the module comment. Resolves once the datapath is set
 * up and the informers started (their lists are requested first, so the API
 * server prepares them while the datapath is built).
 */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const { log } = options;
  let settings = nodeSettings({ ...options, env: options.env });
  const kube = options.kubeConfig ? { config: options.kubeConfig, source: 'given', server: options.kubeConfig.getCurrentCluster()?.server } : loadKubeConfig({ ...options.kube, env: options.env });
  if (settings.nodeName === undefined) log.warn('no node name (set K8S_NODE_NAME from spec.nodeName): endpoints are not marked local', {});

  const t0 = performance.now();
  const store = new ServiceStore();
  let datapath: Datapath | undefined;
  // The sync loop starts only after the datapath is up (begin() below), so the
  // forwarding programmer is never used before `datapath` is set.
  const programmer: ServiceProgrammer = {
    apply: (changes, full) => datapath!.programmer.apply(changes, full),
    counts: () => datapath?.programmer.counts() ?? { frontends: 0, backends: 0 },
    fill: () => datapath?.programmer.fill() ?? [],
  };
  let watch: ClusterWatch | undefined;
  let metrics!: AgentMetrics;
  const healthChecks = options.healthCheckAddress === false ? undefined : new ServiceHealthServers(store, settings.nodeName, options.healthCheckAddress, log);
  // Services changed since the last sync whose health-check server may need updating; refreshes run one at a time.
  const healthDirty = new Set<string>();
  let healthQueue = Promise.resolve();
  const loop = new SyncLoop({
    store,
    programmer,
    debounceMs: options.debounceMs,
    onSync: (r) => {
      if (healthChecks) {
        const keys = r.full ? undefined : [...healthDirty];
        healthDirty.clear();
        healthQueue = healthQueue.then(() => healthChecks.refresh(keys)).catch((err) => log.warn('health check refresh failed', { error: err }));
      }
      metrics.synced(r);
      options.onSync?.(r);
      const fields = { services: r.services, upserted: r.result.upserted, deleted: r.result.deleted, durationMs: Number(r.durationMs.toFixed(3)) };
      if (r.full) log.info('full sync', { ...fields, sinceStartMs: Math.round(performance.now() - t0) });
      else log.debug('sync', fields);
    },
    onError: (err, services) => {
      metrics.syncFailed();
      log.error('sync failed; retrying', { services, error: err });
    },
  });
  metrics = agentMetrics({ store, loop, watch: () => watch, programmer: () => (datapath ? programmer : undefined) });

  let stopped = false;
  const health = (): Health => {
    if (stopped) return { ok: false, reason: 'stopping' };
    if (!watch?.synced) return { ok: false, reason: 'informers have not listed Services and EndpointSlices yet' };
    if (!loop.programmed) return { ok: false, reason: 'first sync not written yet' };
    const pending = loop.pendingForMs();
    if (pending > STUCK_AFTER_MS) return { ok: false, reason: `changes waiting ${Math.round(pending / 1000)} s to be programmed` };
    return { ok: true };
  };

  const changeCounters: Record<string, { inc(): void }> = {};
  watch = new ClusterWatch(
    kube.config,
    store,
    {
      changed: (change, resource, verb) => {
        (changeCounters[`${resource}/${verb}`] ??= metrics.events.series({ resource, verb })).inc();
        if (healthChecks) for (const k of change.keys) healthDirty.add(k);
        loop.changed(change);
      },
      listed: (resource, count) => log.info('listed', { resource, count }),
      failed: (resource, err, attempt, delayMs) => log.warn('informer failed; restarting', { resource, attempt, delayMs, error: err }),
    },
    options.informers,
  );
  // Lists are asked for first: the API server prepares them while this node
  // builds and loads its datapath; nothing is programmed before both are done.
  log.info('watching', { server: kube.server, source: kube.source, node: settings.nodeName });
  const listed = watch.start();
  listed.catch(() => {});
  // The zone is asked for alongside the lists; the datapath is built with it.
  const nodeName = settings.nodeName;
  const zone = settings.zone === undefined && nodeName !== undefined && options.zoneFromNode !== false ? readNodeZone(kube.config, nodeName, log) : Promise.resolve(settings.zone);
  // Let the list requests go out (connect, write) before the datapath build blocks the thread.
  await new Promise((r) => setTimeout(r, 5));

  let ops: OpsServer | undefined;
  try {
    const z = await zone;
    if (z !== undefined) settings = { ...settings, zone: z };
    datapath = await options.datapath(settings, log);
    datapath.registerMetrics?.(metrics.registry);
    log.info('datapath ready', { ...datapath.description, setupMs: Math.round(performance.now() - t0) });
    const listen = options.listen ?? DEFAULT_LISTEN;
    if (listen !== false) ops = await startOpsServer(listen, health, () => metrics.registry.render());
  } catch (e) {
    loop.close();
    await watch.stop();
    datapath?.close();
    throw e;
  }
  if (ops) log.info('ops server listening', { address: ops.address, paths: ['/healthz', '/metrics'] });
  const dp = datapath;
  const programmed = listed.then(async () => {
    loop.begin();
    await loop.idle();
  });
  programmed.catch(() => {});

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    loop.close();
    await watch?.stop();
    await ops?.close();
    await healthQueue;
    await healthChecks?.close();
  };
  return {
    settings,
    datapath: dp,
    store,
    loop,
    metrics,
    healthChecks,
    opsAddress: ops?.address,
    resourceVersions: () => watch!.resourceVersions(),
    programmed,
    health,
    async stop() {
      await stop();
      dp.close();
      log.info('stopped; datapath left in place (pinned)', { pinDir: settings.pinDir });
    },
    async uninstall() {
      await stop();
      dp.uninstall();
      log.info('datapath removed', { pinDir: settings.pinDir });
    },
  };
}
