/**
 * BPF links: kernel objects that hold a program at a hook for as long as an fd or
 * a bpffs pin refers to them. Pinning a link is how an attachment outlives the
 * process that made it; `BpfLink.open` picks it up again.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { BpfError } from '../errors.js';
import { allIds, getFdById, linkDetach, linkUpdate, objGet, objGetInfoByFd, objPin } from '../sys/bpf.js';
import { nameOf } from '../../dsl/kernel/index.js';
import { AttachFlag, attachTypeName, LinkType } from '../sys/constants.js';
import { LinkInfoStruct } from '../sys/attr.js';
import { Fd } from '../sys/fd.js';
import type { Attachment, AttachmentSummary, ReplaceOptions } from './attachment.js';
import { AttachError } from './errors.js';
import { progFdOf, type ProgramRef } from './program-ref.js';


/** What the kernel reports about a link (`bpf_link_info`), for the link kinds tsbpf creates. */
export interface LinkInfo {
  readonly id: number;
  /** Link type, named as the kernel's `BPF_LINK_TYPE_*` (dsl/kernel): `CGROUP`, `TCX`, `XDP`, … */
  readonly type: string;
  readonly progId: number;
  /** Attach type name for cgroup and tcx links, as `BPF_*` in dsl/kernel: `CGROUP_INET4_CONNECT`, `TCX_EGRESS`. */
  readonly attachType?: string;
  /** cgroup links: the cgroup's id (its inode number). */
  readonly cgroupId?: bigint;
  /** tcx and xdp links: the interface index (0 once the interface is gone or the link detached). */
  readonly ifindex?: number;
}

/** Reads `bpf_link_info` for a link fd. */
export function linkInfo(fd: number): LinkInfo {
  const buf = new Uint8Array(LinkInfoStruct.size);
  objGetInfoByFd(fd, buf);
  const head = LinkInfoStruct.decode(buf);
  const view = new DataView(buf.buffer);
  const type = nameOf(LinkType, head.type) ?? `TYPE_${head.type}`;
  const base = { id: head.id, type, progId: head.prog_id };
  // The type-specific union starts at offset 16.
  switch (head.type) {
    case LinkType.CGROUP:
      return { ...base, cgroupId: view.getBigUint64(16, true), attachType: attachTypeName(view.getUint32(24, true)) };
    case LinkType.TCX:
      return { ...base, ifindex: view.getUint32(16, true), attachType: attachTypeName(view.getUint32(20, true)) };
    case LinkType.XDP:
      return { ...base, ifindex: view.getUint32(16, true) };
    default:
      return base;
  }
}

