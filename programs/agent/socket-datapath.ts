/**
 * The agent's default datapath: the socket load balancer, built in-process
 * for this node's kernel and settings and deployed with `lbUp` (maps pinned
 * by name and reused, links pinned and swapped atomically when already
 * attached, so a restarted agent never leaves a gap), its service tables
 * written through a `ServiceManager` restored from the pins. With
 * `tcDevices`, the tc ClusterIP datapath is deployed next to it on those
 * devices, reading the same service tables (tc-datapath.ts). With
 * `nodePortDevice`, the tc NodePort datapath is deployed on the node's native
 * device, also on the same tables (nodeport-datapath.ts); its local endpoints
 * are rediscovered after every sync that wrote something and periodically.
 */
import { lbDown, lbUp } from '../lb/deploy.js';
import { ServiceManager } from '../lb/manager.js';
import type { Datapath, DatapathFactory, NodeSettings } from './datapath.js';
import type { Logger } from './log.js';
import { DEFAULT_PIN_DIR } from './agent.js';
import { ManagerProgrammer } from './manager-programmer.js';
import { removeTcClusterIp, TcDatapath, type TcDeployed } from './tc-datapath.js';
import { NodePortDatapath, removeNodePort, type NodePortRefresh } from './nodeport-datapath.js';
import { registerNodePortMetrics } from './nodeport-metrics.js';
import type { ServiceProgrammer } from './programmer.js';
import type { NpAttached } from './nodeport-links.js';

/** The socket-LB datapath factory (see the module comment). */
export const socketLbDatapath: DatapathFactory = (settings: NodeSettings, log: Logger): Datapath => {
  const t0 = performance.now();
  const up = lbUp({
    pinDir: settings.pinDir,
    ...(settings.cgroup !== undefined ? { cgroup: settings.cgroup } : {}),
    ...(settings.nodeAddresses !== undefined ? { nodeAddresses: settings.nodeAddresses } : {}),
    target: settings.target ?? 'host',
    socketLb: { ipv4: settings.ipv4, ipv6: settings.ipv6, nodePortRange: settings.nodePortRange, hostNamespaceOnly: settings.hostNamespaceOnly },
  });
  let tc: { datapath: TcDatapath; devices: TcDeployed[] } | undefined;
  let rescan: NodeJS.Timeout | undefined;
  if (settings.tcDevices?.length) {
    try {
      tc = TcDatapath.deploy({ pinDir: up.pinDir, devices: settings.tcDevices, target: settings.target ?? 'host', ...(settings.tcNetns !== undefined ? { netns: settings.tcNetns } : {}) });
    } catch (e) {
      log.error('tc datapath not deployed', { devices: settings.tcDevices, error: e });
      throw e;
    }
    const tcDatapath = tc.datapath;
    rescan = setInterval(() => {
      try {
        const changed = tcDatapath.rescan();
        if (changed.length) log.info('tc devices changed', { devices: changed.map((d) => `${d.device}:${d.action}:${d.mode}`) });
      } catch (e) {
        log.warn('tc device rescan failed', { error: e });
      }
    }, settings.tcRescanMs ?? 5000);
    rescan.unref();
  }
  let np: ReturnType<typeof NodePortDatapath.deploy> | undefined;
  let npTimer: NodeJS.Timeout | undefined;
  if (settings.nodePortDevice !== undefined) {
    try {
      np = NodePortDatapath.deploy({
        pinDir: up.pinDir, device: settings.nodePortDevice, target: settings.target ?? 'host', ipv4: settings.ipv4, ipv6: settings.ipv6,
        ...(settings.nodePortNetns !== undefined ? { netns: settings.nodePortNetns } : {}),
        ...(settings.nodePortAddresses ? { addresses: settings.nodePortAddresses } : {}),
        ...(settings.snatPortRange ? { snatPorts: settings.snatPortRange } : {}),
        ...(settings.nodePortAttachMode ? { attachMode: settings.nodePortAttachMode } : {}),
      });
    } catch (e) {
      tc?.datapath.close();
      clearInterval(rescan);
      log.error('NodePort datapath not deployed', { device: settings.nodePortDevice, error: e });
      throw e;
    }
    if (np.node.unconfigured.length) log.warn('NodePort device has no address for some families; they are not translated', { device: settings.nodePortDevice, families: np.node.unconfigured });
    const npDatapath = np.datapath;
    npTimer = setInterval(() => refreshNodePort(npDatapath, log), settings.nodePortRefreshMs ?? 5000);
    npTimer.unref();
  }
  const deployMs = performance.now() - t0;
  const manager = ServiceManager.fromPins(up.pinDir);
  // The node name marks this node's endpoints local (BACKEND_FLAG_LOCAL), which externalTrafficPolicy=Local needs.
  const managerProgrammer = new ManagerProgrammer(manager, log, {
    nodePorts: settings.nodePortRange !== false,
    ...(settings.nodeName !== undefined ? { nodeName: settings.nodeName } : {}),
    ...(settings.zone !== undefined ? { zone: settings.zone } : {}),
  });
  const npDatapath = np?.datapath;
  // Backends just written may be pods on this node: find them soon, off the sync's path (coalesced, so a burst of syncs costs one refresh).
  let refreshSoon: NodeJS.Timeout | undefined;
  const programmer: ServiceProgrammer = npDatapath
    ? {
        apply(changes, full) {
          const r = managerProgrammer.apply(changes, full);
          if ((full || r.upserted || r.deleted) && refreshSoon === undefined) {
            refreshSoon = setTimeout(() => {
              refreshSoon = undefined;
              if (!npDatapath.closed) refreshNodePort(npDatapath, log);
            }, AFTER_SYNC_REFRESH_MS);
            refreshSoon.unref();
          }
          return r;
        },
        counts: () => managerProgrammer.counts(),
        fill: () => managerProgrammer.fill(),
      }
    : managerProgrammer;
  const stopNodePort = () => {
    clearInterval(npTimer);
    clearTimeout(refreshSoon);
    np?.datapath.close();
  };
  return {
    programmer,
    ...(npDatapath ? { registerMetrics: (registry) => registerNodePortMetrics(registry, () => safeCounters(npDatapath)) } : {}),
    description: {
      datapath: 'socket-lb',
      kernel: up.kernel,
      cgroup: up.cgroup,
      pinDir: up.pinDir,
      programs: up.programs.map((p) => `${p.hook}:${p.action}`),
      mapsReused: up.maps.filter((m) => m.origin === 'reused').map((m) => m.name),
      omitted: up.omitted.map((o) => `${o.hook}: ${o.reason}`),
      ...(up.limitations.length ? { limitations: up.limitations.map((l) => `${l.feature}: ${l.reason}`) } : {}),
      ...(tc ? { tc: tc.devices.map((d) => `${d.device}:${d.action}:${d.mode}`) } : {}),
      ...(np
        ? {
            nodePort: np.links.map(linkText),
            nodePortAddresses: np.node.configs.map((c) => c.nodeIp),
            localEndpoints: np.datapath.localEndpoints().map((e) => `${e.address}@${e.ifname}`),
          }
        : {}),
      restoredServices: manager.restored.services,
      restoredBackends: manager.restored.backends,
      deployMs: Math.round(deployMs),
    },
    close: () => {
      clearInterval(rescan);
      tc?.datapath.close();
      stopNodePort();
      manager.close();
    },
    uninstall: () => {
      clearInterval(rescan);
      tc?.datapath.close();
      stopNodePort();
      manager.close();
      removeTcClusterIp(up.pinDir);
      removeNodePort(up.pinDir, settings.nodePortNetns);
      lbDown({ pinDir: up.pinDir, purge: true });
    },
  };
};

