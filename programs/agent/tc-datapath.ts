/**
 * The pod-side ClusterIP datapath (programs/tc/clusterip.ts) as the agent
 * deploys it: compiled for this node's kernel, loaded with its maps pinned by
 * name in the agent's pin directory — the service tables are the socket LB's
 * own pins (one set of tables, written once by the manager), conntrack gets
 * its own — and attached at tc ingress of the given devices (the host-side
 * veths of pods) through tcx links pinned at `<pin>/tc-links/<device>`. A
 * device whose link is already pinned gets the new program swapped in
 * (BPF_LINK_UPDATE), so a restarted agent leaves no gap. Where tcx is missing
 * the netlink filter is attached instead; it persists in the kernel without a
 * pin and is replaced in place on the next start.
 *
 * This is for pods whose sockets the socket LB does not translate (the
 * `hostNamespaceOnly` mode); with the socket LB on the whole node, pods'
 * connections already reach backends directly and these programs pass them.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../../dsl/compile/index.js';
import type { TargetProfile } from '../../dsl/kernel/index.js';
import { attachTc, BpfLink } from '../../loader/links/index.js';
import { loadObject } from '../../loader/object/index.js';
import { tcClusterIp } from '../tc/clusterip.js';
import { AgentError } from './errors.js';

/** Where the tc links are pinned, under the agent's pin directory. */
export const TC_LINKS_DIR = 'tc-links';

/** Options of {@link deployTcClusterIp}. */
export interface TcDeployOptions {
  readonly pinDir: string;
  /** Interface names (the host-side veth of each pod). */
  readonly devices: readonly string[];
  /** Network namespace the devices are in (`ip netns` name or path; default: this one). */
  readonly netns?: string;
  readonly target: string | TargetProfile;
}

/** What {@link deployTcClusterIp} did per device. */
export interface TcDeployed {
  readonly device: string;
  readonly action: 'attached' | 'replaced';
  readonly mode: 'tcx' | 'netlink';
}

const pinName = (device: string) => device.replace(/[^A-Za-z0-9_.-]/g, '_');

/** Compiles, loads and attaches the ClusterIP tc datapath; see the module comment. */
export function deployTcClusterIp(o: TcDeployOptions): { kernel: string; devices: TcDeployed[] } {
  for (const d of o.devices)
    if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(d)) throw new AgentError('AGENT_BAD_OPTION', `tc device ${JSON.stringify(d)} is not an interface name (1–15 characters)`);
  const compiled = compile({ tc_clusterip: tcClusterIp }, { target: o.target });
  const dir = join(o.pinDir, TC_LINKS_DIR);
  mkdirSync(dir, { recursive: true });
  using obj = loadObject(compiled.object, { pinRoot: o.pinDir, objectName: 'tsbpf_tc', profile: compiled.profile });
  const prog = obj.program('tc_clusterip');
  const out: TcDeployed[] = [];
  for (const device of o.devices) {
    const pin = join(dir, pinName(device));
    if (existsSync(pin)) {
      const link = BpfLink.open(pin);
      try {
        link.replace(prog);
      } finally {
        link.close();
      }
      out.push({ device, action: 'replaced', mode: 'tcx' });
      continue;
    }
    const att = attachTc(prog, { iface: device, ...(o.netns !== undefined ? { netns: o.netns } : {}), direction: 'ingress', replace: true });
    if (att instanceof BpfLink) {
      att.pin(pin);
      att.close();
      out.push({ device, action: 'attached', mode: 'tcx' });
    } else out.push({ device, action: 'attached', mode: 'netlink' });
  }
  return { kernel: compiled.profile.kernel, devices: out };
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
