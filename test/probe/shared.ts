/**
 * One full probe per test process, shared by every test in the file (probeKernel
 * caches per process), plus raw program bytes built by hand — independent of the
 * prober's own encoder — for the cross-checks.
 */
import { execFileSync } from 'node:child_process';
import { probeKernel, type ProbeReport } from '../../loader/probe/index.js';

let report: ProbeReport | undefined;

/** The full report of this process (probed once, by the kernel: never from the boot cache). */
export function fullReport(): ProbeReport {
  return (report ??= probeKernel({ fresh: true }));
}

let bpftool: BpftoolReport | undefined;

/** `bpftool -j feature probe kernel`, parsed, run once per process. */
export function bpftoolReport(): BpftoolReport {
  return (bpftool ??= JSON.parse(execFileSync('bpftool', ['-j', 'feature', 'probe', 'kernel'], { encoding: 'utf8', maxBuffer: 1 << 26 })) as BpftoolReport);
}

/** The parts of bpftool's JSON the tests read. */
export interface BpftoolReport {
  readonly system_config: Record<string, string | number | null>;
  readonly program_types: Record<string, boolean>;
  readonly map_types: Record<string, boolean>;
  readonly helpers: Record<string, string[]>;
  readonly misc: Record<string, boolean>;
}

/** Encodes instructions given as [opcode, dst, src, off, imm] tuples (lddw takes two tuples). */
export function insns(...list: [number, number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(list.length * 8);
  const dv = new DataView(out.buffer);
  list.forEach(([op, dst, src, off, imm], k) => {
    out[k * 8] = op;
    out[k * 8 + 1] = (dst & 0xf) | ((src & 0xf) << 4);
    dv.setInt16(k * 8 + 2, off, true);
    dv.setInt32(k * 8 + 4, imm, true);
  });
  return out;
}

/** `r<dst> = imm` */
export const MOV = (dst: number, imm: number): [number, number, number, number, number] => [0xb7, dst, 0, 0, imm];
/** `exit` */
export const EXIT: [number, number, number, number, number] = [0x95, 0, 0, 0, 0];
/** `call helper#id` */
export const CALL = (id: number): [number, number, number, number, number] => [0x85, 0, 0, 0, id];
