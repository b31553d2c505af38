/**
 * Errors the loader throws. `BpfError` is a failed bpf(2) call: the command, the
 * errno name and a message a person can act on. `VerifierError` is a program the
 * verifier rejected, with its log mapped back to source lines. `LoaderError` is
 * misuse caught before any syscall (wrong key length, closed object…).
 */
import { dirname } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { TsbpfError } from '../dsl/errors.js';
import { errnoName } from './sys/errno.js';
import { cmdName } from './sys/constants.js';
import { filesystemOf, isOnBpffs } from './sys/bpffs.js';

/** Extra facts that make a bpf() failure message specific. */
export interface BpfErrorContext {
  /** The bpffs path involved (pin/get). */
  readonly path?: string;
  /** What was being done, e.g. `creating map "conntrack" (lru_hash)`. */
  readonly subject?: string;
}

const systemErrors = getSystemErrorMap();

function describeErrno(errno: number): string {
  return systemErrors.get(-errno)?.[1] ?? (errno === 524 ? 'operation not supported by this kernel object' : 'unknown error');
}

function hint(command: string, errno: string, ctx: BpfErrorContext): string {
  const isPath = command === 'BPF_OBJ_GET' || command === 'BPF_OBJ_PIN';
  switch (errno) {
    case 'EPERM':
      if (command === 'BPF_OBJ_PIN' && ctx.path && !isOnBpffs(dirname(ctx.path)))
        return `${dirname(ctx.path)} is not on a BPF filesystem (${filesystemOf(dirname(ctx.path)).name}): pins can only live on bpffs (mount -t bpf bpf DIR)`;
      if (process.getuid?.() === 0)
        return 'refused even though this process runs as root: a capability (CAP_BPF, CAP_SYS_ADMIN, CAP_NET_ADMIN) is missing in this user namespace or container, or kernel lockdown or an LSM policy forbids it; on kernels before 5.11 RLIMIT_MEMLOCK may be too low';
      return 'the caller lacks privilege: run as root or grant CAP_BPF (plus CAP_NET_ADMIN for networking programs and attach, CAP_PERFMON for tracing); on kernels before 5.11 also raise RLIMIT_MEMLOCK';
    case 'EACCES':
      return isPath
        ? `permission denied on ${ctx.path ?? 'the pinned path'} (file mode, or the object was pinned read-only)`
        : 'access denied: run as root or grant CAP_BPF/CAP_NET_ADMIN, or the object was opened read-only';
    case 'E2BIG':
      if (command.startsWith('BPF_MAP_UPDATE')) return 'the map is full (max_entries reached; delete entries or create it larger), or an array index is beyond max_entries';
      return 'a size or count is beyond what the kernel allows (program longer than the instruction limit, key/value/entries too large, array index out of range), or the request sets fields this older kernel does not know';
    case 'ENOSPC':
      return command.startsWith('BPF_MAP_')
        ? 'the map is full (max_entries reached); delete entries or create it larger'
        : 'an output buffer was too small (verifier log, test_run data/ctx out); retry with a larger one';
    case 'ENOENT':
      if (isPath) return `no pinned object at ${ctx.path ?? '(path)'}: check the path, and that bpffs is mounted there (mount -t bpf bpf /sys/fs/bpf)`;
      if (command.startsWith('BPF_MAP_')) return 'no such key in the map';
      if (command.endsWith('_GET_FD_BY_ID')) return 'no object with that id (it was freed)';
      if (command.endsWith('_GET_NEXT_ID')) return 'no more objects';
      return 'not found';
    case 'EEXIST':
      if (isPath) return `${ctx.path ?? 'the path'} already exists: unpin (rm) it first or choose another name`;
      return 'the key already exists (update with NOEXIST)';
    case 'EBADF':
      return 'bad file descriptor: the object was closed, or the fd does not refer to a BPF object of the expected kind';
    case 'EINVAL':
      return 'the kernel rejected an argument: a flag, size or type that is wrong for this object (or unsupported by this kernel)';
    case 'ENOTSUPP':
    case 'EOPNOTSUPP':
      return 'this operation is not supported for this object type on this kernel';
    case 'ENOMEM':
      return 'the kernel could not allocate memory for the object (too many entries, or memlock/cgroup memory limit)';
    case 'EFAULT':
      return command === 'BPF_PROG_LOAD'
        ? 'the kernel refused the program without a verifier log (an unreadable instruction, BTF or line-info buffer)'
        : 'the kernel could not read or write a buffer (a bug in tsbpf: please report)';
    case 'EBUSY':
      return 'the target is busy (already attached, or an exclusive attachment exists)';
    case 'EAGAIN':
      return 'temporary failure; retrying may succeed';
    default:
      return '';
  }
}

/** A bpf(2) call that failed. */
export class BpfError extends TsbpfError {
  /** The command name, `BPF_MAP_CREATE`. */
  readonly command: string;
  /** errno name, `EPERM`. */
  readonly errno: string;
  /** errno number. */
  readonly errnoNumber: number;
  /** The bpffs path involved, if any. */
  readonly path: string | undefined;

  constructor(command: number | string, errno: number, ctx: BpfErrorContext = {}, message?: string, code?: string) {
    const cmd = typeof command === 'number' ? cmdName(command) : command;
    const name = errnoName(errno);
    const h = hint(cmd, name, ctx);
    const what = ctx.subject ? ` (${ctx.subject})` : '';
    super(code ?? `BPF_${name}`, message ?? `${cmd}${what} failed: ${name} (${describeErrno(errno)})${h ? `: ${h}` : ''}`);
    this.command = cmd;
    this.errno = name;
    this.errnoNumber = errno;
    this.path = ctx.path;
  }
}

/** Where in the user's source an instruction came from (what line_info or meta.source said). */
export interface SourceLine {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly text?: string;
}

/** The verifier rejected a program. */
export class VerifierError extends BpfError {
  /** The full verifier log (level 1, or whatever level was asked for). */
  readonly log: string;
  /** Index of the instruction the verifier stopped at, if the log names one. */
  readonly insnIndex: number | undefined;
  /** The verifier's own error line (last meaningful line of the log). */
  readonly reason: string;
  /** Source line of the failing instruction, from line info or instruction metadata. */
  readonly source: SourceLine | undefined;
  /** Whether the kernel truncated the log (only if growing it hit the maximum). */
  readonly truncated: boolean;

  constructor(
    errno: number,
    init: { log: string; insnIndex?: number; reason: string; source?: SourceLine; truncated?: boolean; programName?: string },
  ) {
    const where = init.insnIndex !== undefined ? ` at instruction ${init.insnIndex}` : '';
    const src = init.source ? ` (${init.source.file}:${init.source.line}:${init.source.column}${init.source.text ? `: ${init.source.text.trim()}` : ''})` : '';
    const prog = init.programName ? ` program "${init.programName}"` : ' program';
    const msg = `verifier rejected${prog}${where}${src}: ${init.reason} [${errnoName(errno)}]`;
    super('BPF_PROG_LOAD', errno, {}, msg, 'BPF_VERIFIER');
    this.log = init.log;
    this.insnIndex = init.insnIndex;
    this.reason = init.reason;
    this.source = init.source;
    this.truncated = init.truncated ?? false;
  }
}

/** Misuse of the loader API, caught before any syscall. */
export class LoaderError extends TsbpfError {}
