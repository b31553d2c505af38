/**
 * A loaded BPF program: BPF_PROG_LOAD with the log discipline libbpf uses (no
 * log first; on failure reload with a log that grows until it fits), verifier
 * errors mapped to source lines, BPF_PROG_TEST_RUN, pinning, info.
 */
import { rmSync } from 'node:fs';
import type { SourceLocation } from '../../dsl/isa/instruction.js';
import { BpfError, LoaderError, VerifierError, type SourceLine } from '../errors.js';
import { kernelObjectName } from '../maps/map.js';
import { getFdById, objGet, objPin, progLoad, progLoadLogTrueSize, progTestRun, type ProgLoadInput } from '../sys/bpf.js';
import { AttachType, Cmd, ProgType, attachTypeName, progTypeName, type AttachTypeName, type ProgTypeName } from '../sys/constants.js';
import { errnoName } from '../sys/errno.js';
import { Fd } from '../sys/fd.js';
import { bpfObjectKind } from '../sys/fdinfo.js';
import { progInfo, type ProgInfo } from '../sys/info.js';
import { cString } from '../sys/layout.js';
import { FUNC_INFO_SIZE, LINE_INFO_SIZE, encodeFuncInfo, encodeLineInfo, sourceOfInsn } from './line-info.js';
import { resolveInstructions } from './resolve.js';
import { sectionDef, type SectionDef } from '../../dsl/kernel/sections.js';
import type { LoadOptions, ProgramSpec } from './spec.js';
import { parseVerifierLog, type VerifierLogSummary } from './verifier-log.js';

const DEFAULT_LOG = 1 << 16;
const DEFAULT_MAX_LOG = 1 << 26;
const utf8 = new TextEncoder();

/** Input of `Program.run` (BPF_PROG_TEST_RUN). */
export interface RunOptions {
  /** Packet (or other input data) the program sees. */
  readonly data?: Uint8Array;
  /** Context struct passed in (`__sk_buff`, `xdp_md`, … — type dependent). */
  readonly ctx?: Uint8Array;
  /** Run this many times (duration is the average). Default 1. */
  readonly repeat?: number;
  /** Bytes to allow for data coming out (default: input length + 512). */
  readonly dataSizeOut?: number;
  /** Bytes to allow for the context coming out (default: input ctx length). */
  readonly ctxSizeOut?: number;
  /** TestRunFlag bits. */
  readonly flags?: number;
  /** CPU to run on (with TestRunFlag.RUN_ON_CPU). */
  readonly cpu?: number;
}

/** Result of `Program.run`. */
export interface RunResult {
  /** The program's return value (r0, truncated to u32 by the kernel). */
  readonly retval: number;
  /** Data as the program left it (it may have grown or shrunk). */
  readonly data: Uint8Array;
  /** Context as the program left it, if one was passed. */
  readonly ctx: Uint8Array | undefined;
  /** Average run time in nanoseconds. */
  readonly duration: number;
}

/** Options for opening an existing program. */
export interface ProgramOpenOptions {
  /** Name for messages (defaults to the kernel's). */
  readonly name?: string;
}

