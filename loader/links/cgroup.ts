/**
 * Attaching to cgroups: through a BPF link (BPF_LINK_CREATE, kernel 5.7+) or the
 * older BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI, which stays attached until it is
 * explicitly detached. `mode: 'auto'` tries the link first.
 */
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { BpfError } from '../errors.js';
import { linkCreate, progAttach, progDetach, progQuery, type ProgQueryResult } from '../sys/bpf.js';
import { AttachFlag } from '../sys/constants.js';
import { Fd } from '../sys/fd.js';
import type { Attachment, AttachmentSummary, ReplaceOptions } from './attachment.js';
import { AttachError } from './errors.js';
import { attachTypeOf, cgroupHook, type CgroupHookName, type HookSpec } from './hooks.js';
import { BpfLink, detachLinksOf } from './link.js';
import { openProgById, progFdOf, progIdOf, type ProgramRef } from './program-ref.js';

/** How to attach to a cgroup. */
export type CgroupAttachMode = 'auto' | 'link' | 'legacy';

/** Options of `attachCgroup`. */
export interface CgroupAttachOptions {
  /** Hook name: `connect4`, `cgroup/sendmsg6`, `cgroup_skb/ingress`, … */
  readonly hook: CgroupHookName | string;
  /** The cgroup v2 directory, e.g. `/sys/fs/cgroup/unified/my.slice`. */
  readonly cgroup: string;
  /** `auto` (default): link, falling back to legacy when links are unsupported. */
  readonly mode?: CgroupAttachMode;
}

/** Opens a cgroup directory for bpf() (an O_RDONLY|O_DIRECTORY fd). */
export function openCgroup(path: string): Fd {
  try {
    return new Fd(openSync(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY), `cgroup ${path}`);
  } catch (e) {
    throw new AttachError('ATTACH_BAD_CGROUP', `cannot open cgroup directory ${path}: ${(e as Error).message}`, { cause: e });
  }
}

function linkUnsupported(e: unknown): boolean {
  // EINVAL: kernel without cgroup links; ENOTSUPP/EOPNOTSUPP: no LINK_CREATE at all.
  return e instanceof BpfError && (e.errno === 'EINVAL' || e.errno === 'ENOTSUPP' || e.errno === 'EOPNOTSUPP');
}

/** Attaches `prog` to a cgroup hook; returns a `BpfLink` or a `CgroupLegacyAttachment`. */
export function attachCgroup(prog: ProgramRef, options: CgroupAttachOptions): BpfLink | CgroupLegacyAttachment {
  const spec = cgroupHook(options.hook);
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'link' && mode !== 'legacy') {
    throw new AttachError('ATTACH_BAD_MODE', `cgroup attach mode must be auto, link or legacy; got ${JSON.stringify(mode)}`);
  }
  const progFd = progFdOf(prog);
  const cgroup = openCgroup(options.cgroup);
  try {
    if (mode !== 'legacy') {
      try {
        const fd = linkCreate(
          { prog_fd: progFd, target_fd: cgroup.value, attach_type: attachTypeOf(spec) },
          { subject: `attaching ${spec.name} to ${options.cgroup}` },
        );
        return new BpfLink(new Fd(fd, `${spec.name} link`), spec.name, options.cgroup);
      } catch (e) {
        if (mode === 'link' || !linkUnsupported(e)) throw e;
      }
    }
    progAttach(
      { target_fd: cgroup.value, attach_bpf_fd: progFd, attach_type: attachTypeOf(spec), attach_flags: AttachFlag.ALLOW_MULTI },
      { subject: `attaching ${spec.name} to ${options.cgroup} (BPF_F_ALLOW_MULTI)` },
    );
    return new CgroupLegacyAttachment(spec, options.cgroup, progIdOf(progFd));
  } finally {
    cgroup.close();
  }
}

/**
 * A program attached with BPF_PROG_ATTACH. The kernel holds it until detached,
 * whatever happens to this process; this object remembers the program by id so
 * it can detach even after the caller closed its program fd.
 */
