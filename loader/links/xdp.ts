/**
 * Attaching XDP programs: through an XDP link (BPF_LINK_CREATE with BPF_XDP,
 * kernel 5.9+) or rtnetlink IFLA_XDP, in generic (skb), driver (native) or
 * offload mode. An interface holds one XDP program per mode.
 */
import { BpfError } from '../errors.js';
import { NetlinkSocket, setXdp, withNetns, xdpModeFlag, type XdpMode, type XdpState } from '../netlink/index.js';
import { linkCreate } from '../sys/bpf.js';
import { AttachType } from '../sys/constants.js';
import { Fd } from '../sys/fd.js';
import type { Attachment, AttachmentSummary, ReplaceOptions } from './attachment.js';
import { AttachError } from './errors.js';
import { describeInterface, resolveInterface, type InterfaceTarget } from './iface.js';
import { BpfLink, detachLinksOf } from './link.js';
import { openProgById, progFdOf, progIdOf, type ProgramRef } from './program-ref.js';

/** How to attach an XDP program. */
export type XdpAttachMode = 'auto' | 'link' | 'netlink';

/** Options of `attachXdp`. */
export interface XdpAttachOptions extends InterfaceTarget {
  /** `auto` (default): link, falling back to netlink. */
  readonly mode?: XdpAttachMode;
  /** generic / driver / offload, or `auto` to let the kernel pick (driver if supported). */
  readonly xdpMode?: XdpMode;
  /** netlink only: fail if any program is attached (XDP_FLAGS_UPDATE_IF_NOEXIST). Links always do. */
  readonly ifNotExists?: boolean;
}

/** Attaches with a link or over netlink according to `options.mode`. */
export function attachXdp(prog: ProgramRef, options: XdpAttachOptions): BpfLink | XdpNetlinkAttachment {
  const mode = options.mode ?? 'auto';
  if (mode === 'netlink') return attachXdpNetlink(prog, options);
  if (mode === 'link') return attachXdpLink(prog, options);
  if (mode !== 'auto') throw new AttachError('ATTACH_BAD_MODE', `XDP attach mode must be auto, link or netlink; got ${JSON.stringify(mode)}`);
  try {
    return attachXdpLink(prog, options);
  } catch (e) {
    if (e instanceof BpfError && (e.errno === 'EINVAL' || e.errno === 'ENOTSUPP' || e.errno === 'EOPNOTSUPP')) return attachXdpNetlink(prog, options);
    throw e;
  }
}

/** Attaches with an XDP link; fails with EBUSY if anything is attached in that mode. */
export function attachXdpLink(prog: ProgramRef, options: XdpAttachOptions): BpfLink {
  const iface = resolveInterface(options);
  const target = describeInterface(iface, options.netns);
  const flags = xdpModeFlag(options.xdpMode ?? 'auto');
  const fd = withNetns(options.netns, () =>
    linkCreate(
      { prog_fd: progFdOf(prog), target_fd: iface.index, attach_type: AttachType.XDP, flags },
      { subject: `attaching xdp (${options.xdpMode ?? 'auto'} mode) to ${target}` },
    ),
  );
  return new BpfLink(new Fd(fd, 'xdp link'), 'xdp', target);
}

/** Attaches over rtnetlink (RTM_SETLINK with IFLA_XDP). */
export function attachXdpNetlink(prog: ProgramRef, options: XdpAttachOptions): XdpNetlinkAttachment {
  const xdpMode = options.xdpMode ?? 'auto';
  using sock = NetlinkSocket.open({ netns: options.netns });
  const iface = resolveInterface(options);
  setXdp(sock, iface.index, progFdOf(prog), { mode: xdpMode, ifNotExists: options.ifNotExists });
  return new XdpNetlinkAttachment(options.netns, iface.index, iface.name, xdpMode, progIdOf(prog));
}

/**
 * An XDP program attached over netlink. It stays until detached; this object holds
 * no fds and remembers the program by id, so it only ever removes its own program.
 */
export class XdpNetlinkAttachment implements Attachment {
  readonly mechanism = 'netlink' as const;
  readonly hook = 'xdp';
  readonly target: string;
  readonly netns: string | undefined;
  readonly ifindex: number;
  readonly xdpMode: XdpMode;
  #progId: number;
  #detached = false;

  constructor(netns: string | undefined, ifindex: number, ifname: string, xdpMode: XdpMode, progId: number) {
    this.netns = netns;
    this.ifindex = ifindex;
    this.xdpMode = xdpMode;
    this.#progId = progId;
    this.target = describeInterface({ name: ifname, index: ifindex }, netns);
  }

  get progId(): number {
    return this.#progId;
  }

  /** Atomically swaps the program; the kernel checks the old one is still attached (IFLA_XDP_EXPECTED_FD). */
  replace(prog: ProgramRef, options: ReplaceOptions = {}): void {
    if (this.#detached) throw new AttachError('ATTACH_DETACHED', `xdp on ${this.target} was already detached`);
    if (options.expected !== undefined && progIdOf(options.expected) !== this.#progId) {
      throw new AttachError('ATTACH_UNEXPECTED_PROGRAM', `xdp on ${this.target}: program id ${this.#progId} is attached, not the expected one`);
    }
    using old = openProgById(this.#progId);
    using sock = NetlinkSocket.open({ netns: this.netns });
    setXdp(sock, this.ifindex, progFdOf(prog), { mode: this.xdpMode, expectedFd: old.value });
    this.#progId = progIdOf(prog);
  }

  /** Removes the program, only if it is still ours (IFLA_XDP_EXPECTED_FD). */
  detach(): void {
    if (this.#detached) return;
    using old = openProgById(this.#progId);
    using sock = NetlinkSocket.open({ netns: this.netns });
    setXdp(sock, this.ifindex, -1, { mode: this.xdpMode, expectedFd: old.value });
    this.#detached = true;
  }

  close(): void {}

  [Symbol.dispose](): void {
    this.detach();
  }

  summary(): AttachmentSummary {
    return {
      mechanism: 'netlink',
      hook: 'xdp',
      target: this.target,
      progId: this.#progId,
      details: { xdpMode: this.xdpMode, ...(this.netns ? { netns: this.netns } : {}) },
    };
  }
}

/** XDP state of an interface as rtnetlink reports it (mode and program ids). */
export function queryXdp(target: InterfaceTarget): XdpState {
  return resolveInterface(target).xdp;
}

/**
 * Detaches XDP program `progId` from an interface, whoever attached it: an XDP
 * link holding it, or a netlink attachment in any mode (for `tsbpf detach`).
 * Returns how many attachments were removed.
 */
export function detachXdpProgram(target: InterfaceTarget, progId: number): number {
  const iface = resolveInterface(target);
  let n = detachLinksOf(progId, (info) => info.type === 'XDP' && info.ifindex === iface.index);
  if (n > 0) return n;
  const state = iface.xdp;
  const modes: [XdpMode, number][] = [
    ['generic', state.genericProgId],
    ['driver', state.driverProgId],
    ['offload', state.offloadProgId],
  ];
  using sock = NetlinkSocket.open({ netns: target.netns });
  for (const [mode, id] of modes) {
    if (id !== progId) continue;
    using prog = openProgById(id);
    setXdp(sock, iface.index, -1, { mode, expectedFd: prog.value });
    n++;
  }
  return n;
}
