/**
 * The probe's own bpf() call sites: one reusable `union bpf_attr` buffer, one
 * reusable verifier-log buffer, fixed offsets. The prober issues thousands of
 * BPF_PROG_LOADs, so nothing here allocates per call except the result of the
 * syscall wrapper. The syscall itself goes through loader/sys (the one module
 * that talks to libc).
 *
 * Offsets come from loader/sys's attr layouts; fields a command does not use
 * stay zero, as the kernel requires for its unknown tail.
 */
import { addressOf, bpfSyscall, closeFd } from '../sys/ffi.js';
import { Cmd } from '../sys/constants.js';
import { lastLogLine, logLineAt } from './log-lines.js';
import { BtfLoadAttr, LinkCreateAttr, MapCreateAttr, ProgAttachAttr, ProgLoadAttr } from '../sys/attr.js';

const off = <N extends string>(l: { offsets: Readonly<Record<string, number>>; size: number }, names: readonly N[]) => {
  const out = { size: l.size } as Record<N | 'size', number>;
  for (const n of names) out[n] = l.offsets[n]!;
  return out;
};

/** BPF_PROG_LOAD attr offsets (from loader/sys's layout). 144 = up to log_true_size (6.4). */
const PL = {
  ...off(ProgLoadAttr, [
    'prog_type', 'insn_cnt', 'insns', 'license', 'log_level', 'log_size', 'log_buf', 'kern_version', 'prog_flags',
    'expected_attach_type', 'prog_btf_fd', 'func_info_rec_size', 'func_info', 'func_info_cnt', 'line_info_rec_size',
    'line_info', 'line_info_cnt', 'attach_btf_id', 'attach_prog_fd', 'log_true_size',
  ] as const),
  size: ProgLoadAttr.offsets.log_true_size! + 4,
};
/** BPF_MAP_CREATE attr offsets. */
const MC = off(MapCreateAttr, [
  'map_type', 'key_size', 'value_size', 'max_entries', 'map_flags', 'inner_map_fd', 'btf_fd', 'btf_key_type_id',
  'btf_value_type_id', 'btf_vmlinux_value_type_id', 'map_extra',
] as const);
/** BPF_BTF_LOAD attr offsets. */
const BL = off(BtfLoadAttr, ['btf', 'btf_log_buf', 'btf_size', 'btf_log_size', 'btf_log_level'] as const);
/** BPF_LINK_CREATE attr offsets (the common head). */
const LC = off(LinkCreateAttr, ['prog_fd', 'target_fd', 'attach_type', 'flags'] as const);
/** BPF_PROG_ATTACH attr offsets. */
const PA = off(ProgAttachAttr, ['target_fd', 'attach_bpf_fd', 'attach_type', 'attach_flags'] as const);

/** Outcome of one syscall: an fd (≥ 0) or the errno. */
export interface RawResult {
  readonly fd: number;
  readonly errno: number;
}

/** Options of one program load. */
export interface ProgLoadOptions {
  readonly type: number;
  /** Encoded instructions. */
  readonly insns: Uint8Array;
  readonly expectedAttachType?: number;
  /** 0 = no log. */
  readonly logLevel?: number;
  readonly progFlags?: number;
  readonly kernVersion?: number;
  readonly btfFd?: number;
  readonly funcInfo?: { readonly recSize: number; readonly data: Uint8Array; readonly count: number };
  readonly lineInfo?: { readonly recSize: number; readonly data: Uint8Array; readonly count: number };
  readonly attachBtfId?: number;
  readonly attachBtfObjFd?: number;
  /** Attr size to pass (default: up to log_true_size, 6.4 layout). Older kernels want less. */
  readonly attrSize?: number;
}

/** Result of a program load with the verifier's log (when one was asked for). */
export interface ProgLoadResult extends RawResult {
  readonly log: string;
  /** `log_true_size` as the kernel wrote it back (0 before 6.4). */
  readonly logTrueSize: number;
}

const LICENSE = new TextEncoder().encode('GPL\0');

/** The license string the prober loads under (NUL-terminated bytes). */
export const PROBE_LICENSE: Uint8Array = LICENSE;

/** Where a helper-probe worker patches pointers and log settings into a {@link progLoadTemplate}. */
export const PROG_LOAD_LAYOUT = {
  size: PL.size,
  insns: PL.insns,
  license: PL.license,
  logLevel: PL.log_level,
  logSize: PL.log_size,
  logBuf: PL.log_buf,
} as const;

/**
 * A BPF_PROG_LOAD attr with every scalar of `o` filled and every pointer (insns,
 * license, log) left zero and the log off: a thread with its own buffers patches
 * those in (at {@link PROG_LOAD_LAYOUT}) and reuses it for a series of loads.
 */
export function progLoadTemplate(o: Omit<ProgLoadOptions, 'logLevel' | 'btfFd' | 'funcInfo' | 'lineInfo'>): Uint8Array {
  const attr = new Uint8Array(PL.size);
  const dv = new DataView(attr.buffer);
  dv.setUint32(PL.prog_type, o.type, true);
  dv.setUint32(PL.insn_cnt, o.insns.byteLength / 8, true);
  dv.setUint32(PL.kern_version, o.kernVersion ?? 0, true);
  dv.setUint32(PL.prog_flags, o.progFlags ?? 0, true);
  dv.setUint32(PL.expected_attach_type, o.expectedAttachType ?? 0, true);
  if (o.attachBtfId !== undefined) dv.setUint32(PL.attach_btf_id, o.attachBtfId, true);
  return attr;
}