export class CgroupLegacyAttachment implements Attachment {
  readonly mechanism = 'legacy' as const;
  readonly hook: string;
  readonly target: string;
  readonly #spec: HookSpec;
  #progId: number;
  #detached = false;

  constructor(spec: HookSpec, cgroupPath: string, progId: number) {
    this.#spec = spec;
    this.hook = spec.name;
    this.target = cgroupPath;
    this.#progId = progId;
  }

  get progId(): number {
    return this.#progId;
  }

  /** Atomically swaps the program (BPF_F_REPLACE naming the one attached now). */
  replace(prog: ProgramRef, options: ReplaceOptions = {}): void {
    this.#live();
    if (options.expected !== undefined && progIdOf(options.expected) !== this.#progId) {
      throw new AttachError('ATTACH_UNEXPECTED_PROGRAM', `${this.hook} on ${this.target}: program id ${this.#progId} is attached, not the expected one`);
    }
    const newId = progIdOf(prog);
    using old = openProgById(this.#progId);
    using cgroup = openCgroup(this.target);
    progAttach(
      {
        target_fd: cgroup.value,
        attach_bpf_fd: progFdOf(prog),
        attach_type: attachTypeOf(this.#spec),
        attach_flags: AttachFlag.ALLOW_MULTI | AttachFlag.REPLACE,
        replace_bpf_fd: old.value,
      },
      { subject: `replacing program id ${this.#progId} at ${this.hook} on ${this.target}` },
    );
    this.#progId = newId;
  }

  /** BPF_PROG_DETACH of exactly this program (others at the hook stay). */
  detach(): void {
    if (this.#detached) return;
    using prog = openProgById(this.#progId);
    using cgroup = openCgroup(this.target);
    progDetach(
      { target_fd: cgroup.value, attach_bpf_fd: prog.value, attach_type: attachTypeOf(this.#spec) },
      { subject: `detaching program id ${this.#progId} from ${this.hook} on ${this.target}` },
    );
    this.#detached = true;
  }

  /** Holds no fds: nothing to release. The program stays attached. */
  close(): void {}

  [Symbol.dispose](): void {
    this.detach();
  }

  summary(): AttachmentSummary {
    return { mechanism: 'legacy', hook: this.hook, target: this.target, progId: this.#progId, details: { attachType: this.#spec.attachType } };
  }

  #live(): void {
    if (this.#detached) throw new AttachError('ATTACH_DETACHED', `${this.hook} on ${this.target} was already detached`);
  }
}

/** Programs attached at a cgroup hook (BPF_PROG_QUERY); `effective` includes inherited ones. */
export function queryCgroup(cgroupPath: string, hook: CgroupHookName | string, options: { effective?: boolean } = {}): ProgQueryResult {
  const spec = cgroupHook(hook);
  const fd = openSync(cgroupPath, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    return progQuery(fd, attachTypeOf(spec), options.effective ? 1 : 0, { subject: `querying ${spec.name} on ${cgroupPath}` });
  } finally {
    closeSync(fd);
  }
}

/**
 * Detaches by kernel ids, for callers that did not create the attachment (CLI
 * `detach`): every link or legacy attachment of program `progId` at the hook.
 * Returns how many were removed.
 */
export function detachCgroupProgram(cgroupPath: string, hook: CgroupHookName | string, progId: number): number {
  const spec = cgroupHook(hook);
  const before = queryCgroup(cgroupPath, hook);
  if (!before.progIds.includes(progId)) return 0;
  using prog = openProgById(progId);
  using cgroup = openCgroup(cgroupPath);
  try {
    progDetach({ target_fd: cgroup.value, attach_bpf_fd: prog.value, attach_type: attachTypeOf(spec) });
    return 1;
  } catch (e) {
    // A link-held program cannot be PROG_DETACHed; find and detach its link instead.
    if (!(e instanceof BpfError)) throw e;
    return detachLinksOf(progId, (info) => info.type === 'CGROUP' && info.attachType === spec.attachType);
  }
}
