/**
 * Load-time func_info / line_info: BPF_PROG_LOAD wants, per program, flat arrays
 * of 8-byte `bpf_func_info` and 16-byte `bpf_line_info` records whose `insn_off`
 * is an INSTRUCTION INDEX within the loaded program (object files store BYTE
 * offsets within the ELF section), and whose strings are offsets into the BTF
 * loaded alongside.
 */
import { BtfError } from './errors.js';
import { BTF_FUNC_INFO_SIZE, BTF_LINE_INFO_SIZE } from './ext.js';
import type { BtfExt, BtfExtSection, BtfFuncInfo, BtfLineInfo } from './ext.js';

/** Bytes per BPF instruction slot. */
const INSN_SIZE = 8;

/** Which slice of a section's records to take and where it lands in the loaded program. */
export interface InfoSlice {
  /** ELF section the code lives in (e.g. `tc`, `.text`). */
  readonly section: string;
  /** First byte of the function(s) within the section. */
  readonly byteOffset: number;
  /** Byte length of the code taken. */
  readonly byteLength: number;
  /** Instruction index the slice starts at in the loaded program (for appended subprograms). */
  readonly insnBase?: number;
}

function slice<R extends { insnOff: number }>(sections: readonly BtfExtSection<R>[], s: InfoSlice): R[] {
  if (s.byteOffset % INSN_SIZE !== 0 || s.byteLength % INSN_SIZE !== 0) {
    throw new BtfError('BTF_EXT_BAD_RECORD', `section '${s.section}': slice [${s.byteOffset}, +${s.byteLength}) is not instruction-aligned`);
  }
  const base = s.insnBase ?? 0;
  const out: R[] = [];
  for (const sec of sections) {
    if (sec.section !== s.section) continue;
    for (const r of sec.records) {
      if (r.insnOff < s.byteOffset || r.insnOff >= s.byteOffset + s.byteLength) continue;
      if (r.insnOff % INSN_SIZE !== 0) {
        throw new BtfError('BTF_EXT_BAD_RECORD', `section '${s.section}': record at byte ${r.insnOff} is not on an instruction boundary`);
      }
      out.push({ ...r, insnOff: base + (r.insnOff - s.byteOffset) / INSN_SIZE });
    }
  }
  return out.sort((a, b) => a.insnOff - b.insnOff);
}

/** func_info records of a program (and its appended subprograms) with instruction indices. */
export function programFuncInfo(ext: BtfExt, slices: readonly InfoSlice[]): BtfFuncInfo[] {
  return slices.flatMap((s) => slice(ext.funcInfo, s)).sort((a, b) => a.insnOff - b.insnOff);
}

/** line_info records of a program (and its appended subprograms) with instruction indices. */
export function programLineInfo(ext: BtfExt, slices: readonly InfoSlice[]): BtfLineInfo[] {
  return slices.flatMap((s) => slice(ext.lineInfo, s)).sort((a, b) => a.insnOff - b.insnOff);
}

/** Converts a byte offset within a section to an instruction index (throws when misaligned). */
export function byteOffsetToInsnIndex(byteOffset: number): number {
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % INSN_SIZE !== 0) {
    throw new BtfError('BTF_EXT_BAD_RECORD', `byte offset ${byteOffset} is not on an instruction boundary`);
  }
  return byteOffset / INSN_SIZE;
}

/** The kernel's flat `bpf_func_info` array (8 bytes per record: insn_off, type_id). */
export function encodeKernelFuncInfo(records: readonly BtfFuncInfo[]): Uint8Array {
  const out = new Uint8Array(records.length * BTF_FUNC_INFO_SIZE);
  const dv = new DataView(out.buffer);
  records.forEach((r, i) => {
    dv.setUint32(i * 8, r.insnOff, true);
    dv.setUint32(i * 8 + 4, r.typeId, true);
  });
  return out;
}

/**
 * The kernel's flat `bpf_line_info` array (16 bytes: insn_off, file_name_off,
 * line_off, line << 10 | col). `stringOffset` maps a string to its offset in
 * the BTF that is loaded with the program (e.g. `btf.stringReader.find`, or the
 * `BtfStringTable` the BTF was encoded with); a missing string is an error.
 */
export function encodeKernelLineInfo(records: readonly BtfLineInfo[], stringOffset: (s: string) => number | undefined): Uint8Array {
  const out = new Uint8Array(records.length * BTF_LINE_INFO_SIZE);
  const dv = new DataView(out.buffer);
  const off = (s: string, what: string): number => {
    const o = stringOffset(s);
    if (o === undefined) throw new BtfError('BTF_EXT_BAD_RECORD', `line_info ${what} ${JSON.stringify(s.slice(0, 60))} is not in the BTF string table`);
    return o;
  };
  records.forEach((r, i) => {
    const at = i * 16;
    dv.setUint32(at, r.insnOff, true);
    dv.setUint32(at + 4, off(r.fileName, 'file name'), true);
    dv.setUint32(at + 8, off(r.line, 'source line'), true);
    dv.setUint32(at + 12, ((r.lineNum << 10) | (r.column & 0x3ff)) >>> 0, true);
  });
  return out;
}