/**
 * Removes a socket-LB datapath left pinned at `pinDir` (programs detached,
 * maps unpinned) without starting an agent, with the tc ClusterIP and NodePort
 * attachments (netlink NodePort filters are looked for in `nodePortNetns`).
 */
export function uninstallSocketLb(
  pinDir = DEFAULT_PIN_DIR,
  nodePortNetns?: string,
): { detached: readonly string[]; removedMaps: readonly string[]; tcDevices: readonly string[]; nodePort: readonly string[] } {
  const tcDevices = removeTcClusterIp(pinDir);
  const nodePort = removeNodePort(pinDir, nodePortNetns);
  return { ...lbDown({ pinDir, purge: true }), tcDevices, nodePort };
}

const linkText = (l: NpAttached) => `${l.device}:${l.program}:${l.action}:${l.mode}`;

/** Delay of the local-endpoint refresh after a sync that wrote something. */
const AFTER_SYNC_REFRESH_MS = 10;
/** Delay of the extra refresh when a local pod's MAC is being resolved (an ARP/NDP answer takes milliseconds; the periodic refresh seconds). */
const RESOLVING_RETRY_MS = 200;
const retrying = new WeakSet<NodePortDatapath>();

function refreshNodePort(np: NodePortDatapath, log: Logger): NodePortRefresh | undefined {
  try {
    const r = np.refresh();
    if (r.added.length || r.removed.length || r.links.length) log.info('NodePort local endpoints changed', { added: r.added, removed: r.removed, links: r.links.map(linkText) });
    if (r.resolving.length) {
      log.debug('NodePort local endpoints waiting for a MAC', { addresses: r.resolving });
      if (!retrying.has(np)) {
        retrying.add(np);
        setTimeout(() => {
          retrying.delete(np);
          if (!np.closed) refreshNodePort(np, log);
        }, RESOLVING_RETRY_MS).unref();
      }
    }
    return r;
  } catch (e) {
    np.failedRefreshes++;
    log.warn('NodePort local endpoint refresh failed', { error: e });
    return undefined;
  }
}

function safeCounters(np: NodePortDatapath) {
  try {
    return np.counters();
  } catch {
    return undefined;
  }
}