/** Whether an fd refers to a BPF link (bpffs pins can hold maps and programs too). */
function isLinkFd(fd: number): boolean {
  try {
    return /^link_type:/m.test(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  } catch {
    return false;
  }
}

/** A BPF link this process holds an fd for. */
export class BpfLink implements Attachment {
  readonly mechanism = 'link' as const;
  readonly hook: string;
  readonly target: string;
  readonly #fd: Fd;
  #pinnedPath: string | undefined;

  /** Wraps an owned link fd; `hook` and `target` describe it for messages. */
  constructor(fd: Fd, hook: string, target: string) {
    this.#fd = fd;
    this.hook = hook;
    this.target = target;
  }

  /** Opens a link pinned at `path` (e.g. one a previous process pinned). */
  static open(path: string): BpfLink {
    const fd = new Fd(objGet(path), `link pinned at ${path}`);
    if (!isLinkFd(fd.value)) {
      fd.close();
      throw new AttachError('ATTACH_NOT_A_LINK', `${path} is pinned but is not a BPF link (a map or program?)`);
    }
    const link = new BpfLink(fd, '', path);
    link.#pinnedPath = path;
    return link.#relabel();
  }

  /** Opens a link by its kernel id. */
  static fromId(id: number): BpfLink {
    return new BpfLink(new Fd(getFdById('link', id), `link id ${id}`), '', `link id ${id}`).#relabel();
  }

  /** Fills hook/target from what the kernel says when they were not known at creation. */
  #relabel(): BpfLink {
    const info = this.info();
    const hook =
      info.type === 'TCX'
        ? `tcx/${info.attachType === 'TCX_EGRESS' ? 'egress' : 'ingress'}`
        : info.type === 'XDP'
          ? 'xdp'
          : info.type === 'CGROUP'
            ? `cgroup ${info.attachType}`
            : info.type.toLowerCase();
    const target =
      info.ifindex !== undefined ? `ifindex ${info.ifindex}` : info.cgroupId !== undefined ? `cgroup id ${info.cgroupId}` : this.target;
    const link = new BpfLink(this.#fd, hook, target);
    link.#pinnedPath = this.#pinnedPath;
    return link;
  }

  /** The link fd (throws once closed). */
  get fd(): number {
    return this.#fd.value;
  }

  /** True once `close()` or `detach()` ran. */
  get closed(): boolean {
    return this.#fd.closed;
  }

  /** Kernel id of the link. */
  get id(): number {
    return this.info().id;
  }

  /** Id of the program the link holds now. */
  get progId(): number {
    return this.info().progId;
  }

  /** The bpffs path this object pinned (or was opened from), if any. */
  get pinnedPath(): string | undefined {
    return this.#pinnedPath;
  }

  /** What the kernel reports about the link. */
  info(): LinkInfo {
    return linkInfo(this.#fd.value);
  }

  /** Pins the link at `path` on a bpffs mount, so it outlives this process. */
  pin(path: string): void {
    objPin(this.#fd.value, path);
    this.#pinnedPath = path;
  }

  /** Removes the pin (`path` defaults to the one this object made or was opened from). */
  unpin(path = this.#pinnedPath): void {
    if (path === undefined) throw new AttachError('ATTACH_NOT_PINNED', `link ${this.describe()} is not pinned`);
    try {
      unlinkSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new AttachError('ATTACH_NOT_PINNED', `no pinned link at ${path}`, { cause: e });
      throw e;
    }
    if (path === this.#pinnedPath) this.#pinnedPath = undefined;
  }

  /**
   * Atomically swaps the link's program (BPF_LINK_UPDATE). With `expected`, the
   * kernel refuses (EPERM) unless that program is the one attached now.
   */
  replace(prog: ProgramRef, options: ReplaceOptions = {}): void {
    const expected = options.expected === undefined ? undefined : progFdOf(options.expected);
    linkUpdate(
      {
        link_fd: this.#fd.value,
        new_prog_fd: progFdOf(prog),
        flags: expected === undefined ? 0 : AttachFlag.REPLACE,
        old_prog_fd: expected ?? 0,
      },
      { subject: `replacing the program of ${this.describe()}` },
    );
  }

  /**
   * Detaches the program now (BPF_LINK_DETACH), even if other fds or pins refer to
   * the link, removes the pin this object made, and closes the fd.
   */
  detach(): void {
    try {
      linkDetach(this.#fd.value, { subject: `detaching ${this.describe()}` });
    } catch (e) {
      // Old kernels lack LINK_DETACH for some link types: closing the last reference detaches too.
      if (!(e instanceof BpfError && (e.errno === 'EOPNOTSUPP' || e.errno === 'ENOTSUPP' || e.errno === 'EINVAL'))) throw e;
    }
    if (this.#pinnedPath !== undefined) {
      try {
        unlinkSync(this.#pinnedPath);
      } catch {
        // Someone else removed it already; nothing is left either way.
      }
      this.#pinnedPath = undefined;
    }
    this.close();
  }

  /** Closes this fd. An unpinned link with no other fds is detached by the kernel. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `hook on target (link id N)` for messages. */
  describe(): string {
    let id = '';
    try {
      if (!this.#fd.closed) id = ` (link id ${this.id})`;
    } catch {
      // Describing must never throw.
    }
    return `${this.hook || 'link'} on ${this.target}${id}`;
  }

  summary(): AttachmentSummary {
    const info = this.info();
    return {
      mechanism: 'link',
      hook: this.hook,
      target: this.target,
      progId: info.progId,
      linkId: info.id,
      ...(this.#pinnedPath !== undefined ? { pinnedPath: this.#pinnedPath } : {}),
      details: { linkType: info.type, ...(info.attachType ? { attachType: info.attachType } : {}), ...(info.ifindex !== undefined ? { ifindex: info.ifindex } : {}) },
    };
  }
}

/**
 * Force-detaches every link in the system that holds program `progId` and that
 * `match` accepts (for callers that did not create the link, e.g. `tsbpf detach`).
 * Returns how many were detached.
 */
export function detachLinksOf(progId: number, match: (info: LinkInfo) => boolean): number {
  let n = 0;
  for (const id of allIds('link')) {
    let link: BpfLink;
    try {
      link = BpfLink.fromId(id);
    } catch {
      continue; // freed meanwhile
    }
    try {
      const info = link.info();
      if (info.progId === progId && match(info)) {
        link.detach();
        n++;
      }
    } finally {
      link.close();
    }
  }
  return n;
}