/**
 * Reusable buffers for one probing session. Not re-entrant (one syscall thread
 * anyway); every fd it returns is the caller's to close.
 */
export class ProbeSyscalls {
  private readonly attr = new Uint8Array(256);
  private readonly dv = new DataView(this.attr.buffer);
  private logBuf: Buffer = Buffer.alloc(4096);
  private readonly licenseAddr = addressOf(LICENSE);
  /** Count of bpf() calls made, for the benchmark. */
  calls = 0;

  /** Makes the log buffer at least `bytes` long. */
  ensureLog(bytes: number): void {
    if (this.logBuf.byteLength < bytes) this.logBuf = Buffer.alloc(bytes);
  }

  /** Views of the attr buffer by size, so a call allocates no new view. */
  private readonly views = new Map<number, Uint8Array>();

  private view(size: number): Uint8Array {
    let v = this.views.get(size);
    if (!v) this.views.set(size, (v = this.attr.subarray(0, size)));
    return v;
  }

  private call(cmd: number, size: number): RawResult {
    this.calls++;
    const r = bpfSyscall(cmd, this.view(size));
    return r.ret >= 0 ? { fd: r.ret, errno: 0 } : { fd: -1, errno: r.errno };
  }

  /**
   * The hot path of helper probing: re-issues BPF_PROG_LOAD with the attr left by
   * {@link prepareRepeatedLoad} (the caller patches the instruction bytes in
   * place between calls). Returns the fd, or `-errno`. Allocates nothing.
   */
  repeatLoad(): number {
    this.calls++;
    this.logBuf[0] = 0;
    const r = bpfSyscall(Cmd.PROG_LOAD, this.view(PL.size));
    return r.ret >= 0 ? r.ret : -r.errno;
  }

  /** Fills the attr once for a series of {@link repeatLoad} calls (same program buffer, type, log). */
  prepareRepeatedLoad(o: ProgLoadOptions, logBytes: number): void {
    const dv = this.dv;
    this.attr.fill(0, 0, PL.size);
    dv.setUint32(PL.prog_type, o.type, true);
    dv.setUint32(PL.insn_cnt, o.insns.byteLength / 8, true);
    dv.setBigUint64(PL.insns, addressOf(o.insns), true);
    dv.setBigUint64(PL.license, this.licenseAddr, true);
    if (o.logLevel) {
      this.ensureLog(logBytes);
      dv.setUint32(PL.log_level, o.logLevel, true);
      dv.setUint32(PL.log_size, logBytes, true);
      dv.setBigUint64(PL.log_buf, addressOf(this.logBuf), true);
    }
    dv.setUint32(PL.kern_version, o.kernVersion ?? 0, true);
    dv.setUint32(PL.prog_flags, o.progFlags ?? 0, true);
    dv.setUint32(PL.expected_attach_type, o.expectedAttachType ?? 0, true);
    if (o.attachBtfId !== undefined) dv.setUint32(PL.attach_btf_id, o.attachBtfId, true);
  }

  /** Byte offset of `needle` in the current log (up to its NUL), or -1; no decoding. */
  logIndexOf(needle: Uint8Array): number {
    const buf = this.logBuf;
    const at = buf.indexOf(needle);
    if (at < 0) return -1;
    const nul = buf.indexOf(0);
    return nul >= 0 && nul < at ? -1 : at;
  }

  /** The log line around byte `at` (see log-lines.ts). */
  logLineAt(at: number): string {
    return logLineAt(this.logBuf, at);
  }

  /** The last log line that is not the verifier's statistics (see log-lines.ts). */
  lastLogLine(): string {
    return lastLogLine(this.logBuf);
  }

  /** The current log as text (decodes). */
  logText(): string {
    return this.readLog(this.logBuf.byteLength);
  }

