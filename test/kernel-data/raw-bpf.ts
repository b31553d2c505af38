/**
 * A minimal BPF_PROG_LOAD over koffi for the kernel-data tests, independent of
 * loader/ on purpose: these tests judge the hand-written tables against the kernel
 * itself, so they should not depend on code that is built from those tables.
 */
import koffi from 'koffi';

const BPF_PROG_LOAD = 5;
const SYS_BPF = process.arch === 'arm64' ? 280 : 321;

const ProgLoadAttr = koffi.struct('tsbpf_kd_prog_load_attr', {
  prog_type: 'uint32',
  insn_cnt: 'uint32',
  insns: 'void *',
  license: 'void *',
  log_level: 'uint32',
  log_size: 'uint32',
  log_buf: 'void *',
  kern_version: 'uint32',
  prog_flags: 'uint32',
  prog_name: koffi.array('uint8', 16),
  prog_ifindex: 'uint32',
  expected_attach_type: 'uint32',
  tail: koffi.array('uint8', 56),
});

type SyscallFn = (nr: number, cmd: number, attr: unknown, size: number) => number;
let syscallFn: SyscallFn | undefined;
function sys(): SyscallFn {
  if (!syscallFn) {
    const libc = koffi.load('libc.so.6');
    syscallFn = libc.func('long syscall(long nr, int cmd, tsbpf_kd_prog_load_attr *attr, uint32 size)') as unknown as SyscallFn;
  }
  return syscallFn;
}

const closeFn = () => koffi.load('libc.so.6').func('int close(int fd)') as unknown as (fd: number) => number;
let close: ((fd: number) => number) | undefined;

/** Outcome of one load: the fd was closed again if it succeeded. */
export interface LoadResult {
  ok: boolean;
  errno: number;
  log: string;
}

/** Encodes raw instructions (opcode, regs, off, imm) into bytes. */
export function insnBytes(insns: { code: number; dst?: number; src?: number; off?: number; imm?: number }[]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach((i, n) => {
    b.writeUInt8(i.code, n * 8);
    b.writeUInt8(((i.src ?? 0) << 4) | (i.dst ?? 0), n * 8 + 1);
    b.writeInt16LE(i.off ?? 0, n * 8 + 2);
    b.writeInt32LE(i.imm ?? 0, n * 8 + 4);
  });
  return b;
}

/** Loads a program and closes it; returns whether the kernel accepted it and the verifier log. */
export function loadProgram(progType: number, insns: Buffer, expectedAttachType = 0, license = 'GPL'): LoadResult {
  const log = Buffer.alloc(1 << 16);
  const attr = {
    prog_type: progType,
    insn_cnt: insns.length / 8,
    insns,
    license: Buffer.from(license + '\0'),
    log_level: 1,
    log_size: log.length,
    log_buf: log,
    kern_version: 0,
    prog_flags: 0,
    prog_name: new Array(16).fill(0),
    prog_ifindex: 0,
    expected_attach_type: expectedAttachType,
    tail: new Array(56).fill(0),
  };
  const fd = sys()(SYS_BPF, BPF_PROG_LOAD, attr, koffi.sizeof(ProgLoadAttr));
  const errno = fd < 0 ? koffi.errno() : 0;
  const end = log.indexOf(0);
  const text = log.toString('utf8', 0, end < 0 ? log.length : end);
  if (fd >= 0) (close ??= closeFn())(fd);
  return { ok: fd >= 0, errno, log: text };
}

/** Phrases with which the verifier refuses a helper for a program type (all kernel versions). */
export const HELPER_REFUSALS = ['invalid func ', 'unknown func ', 'program of this type cannot use helper '];

/**
 * Whether `progType` (with `expectedAttachType`) may call helper `id`: loads
 * `call id; r0 = 1; exit` (1 is a valid return for every hook). Refused iff the load fails with one of HELPER_REFUSALS;
 * any other failure (bad arguments…) means the helper itself is allowed.
 */
export function helperAccepted(progType: number, id: number, expectedAttachType = 0): { accepted: boolean; log: string } {
  const prog = insnBytes([{ code: 0x85, imm: id }, { code: 0xb7, imm: 1 }, { code: 0x95 }]);
  const r = loadProgram(progType, prog, expectedAttachType);
  const refused = !r.ok && HELPER_REFUSALS.some((p) => r.log.includes(p));
  return { accepted: !refused, log: r.log };
}
