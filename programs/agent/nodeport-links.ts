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
import { attachTc, BpfLink, type ProgramRef, type TcAttachMode } from '../../loader/links/index.js';
import { deleteClsact, deleteFilter, listFilters, listInterfaces, NetlinkError, NetlinkSocket, type TcDirection, type TcFilterInfo } from '../../loader/netlink/index.js';

/** Directory of the NodePort links under the agent's pin directory. */
export const NP_LINKS_DIR = 'np-links';
/** Netlink filter names are this plus the program name. */
const FILTER_NAME_PREFIX = 'tsbpf-';
/** Prefix of the netlink filter names of the NodePort programs. */
export const NP_FILTER_PREFIX = `${FILTER_NAME_PREFIX}np`;

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

  constructor(
    pinDir: string,
    private readonly netns: string | undefined,
    /** `auto`: tcx, netlink where tcx is missing; `netlink` forces the fallback (kernels without tcx, tests). */
    private readonly mode: TcAttachMode = 'auto',
  ) {
    this.dir = join(pinDir, NP_LINKS_DIR);
    mkdirSync(this.dir, { recursive: true });
  }

  /**
   * Attaches `prog` (program `program`) at `position` of the tcx chain at `direction` of `device` (ifindex `ifindex`), or swaps it
   * into the link pinned for this device and program. A pinned link whose
   * device is gone (or is now another one) is dropped and a new one made.
   */
  attach(program: string, prog: ProgramRef, device: string, ifindex: number, direction: TcDirection, position: 'first' | 'last' = 'last'): NpAttached {
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
    // A filter an earlier run left (netlink mode) is replaced in place: same priority and handle.
    const earlier = this.mode === 'tcx' ? undefined : this.filter(ifindex, direction, program);
    const att = attachTc(prog, {
      iface: ifindex, ...(this.netns !== undefined ? { netns: this.netns } : {}), direction, mode: this.mode, position,
      priority: PRIORITY[program] ?? 44, handle: 1, name: `${FILTER_NAME_PREFIX}${program}`, replace: true,
    });
    if (att instanceof BpfLink) {
      att.pin(pin);
      att.close();
      return { device, program, action: 'attached', mode: 'tcx' };
    }
    return { device, program, action: earlier ? 'replaced' : 'attached', mode: 'netlink' };
  }

  /** Our netlink filter of `program` on one hook, if there is one. */
  private filter(ifindex: number, direction: TcDirection, program: string): TcFilterInfo | undefined {
    return NetlinkSocket.with(this.netns, (sock) => {
      try {
        return listFilters(sock, ifindex, direction).find((f) => f.kind === 'bpf' && f.name === `${FILTER_NAME_PREFIX}${program}`);
      } catch (e) {
        if (e instanceof NetlinkError && (e.errnoName === 'ENODEV' || e.errnoName === 'EINVAL' || e.errnoName === 'ENOENT')) return undefined;
        throw e;
      }
    });
  }

  /** Devices (as {@link pinDevice} spells them) that have a pinned link of `program`. */
  pinnedDevices(program: string): string[] {
    return readdirSync(this.dir).filter((n) => n.endsWith(`@${program}`)).map((n) => n.slice(0, -program.length - 1));
  }

  /**
   * Detaches `program` at ingress of `device` (a name or its {@link pinDevice}
   * form): the pinned tcx link, and with `ifindex` our netlink filter there.
   * True when something was removed.
   */
  detach(device: string, program: string, ifindex?: number): boolean {
    let removed = false;
    const pin = join(this.dir, pinName(device, program));
    if (existsSync(pin)) {
      detachPinned(pin);
      rmSync(pin, { force: true });
      removed = true;
    }
    const f = ifindex === undefined || this.mode === 'tcx' ? undefined : this.filter(ifindex, 'ingress', program);
    if (f && ifindex !== undefined) {
      NetlinkSocket.with(this.netns, (sock) => {
        deleteFilter(sock, f);
        dropEmptyClsact(sock, ifindex);
      });
      removed = true;
    }
    return removed;
  }
}

/** Detaches the link pinned at `pin` (already defunct when its device went away: then nothing to do). */
function detachPinned(pin: string): void {
  let link: BpfLink | undefined;
  try {
    link = BpfLink.open(pin);
    link.detach();
  } catch {
    // Defunct or not a link any more: only the pin is left.
  } finally {
    link?.close();
  }
}


/** Deletes the clsact qdisc of `ifindex` once no filter is left on it (ours were the last). */
function dropEmptyClsact(sock: NetlinkSocket, ifindex: number): void {
  try {
    if (listFilters(sock, ifindex, 'ingress').length === 0 && listFilters(sock, ifindex, 'egress').length === 0) deleteClsact(sock, ifindex);
  } catch (e) {
    if (!(e instanceof NetlinkError && (e.errnoName === 'EINVAL' || e.errnoName === 'ENOENT' || e.errnoName === 'ENODEV'))) throw e;
  }
}

/**
 * Removes every NodePort attachment of an agent: the pinned tcx links under
 * `<pinDir>/np-links` and the netlink filters named `tsbpf-np*` on the
 * interfaces of `netns` (their clsact qdisc too once nothing else is on it).
 * Returns `device@program` of each removed one.
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
    detachPinned(join(dir, n));
    removed.push(n);
  }
  rmSync(dir, { recursive: true, force: true });
  let sock: NetlinkSocket;
  try {
    sock = NetlinkSocket.open(netns !== undefined ? { netns } : {});
  } catch {
    return removed; // The namespace is gone, and its interfaces' filters with it.
  }
  try {
    for (const i of listInterfaces(sock)) {
      let mine = 0;
      for (const direction of ['ingress', 'egress'] as const) {
        let filters: TcFilterInfo[] = [];
        try {
          filters = listFilters(sock, i.index, direction);
        } catch {
          continue; // No clsact qdisc.
        }
        for (const f of filters)
          if (f.kind === 'bpf' && f.name?.startsWith(NP_FILTER_PREFIX)) {
            deleteFilter(sock, f);
            mine++;
            removed.push(`${i.name}@${f.name.slice(FILTER_NAME_PREFIX.length)}(netlink)`);
          }
      }
      if (mine) dropEmptyClsact(sock, i.index);
    }
  } finally {
    sock.close();
  }
  return removed;
}
