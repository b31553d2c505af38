/**
 * The pod-side ClusterIP datapath (programs/tc/clusterip.ts) as the agent
 * deploys it: compiled for this node's kernel, loaded with its maps pinned by
 * name in the agent's pin directory — the service tables are the socket LB's
 * own pins (one set of tables, written once by the manager), conntrack gets
 * its own — and attached at tc ingress of the given devices (the host-side
 * veths of pods) through tcx links pinned at `<pin>/tc-links/<device>`. A
 * device whose link is already pinned gets the new program swapped in
 * (BPF_LINK_UPDATE), so a restarted agent leaves no gap. Devices may be
 * patterns (`lxc*`): `rescan()` attaches to pods' veths created later and drops
 * the pins of deleted ones. Where tcx is missing
 * the netlink filter is attached instead; it persists in the kernel without a
 * pin and is replaced in place on the next start.
 *
 * This is for pods whose sockets the socket LB does not translate (the
 * `hostNamespaceOnly` mode); with the socket LB on the whole node, pods'
 * connections already reach backends directly and these programs pass them.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../../dsl/compile/index.js';
import type { TargetProfile } from '../../dsl/kernel/index.js';
import { attachTc, BpfLink } from '../../loader/links/index.js';
import { listInterfaces, NetlinkSocket } from '../../loader/netlink/index.js';
import { loadObject, type LoadedObject } from '../../loader/object/index.js';
import { tcClusterIp } from '../tc/clusterip.js';
import { AgentError } from './errors.js';
import { pinDevice } from './nodeport-links.js';

/** Where the tc links are pinned, under the agent's pin directory. */
export const TC_LINKS_DIR = 'tc-links';

/** Options of {@link TcDatapath.deploy}. */
export interface TcDeployOptions {
  readonly pinDir: string;
  /**
   * Devices to attach to: interface names, or patterns with `*` (`lxc*`, `pod*`)
   * matched against the namespace's interfaces now and at every `rescan()`.
   */
  readonly devices: readonly string[];
  /** Network namespace the devices are in (`ip netns` name or path; default: this one). */
  readonly netns?: string;
  readonly target: string | TargetProfile;
}

/** What was done for one device. */
export interface TcDeployed {
  readonly device: string;
  readonly action: 'attached' | 'replaced' | 'removed';
  readonly mode: 'tcx' | 'netlink';
}

// bpffs refuses names with a dot (`eth0.100`): the same mapping as the NodePort links'.
const pinName = pinDevice;

function patternRegex(p: string): RegExp {
  return new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

/**
 * The loaded ClusterIP tc program and the devices it is attached to; see the
 * module comment. Keeps the object open so devices that appear later (pods
 * started after the agent) are attached by `rescan()` without rebuilding.
 */
export class TcDatapath {
  private readonly patterns: RegExp[];
  private readonly dir: string;

  private constructor(
    private readonly options: TcDeployOptions,
    private readonly obj: LoadedObject,
    /** Kernel version the program was built for. */
    readonly kernel: string,
  ) {
    this.patterns = options.devices.map(patternRegex);
    this.dir = join(options.pinDir, TC_LINKS_DIR);
  }

  /** Compiles and loads the program, then attaches it to the matching devices (swapping it into links already pinned). */
  static deploy(o: TcDeployOptions): { datapath: TcDatapath; devices: TcDeployed[] } {
    for (const d of o.devices)
      if (!/^[A-Za-z0-9_.:@*-]{1,15}$/.test(d)) throw new AgentError('AGENT_BAD_OPTION', `tc device ${JSON.stringify(d)} is not an interface name or pattern (1–15 characters, * as wildcard)`);
    const compiled = compile({ tc_clusterip: tcClusterIp }, { target: o.target });
    mkdirSync(join(o.pinDir, TC_LINKS_DIR), { recursive: true });
    const obj = loadObject(compiled.object, { pinRoot: o.pinDir, objectName: 'tsbpf_tc', profile: compiled.profile });
    try {
      const datapath = new TcDatapath(o, obj, compiled.profile.kernel);
      const devices = datapath.sync(true);
      return { datapath, devices };
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  /** Attaches to matching devices that have appeared and forgets links of devices that are gone. */
  rescan(): TcDeployed[] {
    return this.sync(false);
  }

  /** Closes the object; the pinned links keep the program attached. */
  close(): void {
    this.obj.close();
  }

  private sync(first: boolean): TcDeployed[] {
    const present = this.interfaces();
    const wanted = present.filter((n) => this.patterns.some((p) => p.test(n)));
    const pinned = new Set(readdirSync(this.dir));
    const prog = this.obj.program('tc_clusterip');
    const out: TcDeployed[] = [];
    for (const device of wanted) {
      const pin = join(this.dir, pinName(device));
      if (pinned.has(pinName(device))) {
        if (!first) continue;
        const link = BpfLink.open(pin);
        try {
          link.replace(prog);
        } finally {
          link.close();
        }
        out.push({ device, action: 'replaced', mode: 'tcx' });
        continue;
      }
      const att = attachTc(prog, { iface: device, ...(this.options.netns !== undefined ? { netns: this.options.netns } : {}), direction: 'ingress', replace: true });
      if (att instanceof BpfLink) {
        att.pin(pin);
        att.close();
        out.push({ device, action: 'attached', mode: 'tcx' });
      } else out.push({ device, action: 'attached', mode: 'netlink' });
    }
    // A deleted device takes its tcx attachment with it; drop the pin of the defunct link.
    const names = new Set(present.map(pinName));
    for (const name of pinned) {
      if (names.has(name)) continue;
      try {
        BpfLink.open(join(this.dir, name)).detach();
      } catch {
        // Already defunct: only the pin is left.
      }
      rmSync(join(this.dir, name), { force: true });
      out.push({ device: name, action: 'removed', mode: 'tcx' });
    }
    return out;
  }

  private interfaces(): string[] {
    const sock = NetlinkSocket.open(this.options.netns !== undefined ? { netns: this.options.netns } : {});
    try {
      return listInterfaces(sock).map((i) => i.name);
    } finally {
      sock.close();
    }
  }
}

/** Detaches every tc link the agent pinned under `pinDir` and removes the pins; returns the devices. */
export function removeTcClusterIp(pinDir: string): string[] {
  const dir = join(pinDir, TC_LINKS_DIR);
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  for (const n of names) BpfLink.open(join(dir, n)).detach();
  rmSync(dir, { recursive: true, force: true });
  return names;
}
