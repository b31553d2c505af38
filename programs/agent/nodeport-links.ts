/**
 * Attachments of the NodePort programs that survive the agent: tcx links
 * pinned at `<pin>/np-links/<device>@<program>`, so that a restarted agent
 * swaps its newly loaded program into the link already there (BPF_LINK_UPDATE:
 * no moment without a program) instead of attaching a second one. Where tcx
 * is missing the netlink cls_bpf filter is used, at a fixed priority per
 * program and replaced in place on the next start; filters carry the name
 * `tsbpf-<program>` so uninstall finds them without pins.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { attachTc, BpfLink, detachTcProgram, listTcFilters, type ProgramRef } from '../../loader/links/index.js';
import { listInterfaces, NetlinkSocket, type TcDirection } from '../../loader/netlink/index.js';

/** Directory of the NodePort links under the agent's pin directory. */
export const NP_LINKS_DIR = 'np-links';
/** Prefix of the netlink filter names of the NodePort programs. */
export const NP_FILTER_PREFIX = 'tsbpf-np';

/** netlink priorities by program (kept clear of the ClusterIP datapath's priority 1 on pod veths). */
const PRIORITY: Readonly<Record<string, number>> = {
  np4_ingress: 40, np6_ingress: 41, np4_egress: 40, np6_egress: 41, np4_from_pod: 42, np6_from_pod: 43,
};

/** One attachment as deployed. */
export interface NpAttached {
  readonly device: string;
  readonly program: string;
  readonly action: 'attached' | 'replaced' | 'removed';
  readonly mode: 'tcx' | 'netlink';
}

/** A device name as it appears in pin names (bpffs refuses names with a dot: `eth0.100` becomes `eth0_100`). */
export const pinDevice = (device: string) => device.replace(/[^A-Za-z0-9_-]/g, '_');
const pinName = (device: string, program: string) => `${pinDevice(device)}@${program}`;

/** Pinned NodePort links of one agent pin directory. */
export class NpLinks {
  readonly dir: string;

  constructor(pinDir: string, private readonly netns: string | undefined) {
    this.dir = join(pinDir, NP_LINKS_DIR);
    mkdirSync(this.dir, { recursive: true });
  }

  /**
   * Attaches `prog` (program `program`) at `direction` of `device` (ifindex `ifindex`), or swaps it
   * into the link pinned for this device and program. A pinned link whose
   * device is gone (or is now another one) is dropped and a new one made.
   */
  attach(program: string, prog: ProgramRef, device: string, ifindex: number, direction: TcDirection): NpAttached {
    const pin = join(this.dir, pinName(device, program));
    if (existsSync(pin)) {
      const link = BpfLink.open(pin);
      try {
        if (link.info().ifindex === ifindex) {
          link.replace(prog);
          return { device, program, action: 'replaced', mode: 'tcx' };
        }
        link.detach();
      } finally {
        link.close();
      }
      rmSync(pin, { force: true });
    }
    const att = attachTc(prog, {
      iface: ifindex, ...(this.netns !== undefined ? { netns: this.netns } : {}), direction,
      priority: PRIORITY[program] ?? 44, handle: 1, name: `tsbpf-${program}`, replace: true,
    });
    if (att instanceof BpfLink) {
      att.pin(pin);
      att.close();
      return { device, program, action: 'attached', mode: 'tcx' };
    }
    return { device, program, action: 'attached', mode: 'netlink' };
  }

  /** Devices (as {@link pinDevice} spells them) that have a pinned link of `program`. */
  pinnedDevices(program: string): string[] {
    return readdirSync(this.dir).filter((n) => n.endsWith(`@${program}`)).map((n) => n.slice(0, -program.length - 1));
  }

  /** Detaches and unpins the link of `program` on `device` (a name or its {@link pinDevice} form); true when there was one. */
  detach(device: string, program: string): boolean {
    const pin = join(this.dir, pinName(device, program));
    if (!existsSync(pin)) return false;
    try {
      BpfLink.open(pin).detach();
    } catch {
      // Defunct (the device went away): only the pin is left.
    }
    rmSync(pin, { force: true });
    return true;
  }
}

/**
 * Removes every NodePort attachment of an agent: the pinned tcx links under
 * `<pinDir>/np-links` and the netlink filters named `tsbpf-np*` on the
 * interfaces of `netns`. Returns `device@program` of each removed one.
 */
export function removeNodePortLinks(pinDir: string, netns?: string): string[] {
  const dir = join(pinDir, NP_LINKS_DIR);
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    // Never deployed with tcx.
  }
  for (const n of names) {
    try {
      BpfLink.open(join(dir, n)).detach();
    } catch {
      // Defunct link: the device is gone.
    }
    removed.push(n);
  }
  rmSync(dir, { recursive: true, force: true });
  let ifaces: { index: number; name: string }[] = [];
  try {
    const sock = NetlinkSocket.open(netns !== undefined ? { netns } : {});
    try {
      ifaces = listInterfaces(sock);
    } finally {
      sock.close();
    }
  } catch {
    return removed;
  }
  for (const i of ifaces)
    for (const direction of ['ingress', 'egress'] as const) {
      let filters: ReturnType<typeof listTcFilters> = [];
      try {
        filters = listTcFilters({ iface: i.index, ...(netns !== undefined ? { netns } : {}) }, direction);
      } catch {
        continue; // No clsact qdisc.
      }
      for (const f of filters)
        if (f.kind === 'bpf' && f.name?.startsWith(NP_FILTER_PREFIX) && f.progId) {
          detachTcProgram({ iface: i.index, ...(netns !== undefined ? { netns } : {}) }, direction, f.progId);
          removed.push(`${i.name}@${f.name.slice('tsbpf-'.length)}(netlink)`);
        }
    }
  return removed;
}
