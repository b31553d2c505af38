/**
 * Attaching tc programs: tcx links (BPF_LINK_CREATE with BPF_TCX_INGRESS/EGRESS,
 * kernel 6.6+) or, for older kernels, a `clsact` qdisc plus a direct-action
 * `cls_bpf` filter over rtnetlink. `mode: 'auto'` prefers tcx.
 */
import { BpfError } from '../errors.js';
import {
  addBpfFilter,
  addClsact,
  deleteClsact,
  deleteFilter,
  listFilters,
  NetlinkError,
  NetlinkSocket,
  withNetns,
  type TcDirection,
  type TcFilterInfo,
} from '../netlink/index.js';
import { linkCreate, progQuery, type ProgQueryResult } from '../sys/bpf.js';
import { AttachType } from '../sys/constants.js';
import { Fd } from '../sys/fd.js';
import type { Attachment, AttachmentSummary, ReplaceOptions } from './attachment.js';
import { AttachError } from './errors.js';
import { describeInterface, resolveInterface, type InterfaceTarget } from './iface.js';
import { BpfLink, detachLinksOf } from './link.js';
import { progFdOf, progIdOf, type ProgramRef } from './program-ref.js';

/** How to attach a tc program. */
export type TcAttachMode = 'auto' | 'tcx' | 'netlink';

/** Options of the tc attach functions. */
export interface TcAttachOptions extends InterfaceTarget {
  readonly direction: TcDirection;
  /** `auto` (default) = tcx, falling back to netlink where tcx is missing. */
  readonly mode?: TcAttachMode;
  /** netlink: filter priority (default 1). */
  readonly priority?: number;
  /** netlink: filter handle (default 1). */
  readonly handle?: number;
  /** netlink: name shown by `tc filter show` (default `tsbpf`). */
  readonly name?: string;
  /** netlink: replace a filter at the same priority/handle instead of failing. */
  readonly replace?: boolean;
  /**
   * tcx: where in the hook's chain — `last` (default, after the programs
   * there) or `first` (before them; BPF_F_BEFORE without a relative program).
   * netlink filters are ordered by `priority` instead.
   */
  readonly position?: 'first' | 'last';
}

/** linux/bpf.h (6.6+, newer than the generated UAPI): attach before the relative program, or at the head without one. */
const BPF_F_BEFORE = 1 << 3;

function checkDirection(direction: string): asserts direction is TcDirection {
  if (direction !== 'ingress' && direction !== 'egress') {
    throw new AttachError('ATTACH_BAD_DIRECTION', `tc direction must be ingress or egress, got ${JSON.stringify(direction)}`);
  }
}

function tcxAttachType(direction: TcDirection): number {
  return direction === 'ingress' ? AttachType.TCX_INGRESS : AttachType.TCX_EGRESS;
}

/** Attaches through tcx or netlink according to `options.mode`. */
export function attachTc(prog: ProgramRef, options: TcAttachOptions): BpfLink | TcNetlinkAttachment {
  const mode = options.mode ?? 'auto';
  if (mode === 'netlink') return attachTcNetlink(prog, options);
  if (mode === 'tcx') return attachTcx(prog, options);
  if (mode !== 'auto') throw new AttachError('ATTACH_BAD_MODE', `tc attach mode must be auto, tcx or netlink; got ${JSON.stringify(mode)}`);
  try {
    return attachTcx(prog, options);
  } catch (e) {
    if (e instanceof BpfError && (e.errno === 'EINVAL' || e.errno === 'ENOTSUPP' || e.errno === 'EOPNOTSUPP')) return attachTcNetlink(prog, options);
    throw e;
  }
}

/** Attaches with a tcx link (appended after programs already there, or first with `position: 'first'`). */
export function attachTcx(prog: ProgramRef, options: TcAttachOptions): BpfLink {
  checkDirection(options.direction);
  const iface = resolveInterface(options);
  const hook = `tcx/${options.direction}`;
  const target = describeInterface(iface, options.netns);
  // The kernel resolves target_ifindex in the caller's network namespace.
  const fd = withNetns(options.netns, () =>
    linkCreate(
      { prog_fd: progFdOf(prog), target_fd: iface.index, attach_type: tcxAttachType(options.direction), flags: options.position === 'first' ? BPF_F_BEFORE : 0 },
      { subject: `attaching ${hook} to ${target}` },
    ),
  );
  return new BpfLink(new Fd(fd, `${hook} link`), hook, target);
}

/** Attaches a direct-action cls_bpf filter, adding the clsact qdisc if needed. */
export function attachTcNetlink(prog: ProgramRef, options: TcAttachOptions): TcNetlinkAttachment {
  checkDirection(options.direction);
  const priority = options.priority ?? 1;
  const handle = options.handle ?? 1;
  using sock = NetlinkSocket.open({ netns: options.netns });
  const iface = resolveInterface(options);
  const createdQdisc = addClsact(sock, iface.index);
  try {
    addBpfFilter(sock, {
      ifindex: iface.index,
      direction: options.direction,
      priority,
      handle,
      progFd: progFdOf(prog),
      name: options.name,
      replace: options.replace,
    });
  } catch (e) {
    if (createdQdisc) deleteClsact(sock, iface.index);
    throw e;
  }
  return new TcNetlinkAttachment({
    netns: options.netns,
    ifindex: iface.index,
    ifname: iface.name,
    direction: options.direction,
    priority,
    handle,
    name: options.name ?? 'tsbpf',
    createdQdisc,
    progId: progIdOf(prog),
  });
}