function cstr(s: string): Uint8Array {
  const b = utf8.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** A loaded program. */
export class Program implements Disposable {
  readonly #fd: Fd;
  /** Program type name. */
  readonly type: ProgTypeName;
  /** Name given at load (full) or reported by the kernel. */
  readonly name: string;
  /** Expected attach type given at load, if any. */
  readonly expectedAttachType: AttachTypeName | undefined;
  /** Instruction slots loaded (unknown, 0, for opened programs). */
  readonly insnCount: number;
  /** The verifier log, when a log level was asked for at load (empty otherwise). */
  readonly verifierLog: string;
  /** Parsed summary of `verifierLog` (processed instructions…), when there is one. */
  readonly verifierStats: VerifierLogSummary | undefined;
  #pinnedAt: string | undefined;

  private constructor(fd: Fd, meta: { type: ProgTypeName; name: string; expectedAttachType?: AttachTypeName; insnCount: number; log?: string }) {
    this.#fd = fd;
    this.type = meta.type;
    this.name = meta.name;
    this.expectedAttachType = meta.expectedAttachType;
    this.insnCount = meta.insnCount;
    this.verifierLog = meta.log ?? '';
    this.verifierStats = meta.log ? parseVerifierLog(meta.log) : undefined;
  }

  /**
   * Loads a program (BPF_PROG_LOAD). Without `logLevel`, loads with no log and
   * only on failure reloads with level 1 to explain it: a `VerifierError` with
   * the log, failing instruction and its source line; a `BpfError` for refusals
   * that are not the verifier's (e.g. EPERM).
   */
  static load(spec: ProgramSpec, opts: LoadOptions = {}): Program {
    refuseLoadTimeFields(spec);
    const name = spec.name ?? '';
    const { type, expectedAttachType } = loadTypes(spec);
    const typeId = ProgType[type];
    if (typeId === undefined) throw new LoaderError('LOADER_PROG_TYPE', `program "${name}": unknown program type '${String(type)}'`);
    const eat = expectedAttachType === undefined ? undefined : typeof expectedAttachType === 'number' ? expectedAttachType : AttachType[expectedAttachType];
    if (expectedAttachType !== undefined && eat === undefined) throw new LoaderError('LOADER_ATTACH_TYPE', `program "${name}": unknown attach type '${String(expectedAttachType)}'`);

    let bytes: Uint8Array;
    let sources: ReadonlyMap<number, SourceLocation> = new Map();
    const instructions = spec.instructions ?? [];
    if (opts.bytes !== undefined) {
      if (instructions.length) throw new LoaderError('LOADER_INSNS', `program "${name}": give either spec.instructions or options.bytes, not both`);
      if (opts.bytes.length === 0 || opts.bytes.length % 8) throw new LoaderError('LOADER_INSNS', `program "${name}": instruction bytes must be a non-empty multiple of 8, got ${opts.bytes.length}`);
      bytes = opts.bytes;
    } else {
      if (instructions.length === 0) throw new LoaderError('LOADER_INSNS', `program "${name}" has no instructions`);
      ({ bytes, sources } = resolveInstructions(instructions, opts));
    }
    if ((opts.funcInfo || opts.lineInfo) && !opts.btf) throw new LoaderError('LOADER_BTF', `program "${name}": func_info/line_info need options.btf`);
    const funcInfo = opts.funcInfo ? encodeFuncInfo(opts.funcInfo) : undefined;
    const lineInfo = opts.lineInfo ? encodeLineInfo(opts.lineInfo, opts.btf) : undefined;
    const license = cstr(opts.license ?? 'GPL');
    const fdArray = opts.fdArray?.length ? new Uint8Array(new Uint32Array(opts.fdArray.map((m) => m.fd)).buffer) : undefined;

    const base: ProgLoadInput = {
      prog_type: typeId,
      insn_cnt: bytes.length / 8,
      insns: bytes,
      license,
      prog_flags: opts.flags ?? 0,
      prog_name: kernelObjectName(name, 'program'),
      expected_attach_type: eat ?? 0,
      prog_btf_fd: opts.btf?.fd ?? 0,
      func_info_rec_size: funcInfo?.length ? FUNC_INFO_SIZE : 0,
      func_info: funcInfo?.length ? funcInfo : null,
      func_info_cnt: (funcInfo?.length ?? 0) / FUNC_INFO_SIZE,
      line_info_rec_size: lineInfo?.length ? LINE_INFO_SIZE : 0,
      line_info: lineInfo?.length ? lineInfo : null,
      line_info_cnt: (lineInfo?.length ?? 0) / LINE_INFO_SIZE,
      attach_btf_id: opts.attachBtfId ?? 0,
      attach_prog_fd: opts.attachProgFd ?? 0,
      kern_version: opts.kernVersion ?? 0,
      fd_array: fdArray ?? null,
    };
    const meta = { type, name, insnCount: bytes.length / 8, ...(eat !== undefined ? { expectedAttachType: attachTypeName(eat) as AttachTypeName } : {}) };

    if (opts.logLevel === undefined) {
      const r = progLoad(base);
      if (r.ok) return new Program(new Fd(r.ret, `program "${name}"`), meta);
      const errno = errnoName(r.errno);
      // Refusals the verifier has nothing to say about. EFAULT is not one: the
      // verifier returns it for its own limits ("The sequence of N jumps is too
      // complex", internal state errors), so the reload below fetches the log; an
      // EFAULT with an empty log stays a BpfError.
      if (errno === 'EPERM' || errno === 'ENOMEM' || errno === 'EBADF')
        throw new BpfError(Cmd.PROG_LOAD, r.errno, { subject: `loading program "${name}" (${type})` });
    }

    // Load with a log, growing it until the kernel's log fits.
    const level = opts.logLevel ?? 1;
    const maxLog = opts.maxLogSize ?? DEFAULT_MAX_LOG;
    let size = Math.max(64, opts.logSize ?? DEFAULT_LOG);
    for (;;) {
      const buf = new Uint8Array(size);
      const r = progLoad({ ...base, log_level: level, log_size: size, log_buf: buf });
      const trueSize = progLoadLogTrueSize(r.attr);
      const log = cString(buf);
      if (r.ok) return new Program(new Fd(r.ret, `program "${name}"`), { ...meta, log });
      const errno = errnoName(r.errno);
      // ENOSPC: the log did not fit (the kernel reports that even for a valid program).
      const truncated = errno === 'ENOSPC' && (trueSize > size || (trueSize === 0 && log.length >= size - 1));
      if (truncated && size < maxLog) {
        size = Math.min(maxLog, trueSize > size ? trueSize : size * 4);
        continue;
      }
      if (!log.trim()) throw new BpfError(Cmd.PROG_LOAD, r.errno, { subject: `loading program "${name}" (${type})` });
      const summary = parseVerifierLog(log);
      const source = summary.insnIndex === undefined ? undefined : sourceFor(summary.insnIndex, opts, sources);
      throw new VerifierError(r.errno, {
        log,
        reason: summary.reason || `load failed with ${errno}`,
        truncated,
        programName: name,
        ...(summary.insnIndex !== undefined ? { insnIndex: summary.insnIndex } : {}),
        ...(source ? { source } : {}),
      });
    }
  }

  /** Wraps an owned program fd (takes ownership). */
  static fromFd(fd: Fd, opts: ProgramOpenOptions = {}): Program {
    try {
      const kind = bpfObjectKind(fd.value);
      if (kind !== 'prog') throw new LoaderError('LOADER_NOT_A_PROGRAM', `${fd.what} is a ${kind === 'unknown' ? 'non-BPF object' : kind}, not a program`);
      const info = progInfo(fd.value);
      return new Program(fd, { type: progTypeName(info.type) as ProgTypeName, name: opts.name ?? info.name, insnCount: info.xlatedSize / 8 });
    } catch (e) {
      fd.close();
      throw e;
    }
  }

  /** Opens a pinned program (BPF_OBJ_GET). */
  static fromPin(path: string, opts: ProgramOpenOptions = {}): Program {
    const p = Program.fromFd(new Fd(objGet(path), `program pinned at ${path}`), opts);
    p.#pinnedAt = path;
    return p;
  }

  /** Opens a program by kernel id. */
  static fromId(id: number, opts: ProgramOpenOptions = {}): Program {
    return Program.fromFd(new Fd(getFdById('prog', id), `program id ${id}`), opts);
  }

  /** The fd number (throws once closed). */
  get fd(): number {
    return this.#fd.value;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#fd.closed;
  }

  /** The path this program was pinned at or opened from, if any. */
  get pinnedPath(): string | undefined {
    return this.#pinnedAt;
  }

  /** What the kernel reports (id, tag, sizes, verified instructions, map ids…). */
  info(opts: { xlated?: boolean } = {}): ProgInfo & { xlated?: Uint8Array } {
    return progInfo(this.fd, opts);
  }

  /**
   * Runs the program once (or `repeat` times) on `data`/`ctx` in the kernel
   * (BPF_PROG_TEST_RUN). If the output outgrows the buffer, it is run again
   * with the size the kernel asked for.
   */
  run(opts: RunOptions = {}): RunResult {
    let dataOut = opts.data ? Math.max(opts.dataSizeOut ?? opts.data.length + 512, 1) : 0;
    let ctxOut = opts.ctx ? Math.max(opts.ctxSizeOut ?? opts.ctx.length, 1) : 0;
    for (let attempt = 0; ; attempt++) {
      const dataBuf = opts.data ? new Uint8Array(dataOut) : undefined;
      const ctxBuf = opts.ctx ? new Uint8Array(ctxOut) : undefined;
      const r = progTestRun({
        prog_fd: this.fd,
        data_in: opts.data ?? null,
        data_size_in: opts.data?.length ?? 0,
        data_out: dataBuf ?? null,
        data_size_out: dataBuf?.length ?? 0,
        ctx_in: opts.ctx ?? null,
        ctx_size_in: opts.ctx?.length ?? 0,
        ctx_out: ctxBuf ?? null,
        ctx_size_out: ctxBuf?.length ?? 0,
        repeat: opts.repeat ?? 0,
        flags: opts.flags ?? 0,
        cpu: opts.cpu ?? 0,
      });
      if (!r.ok) {
        const grow = errnoName(r.errno) === 'ENOSPC' && attempt === 0 && (r.dataSizeOut > dataOut || r.ctxSizeOut > ctxOut);
        if (grow) {
          dataOut = Math.max(dataOut, r.dataSizeOut);
          ctxOut = Math.max(ctxOut, r.ctxSizeOut);
          continue;
        }
        throw new BpfError(Cmd.PROG_TEST_RUN, r.errno, { subject: `running program "${this.name}" (${this.type})` });
      }
      return {
        retval: r.retval,
        data: dataBuf ? dataBuf.slice(0, Math.min(r.dataSizeOut, dataBuf.length)) : new Uint8Array(0),
        ctx: ctxBuf ? ctxBuf.slice(0, Math.min(r.ctxSizeOut, ctxBuf.length)) : undefined,
        duration: r.duration,
      };
    }
  }

  /** Pins the program at a bpffs path. */
  pin(path: string): this {
    objPin(this.fd, path);
    this.#pinnedAt = path;
    return this;
  }

  /** Removes the pin (default: where it was pinned/opened from); the program stays loaded while referenced. */
  unpin(path = this.#pinnedAt): void {
    if (!path) throw new LoaderError('LOADER_NOT_PINNED', `program "${this.name}" is not pinned`);
    rmSync(path, { force: true });
    if (path === this.#pinnedAt) this.#pinnedAt = undefined;
  }

  /** Closes the fd (idempotent). Pins, links and prog arrays keep the program alive. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `Program("${this.name}" ${this.type}, fd ${this.#fd.closed ? 'closed' : this.#fd.value})`;
  }
}

function sourceFor(insnIndex: number, opts: LoadOptions, sources: ReadonlyMap<number, SourceLocation>): SourceLine | undefined {
  const fromLineInfo = sourceOfInsn(insnIndex, opts.lineInfo, opts.btf?.fd);
  if (fromLineInfo) return fromLineInfo;
  const s = sources.get(insnIndex);
  return s && { file: s.file, line: s.line, column: s.column, ...(s.text !== undefined ? { text: s.text } : {}) };
}

/**
 * Program type and expected attach type: the spec's explicit ones, else the
 * section's (dsl/kernel `sectionDef`). The section's attach type is given at load
 * only where BPF_PROG_LOAD takes one (`expectedAttach` not 'none'), and only when
 * the program is of the section's type.
 */
function loadTypes(spec: ProgramSpec): { type: ProgTypeName; expectedAttachType: AttachTypeName | number | undefined } {
  let def: SectionDef | undefined;
  try {
    def = sectionDef(spec.section);
  } catch (e) {
    if (spec.type === undefined)
      throw new LoaderError('LOADER_SECTION', `program "${spec.name ?? ''}": ${(e as Error).message}; or give the program type as spec.type`, { cause: e });
  }
  const type = spec.type ?? def!.progType;
  const fromSection = def && def.progType === type && def.expectedAttach !== 'none' ? def.attachType : undefined;
  return { type, expectedAttachType: spec.expectedAttachType ?? fromSection };
}

/**
 * Fields of the former loader spec are refused (not silently ignored), each
 * with where it went.
 */
function refuseLoadTimeFields(spec: ProgramSpec): void {
  const moved: Record<string, string> = {
    insns: "give instructions: Instruction[] (raw bytes go in options.bytes)",
    license: 'pass it as options.license',
    btf: 'pass it as options.btf',
    funcInfo: 'pass it as options.funcInfo',
    lineInfo: 'pass it as options.lineInfo',
    flags: 'pass it as options.flags',
    attachBtfId: 'pass it as options.attachBtfId',
    attachProgFd: 'pass it as options.attachProgFd',
    kernVersion: 'pass it as options.kernVersion',
  };
  for (const [field, hint] of Object.entries(moved))
    if (field in spec) throw new LoaderError('LOADER_SPEC', `program "${spec.name ?? ''}": '${field}' is not a program spec field; ${hint}`);
  if (typeof spec.section !== 'string') throw new LoaderError('LOADER_SPEC', `program "${spec.name ?? ''}": spec.section (the SEC name, e.g. 'xdp', 'tc', 'socket') is required`);
  if (spec.instructions instanceof Uint8Array) throw new LoaderError('LOADER_SPEC', `program "${spec.name ?? ''}": raw instruction bytes go in options.bytes`);
}
