/**
 * The agent's default datapath: the socket load balancer, built in-process
 * for this node's kernel and settings and deployed with `lbUp` (maps pinned
 * by name and reused, links pinned and swapped atomically when already
 * attached, so a restarted agent never leaves a gap), its service tables
 * written through a `ServiceManager` restored from the pins. With
 * `tcDevices`, the tc ClusterIP datapath is deployed next to it on those
 * devices, reading the same service tables (tc-datapath.ts).
 */
import { lbDown, lbUp } from '../lb/deploy.js';
import { ServiceManager } from '../lb/manager.js';
import type { Datapath, DatapathFactory, NodeSettings } from './datapath.js';
import type { Logger } from './log.js';
import { DEFAULT_PIN_DIR } from './agent.js';
import { ManagerProgrammer } from './manager-programmer.js';
import { removeTcClusterIp, TcDatapath, type TcDeployed } from './tc-datapath.js';

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
  const deployMs = performance.now() - t0;
  const manager = ServiceManager.fromPins(up.pinDir);
  // The node name marks this node's endpoints local (BACKEND_FLAG_LOCAL), which externalTrafficPolicy=Local needs.
  const programmer = new ManagerProgrammer(manager, log, {
    nodePorts: settings.nodePortRange !== false,
    ...(settings.nodeName !== undefined ? { nodeName: settings.nodeName } : {}),
  });
  return {
    programmer,
    description: {
      datapath: 'socket-lb',
      kernel: up.kernel,
      cgroup: up.cgroup,
      pinDir: up.pinDir,
      programs: up.programs.map((p) => `${p.hook}:${p.action}`),
      mapsReused: up.maps.filter((m) => m.origin === 'reused').map((m) => m.name),
      omitted: up.omitted.map((o) => `${o.hook}: ${o.reason}`),
      ...(tc ? { tc: tc.devices.map((d) => `${d.device}:${d.action}:${d.mode}`) } : {}),
      restoredServices: manager.restored.services,
      restoredBackends: manager.restored.backends,
      deployMs: Math.round(deployMs),
    },
    close: () => {
      clearInterval(rescan);
      tc?.datapath.close();
      manager.close();
    },
    uninstall: () => {
      clearInterval(rescan);
      tc?.datapath.close();
      manager.close();
      removeTcClusterIp(up.pinDir);
      lbDown({ pinDir: up.pinDir, purge: true });
    },
  };
};

/** Removes a socket-LB datapath left pinned at `pinDir` (programs detached, maps unpinned) without starting an agent. */
export function uninstallSocketLb(pinDir = DEFAULT_PIN_DIR): { detached: readonly string[]; removedMaps: readonly string[]; tcDevices: readonly string[] } {
  const tcDevices = removeTcClusterIp(pinDir);
  return { ...lbDown({ pinDir, purge: true }), tcDevices };
}