  /** BPF_PROG_LOAD. The log, when asked for, is decoded from the shared buffer. */
  progLoad(o: ProgLoadOptions, logBytes = 4096): ProgLoadResult {
    const a = this.attr;
    const dv = this.dv;
    a.fill(0, 0, PL.size);
    dv.setUint32(PL.prog_type, o.type, true);
    dv.setUint32(PL.insn_cnt, o.insns.byteLength / 8, true);
    dv.setBigUint64(PL.insns, addressOf(o.insns), true);
    dv.setBigUint64(PL.license, this.licenseAddr, true);
    const level = o.logLevel ?? 0;
    if (level) {
      this.ensureLog(logBytes);
      this.logBuf[0] = 0;
      dv.setUint32(PL.log_level, level, true);
      dv.setUint32(PL.log_size, logBytes, true);
      dv.setBigUint64(PL.log_buf, addressOf(this.logBuf), true);
    }
    dv.setUint32(PL.kern_version, o.kernVersion ?? 0, true);
    dv.setUint32(PL.prog_flags, o.progFlags ?? 0, true);
    dv.setUint32(PL.expected_attach_type, o.expectedAttachType ?? 0, true);
    if (o.btfFd !== undefined) dv.setUint32(PL.prog_btf_fd, o.btfFd, true);
    if (o.funcInfo) {
      dv.setUint32(PL.func_info_rec_size, o.funcInfo.recSize, true);
      dv.setBigUint64(PL.func_info, addressOf(o.funcInfo.data), true);
      dv.setUint32(PL.func_info_cnt, o.funcInfo.count, true);
    }
    if (o.lineInfo) {
      dv.setUint32(PL.line_info_rec_size, o.lineInfo.recSize, true);
      dv.setBigUint64(PL.line_info, addressOf(o.lineInfo.data), true);
      dv.setUint32(PL.line_info_cnt, o.lineInfo.count, true);
    }
    if (o.attachBtfId !== undefined) dv.setUint32(PL.attach_btf_id, o.attachBtfId, true);
    if (o.attachBtfObjFd !== undefined) dv.setUint32(PL.attach_prog_fd, o.attachBtfObjFd, true);
    const r = this.call(Cmd.PROG_LOAD, o.attrSize ?? PL.size);
    const logTrueSize = dv.getUint32(PL.log_true_size, true);
    return { ...r, log: level ? this.readLog(logBytes) : '', logTrueSize };
  }

  /** The NUL-terminated log text the kernel left in the shared buffer. */
  private readLog(limit: number): string {
    const end = this.logBuf.indexOf(0);
    return new TextDecoder().decode(this.logBuf.subarray(0, end < 0 ? limit : Math.min(end, limit)));
  }

  /** BPF_MAP_CREATE. */
  mapCreate(o: {
    type: number;
    keySize: number;
    valueSize: number;
    maxEntries: number;
    flags?: number;
    innerMapFd?: number;
    btfFd?: number;
    btfKeyTypeId?: number;
    btfValueTypeId?: number;
    mapExtra?: bigint;
  }): RawResult {
    const dv = this.dv;
    this.attr.fill(0, 0, MC.size);
    dv.setUint32(MC.map_type, o.type, true);
    dv.setUint32(MC.key_size, o.keySize, true);
    dv.setUint32(MC.value_size, o.valueSize, true);
    dv.setUint32(MC.max_entries, o.maxEntries, true);
    dv.setUint32(MC.map_flags, o.flags ?? 0, true);
    dv.setUint32(MC.inner_map_fd, o.innerMapFd ?? 0, true);
    if (o.btfFd !== undefined) {
      dv.setUint32(MC.btf_fd, o.btfFd, true);
      dv.setUint32(MC.btf_key_type_id, o.btfKeyTypeId ?? 0, true);
      dv.setUint32(MC.btf_value_type_id, o.btfValueTypeId ?? 0, true);
    }
    dv.setBigUint64(MC.map_extra, o.mapExtra ?? 0n, true);
    return this.call(Cmd.MAP_CREATE, MC.size);
  }

  /** BPF_BTF_LOAD with a level-1 log. */
  btfLoad(blob: Uint8Array, logBytes = 4096): RawResult & { log: string } {
    const dv = this.dv;
    this.attr.fill(0, 0, BL.size);
    this.ensureLog(logBytes);
    this.logBuf[0] = 0;
    dv.setBigUint64(BL.btf, addressOf(blob), true);
    dv.setUint32(BL.btf_size, blob.byteLength, true);
    dv.setBigUint64(BL.btf_log_buf, addressOf(this.logBuf), true);
    dv.setUint32(BL.btf_log_size, logBytes, true);
    dv.setUint32(BL.btf_log_level, 1, true);
    const r = this.call(Cmd.BTF_LOAD, BL.size);
    return { ...r, log: r.fd < 0 ? this.readLog(logBytes) : '' };
  }

  /** BPF_LINK_CREATE with only the common head set. */
  linkCreate(progFd: number, targetFd: number, attachType: number, flags = 0): RawResult {
    const dv = this.dv;
    this.attr.fill(0, 0, LC.size);
    dv.setUint32(LC.prog_fd, progFd, true);
    dv.setInt32(LC.target_fd, targetFd, true);
    dv.setUint32(LC.attach_type, attachType, true);
    dv.setUint32(LC.flags, flags, true);
    return this.call(Cmd.LINK_CREATE, LC.size);
  }

  /** BPF_PROG_ATTACH. */
  progAttach(targetFd: number, progFd: number, attachType: number, flags = 0): RawResult {
    const dv = this.dv;
    this.attr.fill(0, 0, PA.size);
    dv.setInt32(PA.target_fd, targetFd, true);
    dv.setUint32(PA.attach_bpf_fd, progFd, true);
    dv.setUint32(PA.attach_type, attachType, true);
    dv.setUint32(PA.attach_flags, flags, true);
    return this.call(Cmd.PROG_ATTACH, PA.size);
  }

  /** close(2), ignoring negative fds. */
  close(fd: number): void {
    if (fd >= 0) closeFd(fd);
  }
}