/** State of a netlink tc attachment (enough to find the filter again). */
export interface TcNetlinkState {
  readonly netns: string | undefined;
  readonly ifindex: number;
  readonly ifname: string;
  readonly direction: TcDirection;
  readonly priority: number;
  readonly handle: number;
  readonly name: string;
  /** Whether attaching added the clsact qdisc (then detaching the last filter removes it). */
  readonly createdQdisc: boolean;
  readonly progId: number;
}

/**
 * A cls_bpf filter installed over netlink. It stays in the kernel until detached;
 * this object holds no fds (each operation opens a short-lived netlink socket).
 */
export class TcNetlinkAttachment implements Attachment {
  readonly mechanism = 'netlink' as const;
  readonly hook: string;
  readonly target: string;
  #state: TcNetlinkState;
  #detached = false;

  constructor(state: TcNetlinkState) {
    this.#state = state;
    this.hook = `tc/${state.direction}`;
    this.target = describeInterface({ name: state.ifname, index: state.ifindex }, state.netns);
  }

  get progId(): number {
    return this.#state.progId;
  }

  /** Where the filter sits and whether we own the qdisc. */
  get state(): TcNetlinkState {
    return this.#state;
  }

  /** The filter as the kernel reports it now (undefined if it is gone). */
  current(): TcFilterInfo | undefined {
    const s = this.#state;
    using sock = NetlinkSocket.open({ netns: s.netns });
    return listFilters(sock, s.ifindex, s.direction).find((f) => f.priority === s.priority && f.handle === s.handle);
  }

  /** Atomically swaps the filter's program (RTM_NEWTFILTER with NLM_F_REPLACE, same prio/handle). */
  replace(prog: ProgramRef, options: ReplaceOptions = {}): void {
    this.#live();
    const s = this.#state;
    if (options.expected !== undefined) {
      const now = this.current();
      const want = progIdOf(options.expected);
      if (now?.progId !== want) {
        throw new AttachError('ATTACH_UNEXPECTED_PROGRAM', `${this.hook} on ${this.target}: attached program is ${now?.progId ?? 'none'}, expected ${want}`);
      }
    }
    using sock = NetlinkSocket.open({ netns: s.netns });
    addBpfFilter(sock, { ...s, progFd: progFdOf(prog), replace: true });
    this.#state = { ...s, progId: progIdOf(prog) };
  }

  /** Deletes the filter; if attaching created the clsact qdisc and it is now empty, deletes that too. */
  detach(): void {
    if (this.#detached) return;
    const s = this.#state;
    using sock = NetlinkSocket.open({ netns: s.netns });
    try {
      deleteFilter(sock, s);
    } catch (e) {
      // Already gone (qdisc deleted by someone, interface removed): nothing left to detach.
      if (!(e instanceof NetlinkError && (e.errnoName === 'ENOENT' || e.errnoName === 'EINVAL' || e.errnoName === 'ENODEV'))) throw e;
    }
    if (s.createdQdisc) {
      const others = [...listFilters(sock, s.ifindex, 'ingress'), ...listFilters(sock, s.ifindex, 'egress')];
      if (others.length === 0) {
        try {
          deleteClsact(sock, s.ifindex);
        } catch (e) {
          if (!(e instanceof NetlinkError && (e.errnoName === 'EINVAL' || e.errnoName === 'ENOENT' || e.errnoName === 'ENODEV'))) throw e;
        }
      }
    }
    this.#detached = true;
  }

  /** Holds no fds; the filter stays attached. */
  close(): void {}

  [Symbol.dispose](): void {
    this.detach();
  }

  summary(): AttachmentSummary {
    const s = this.#state;
    return {
      mechanism: 'netlink',
      hook: this.hook,
      target: this.target,
      progId: s.progId,
      details: { priority: s.priority, handle: s.handle, name: s.name, createdQdisc: s.createdQdisc, ...(s.netns ? { netns: s.netns } : {}) },
    };
  }

  #live(): void {
    if (this.#detached) throw new AttachError('ATTACH_DETACHED', `${this.hook} on ${this.target} was already detached`);
  }
}

/** Programs attached through tcx at one direction of an interface (BPF_PROG_QUERY). */
export function queryTcx(target: InterfaceTarget, direction: TcDirection): ProgQueryResult {
  checkDirection(direction);
  const iface = resolveInterface(target);
  return withNetns(target.netns, () =>
    progQuery(iface.index, tcxAttachType(direction), 0, { subject: `querying tcx/${direction} on ${describeInterface(iface, target.netns)}` }),
  );
}

/** tc filters (cls_bpf and others) on one clsact direction of an interface. */
export function listTcFilters(target: InterfaceTarget, direction: TcDirection): TcFilterInfo[] {
  checkDirection(direction);
  using sock = NetlinkSocket.open({ netns: target.netns });
  const iface = resolveInterface(target);
  return listFilters(sock, iface.index, direction);
}

/**
 * Detaches program `progId` from one direction of an interface, whoever attached
 * it: tcx links holding it, and cls_bpf filters running it (for `tsbpf detach`).
 * Returns how many attachments were removed.
 */
export function detachTcProgram(target: InterfaceTarget, direction: TcDirection, progId: number): number {
  checkDirection(direction);
  const iface = resolveInterface(target);
  const attachType = direction === 'ingress' ? 'tcx_ingress' : 'tcx_egress';
  let n = detachLinksOf(progId, (info) => info.type === 'TCX' && info.attachType === attachType && info.ifindex === iface.index);
  using sock = NetlinkSocket.open({ netns: target.netns });
  for (const f of listFilters(sock, iface.index, direction)) {
    if (f.kind === 'bpf' && f.progId === progId) {
      deleteFilter(sock, f);
      n++;
    }
  }
  return n;
}
