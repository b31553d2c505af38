/**
 * func_info / line_info for BPF_PROG_LOAD: records to the kernel's flat arrays
 * (8-byte `bpf_func_info`, 16-byte `bpf_line_info`), and back from an
 * instruction index to its source line (for verifier errors), reading strings
 * from the BTF object itself when only raw records were given.
 */
import { LoaderError, type SourceLine } from '../errors.js';
import type { BtfRef, FuncInfoRecord, LineInfoRecord } from './spec.js';
import { btfInfo } from '../sys/info.js';

/** Size of one `bpf_func_info` record. */
export const FUNC_INFO_SIZE = 8;
/** Size of one `bpf_line_info` record. */
export const LINE_INFO_SIZE = 16;

/** The flat func_info array. */
export function encodeFuncInfo(info: Uint8Array | readonly FuncInfoRecord[]): Uint8Array {
  if (info instanceof Uint8Array) {
    if (info.length % FUNC_INFO_SIZE) throw new LoaderError('LOADER_FUNC_INFO', `func_info is ${info.length} bytes, not a multiple of ${FUNC_INFO_SIZE}`);
    return info;
  }
  const out = new Uint8Array(info.length * FUNC_INFO_SIZE);
  const dv = new DataView(out.buffer);
  info.forEach((r, i) => {
    dv.setUint32(i * 8, r.insnOff, true);
    dv.setUint32(i * 8 + 4, r.typeId, true);
  });
  return out;
}

/** A raw line_info record (string offsets instead of text). */
interface RawLine {
  readonly insnOff: number;
  readonly fileNameOff: number;
  readonly lineOff: number;
  readonly lineNum: number;
  readonly column: number;
}

/** The flat line_info array; text records need the BTF's string lookup. */
export function encodeLineInfo(info: Uint8Array | readonly LineInfoRecord[], btf: BtfRef | undefined): Uint8Array {
  if (info instanceof Uint8Array) {
    if (info.length % LINE_INFO_SIZE) throw new LoaderError('LOADER_LINE_INFO', `line_info is ${info.length} bytes, not a multiple of ${LINE_INFO_SIZE}`);
    return info;
  }
  if (info.length === 0) return new Uint8Array(0);
  const lookup = btf?.strings ?? (btf ? kernelStringLookup(btf.fd) : undefined);
  if (!lookup) throw new LoaderError('LOADER_LINE_INFO', 'line_info needs the program BTF (spec.btf) holding its strings');
  const out = new Uint8Array(info.length * LINE_INFO_SIZE);
  const dv = new DataView(out.buffer);
  const off = (s: string, what: string, r: LineInfoRecord) => {
    const o = lookup(s);
    if (o === undefined) throw new LoaderError('LOADER_LINE_INFO', `line_info for instruction ${r.insnOff}: ${what} ${JSON.stringify(s.slice(0, 60))} is not in the BTF string table`);
    return o;
  };
  info.forEach((r, i) => {
    const at = i * LINE_INFO_SIZE;
    dv.setUint32(at, r.insnOff, true);
    dv.setUint32(at + 4, off(r.fileName, 'file name', r), true);
    dv.setUint32(at + 8, off(r.line, 'source line', r), true);
    dv.setUint32(at + 12, ((r.lineNum << 10) | (r.column & 0x3ff)) >>> 0, true);
  });
  return out;
}

function decodeRaw(bytes: Uint8Array): RawLine[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RawLine[] = [];
  for (let at = 0; at + LINE_INFO_SIZE <= bytes.length; at += LINE_INFO_SIZE) {
    const lc = dv.getUint32(at + 12, true);
    out.push({ insnOff: dv.getUint32(at, true), fileNameOff: dv.getUint32(at + 4, true), lineOff: dv.getUint32(at + 8, true), lineNum: lc >>> 10, column: lc & 0x3ff });
  }
  return out;
}

/** The string section of a `.BTF` blob, by offset. */
function btfStrings(blob: Uint8Array): { at(off: number): string | undefined; all(): Map<string, number> } {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (blob.length < 24 || dv.getUint16(0, true) !== 0xeb9f) return { at: () => undefined, all: () => new Map() };
  const hdrLen = dv.getUint32(4, true);
  const strOff = dv.getUint32(16, true);
  const strLen = dv.getUint32(20, true);
  const section = blob.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
  const dec = new TextDecoder();
  return {
    at(off) {
      if (off >= section.length) return undefined;
      const end = section.indexOf(0, off);
      return dec.decode(section.subarray(off, end < 0 ? section.length : end));
    },
    all() {
      const m = new Map<string, number>();
      let start = 0;
      for (let i = 0; i < section.length; i++) {
        if (section[i] === 0) {
          const s = dec.decode(section.subarray(start, i));
          if (!m.has(s)) m.set(s, start);
          start = i + 1;
        }
      }
      return m;
    },
  };
}

function kernelStringLookup(btfFd: number): (s: string) => number | undefined {
  const data = btfInfo(btfFd, { data: true }).data!;
  const all = btfStrings(data).all();
  return (s) => all.get(s);
}

/**
 * The source line of instruction `insnIndex` according to line info: the record
 * with the greatest `insnOff` not after it. Text records answer directly; raw
 * records read their strings from the kernel's copy of the BTF.
 */
export function sourceOfInsn(insnIndex: number, info: Uint8Array | readonly LineInfoRecord[] | undefined, btfFd: number | undefined): SourceLine | undefined {
  if (!info || info.length === 0) return undefined;
  if (!(info instanceof Uint8Array)) {
    let best: LineInfoRecord | undefined;
    for (const r of info) if (r.insnOff <= insnIndex && (!best || r.insnOff >= best.insnOff)) best = r;
    return best && { file: best.fileName, line: best.lineNum, column: best.column, text: best.line };
  }
  let best: RawLine | undefined;
  for (const r of decodeRaw(info)) if (r.insnOff <= insnIndex && (!best || r.insnOff >= best.insnOff)) best = r;
  if (!best) return undefined;
  let file = `<file@${best.fileNameOff}>`;
  let text: string | undefined;
  if (btfFd !== undefined) {
    try {
      const strings = btfStrings(btfInfo(btfFd, { data: true }).data!);
      file = strings.at(best.fileNameOff) ?? file;
      text = strings.at(best.lineOff);
    } catch {
      // Best effort: a closed or foreign BTF fd leaves the placeholders.
    }
  }
  return text === undefined ? { file, line: best.lineNum, column: best.column } : { file, line: best.lineNum, column: best.column, text };
}
