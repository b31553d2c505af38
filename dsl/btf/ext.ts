/**
 * `.BTF.ext`: per-section func_info, line_info and CO-RE relocation records.
 * Strings (section names, file names, source lines, CO-RE access strings) live
 * in the companion `.BTF` string table, so decoding needs the decoded BTF and
 * encoding adds to the same table the BTF is then written with.
 *
 * In an object file `insnOff` is a BYTE offset within the ELF section; see
 * `prog-info.ts` for the per-program instruction-index form BPF_PROG_LOAD takes.
 */
import { BtfError } from './errors.js';
import { BTF_EXT_HEADER_SIZE, BTF_MAGIC, BTF_VERSION } from './kinds.js';
import type { Btf } from './graph.js';
import type { BtfStringTable } from './strings.js';
import type { BtfSpec, BtfTypeId } from './types.js';
import { encodeBtf, stringTableFor } from './encode.js';

/** func_info: the FUNC type describing the function that starts at `insnOff`. */
export interface BtfFuncInfo {
  readonly insnOff: number;
  readonly typeId: BtfTypeId;
}

/** line_info: source position of the instruction at `insnOff`. */
export interface BtfLineInfo {
  readonly insnOff: number;
  /** Source file name. */
  readonly fileName: string;
  /** The source line's text (shown by the verifier log). */
  readonly line: string;
  /** 1-based line number (22 bits). */
  readonly lineNum: number;
  /** Column (10 bits; 0 = unknown). */
  readonly column: number;
}

/** CO-RE relocation kinds (`enum bpf_core_relo_kind`). */
export const BTF_CORE_RELO_KINDS = [
  'field_byte_offset', 'field_byte_size', 'field_exists', 'field_signed', 'field_lshift_u64', 'field_rshift_u64',
  'type_id_local', 'type_id_target', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
] as const;

/** A CO-RE relocation record, kept as data so readers can report it. */
export interface BtfCoreRelo {
  readonly insnOff: number;
  /** Root type of the access (a local BTF id). */
  readonly typeId: BtfTypeId;
  /** Access string, e.g. `0:1:2`. */
  readonly accessStr: string;
  /** Raw `bpf_core_relo_kind` number. */
  readonly kind: number;
  /** Name of `kind`, or `unknown(N)`. */
  readonly kindName: string;
}

/** The records of one ELF section. */
export interface BtfExtSection<R> {
  readonly section: string;
  readonly records: readonly R[];
}

/** A decoded (or to-be-encoded) `.BTF.ext`. */
export interface BtfExt {
  readonly funcInfo: readonly BtfExtSection<BtfFuncInfo>[];
  readonly lineInfo: readonly BtfExtSection<BtfLineInfo>[];
  readonly coreRelos: readonly BtfExtSection<BtfCoreRelo>[];
  /** Record sizes as read (≥ the UAPI sizes 8/16/16); extra record bytes are written as zero. */
  readonly funcInfoRecSize?: number;
  readonly lineInfoRecSize?: number;
  readonly coreReloRecSize?: number;
  /** Header length as read (24 = no core_relo fields, 32 = with). */
  readonly hdrLen?: number;
}

/** Size of a `bpf_func_info` record (UAPI minimum). */
export const BTF_FUNC_INFO_SIZE = 8;
/** Size of a `bpf_line_info` record (UAPI minimum). */
export const BTF_LINE_INFO_SIZE = 16;
/** Size of a `bpf_core_relo` record (UAPI minimum). */
export const BTF_CORE_RELO_SIZE = 16;

/** Whether any CO-RE relocation is present (readers must not silently drop these). */
export function hasCoreRelos(ext: BtfExt): boolean {
  return ext.coreRelos.some((s) => s.records.length > 0);
}

/** Decodes `.BTF.ext`, resolving strings through the decoded `.BTF`. */
export function decodeBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  if (bytes.length < 8) throw new BtfError('BTF_EXT_TRUNCATED', `.BTF.ext of ${bytes.length} bytes is shorter than its header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint16(0, true);
  if (magic !== BTF_MAGIC) throw new BtfError('BTF_EXT_BAD_HEADER', `bad .BTF.ext magic 0x${magic.toString(16)}, expected 0xeb9f`);
  if (bytes[2] !== BTF_VERSION) throw new BtfError('BTF_EXT_BAD_HEADER', `unsupported .BTF.ext version ${bytes[2]}`);
  const hdrLen = dv.getUint32(4, true);
  if (hdrLen < 24) throw new BtfError('BTF_EXT_BAD_HEADER', `.BTF.ext header length ${hdrLen} is below 24`);
  if (hdrLen > bytes.length) throw new BtfError('BTF_EXT_TRUNCATED', `.BTF.ext header length ${hdrLen} is past the end (${bytes.length} bytes)`);
  const reader = btf.stringReader;
  if (!reader) throw new BtfError('BTF_EXT_BAD_HEADER', '.BTF.ext needs a decoded .BTF (with its string table)');
  const str = (off: number, what: string): string => {
    try {
      return reader.at(off);
    } catch (e) {
      if (e instanceof BtfError) throw new BtfError('BTF_EXT_BAD_RECORD', `.BTF.ext ${what}: ${e.message}`);
      throw e;
    }
  };
  const body = bytes.subarray(hdrLen);
  const sub = (offField: number, name: string): DataView | undefined => {
    if (offField + 8 > hdrLen) return undefined;
    const off = dv.getUint32(offField, true);
    const len = dv.getUint32(offField + 4, true);
    if (len === 0) return undefined;
    if (off + len > body.length) {
      throw new BtfError('BTF_EXT_TRUNCATED', `.BTF.ext ${name} [${off}, +${len}) is past the end (${body.length} bytes after the header)`);
    }
    return new DataView(body.buffer, body.byteOffset + off, len);
  };
  const maxId = btf.nextId;
  const blocks = <R>(view: DataView | undefined, name: string, minRec: number, read: (v: DataView, at: number, sec: string) => R): { recSize?: number; sections: BtfExtSection<R>[] } => {
    if (!view) return { sections: [] };
    if (view.byteLength < 4) throw new BtfError('BTF_EXT_TRUNCATED', `.BTF.ext ${name}: no room for rec_size`);
    const recSize = view.getUint32(0, true);
    if (recSize < minRec || recSize % 4 !== 0 || recSize > 1024) {
      throw new BtfError('BTF_EXT_BAD_RECORD', `.BTF.ext ${name}: record size ${recSize} is invalid (minimum ${minRec}, multiple of 4)`);
    }
    const sections: BtfExtSection<R>[] = [];
    let at = 4;
    while (at < view.byteLength) {
      if (at + 8 > view.byteLength) throw new BtfError('BTF_EXT_TRUNCATED', `.BTF.ext ${name}: block header at ${at} runs past the end`);
      const sec = str(view.getUint32(at, true), `${name} section name`);
      const num = view.getUint32(at + 4, true);
      at += 8;
      if (num === 0) throw new BtfError('BTF_EXT_BAD_RECORD', `.BTF.ext ${name}: section '${sec}' has zero records`);
      if (at + num * recSize > view.byteLength) {
        throw new BtfError('BTF_EXT_TRUNCATED', `.BTF.ext ${name}: section '${sec}' claims ${num} records of ${recSize} bytes, past the end`);
      }
      const records: R[] = [];
      for (let i = 0; i < num; i++, at += recSize) records.push(Object.freeze(read(view, at, sec)));
      sections.push(Object.freeze({ section: sec, records: Object.freeze(records) }));
    }
    return { recSize, sections };
  };
  const typeRef = (id: number, what: string, sec: string): number => {
    if (id >= maxId) throw new BtfError('BTF_EXT_BAD_RECORD', `.BTF.ext ${what} in section '${sec}' refers to missing type id ${id}`);
    return id;
  };

  const func = blocks(sub(8, 'func_info'), 'func_info', BTF_FUNC_INFO_SIZE, (v, at, sec) => ({
    insnOff: v.getUint32(at, true),
    typeId: typeRef(v.getUint32(at + 4, true), 'func_info', sec),
  }));
  const line = blocks(sub(16, 'line_info'), 'line_info', BTF_LINE_INFO_SIZE, (v, at) => {
    const lineCol = v.getUint32(at + 12, true);
    return {
      insnOff: v.getUint32(at, true),
      fileName: str(v.getUint32(at + 4, true), 'line_info file name'),
      line: str(v.getUint32(at + 8, true), 'line_info source line'),
      lineNum: lineCol >>> 10,
      column: lineCol & 0x3ff,
    };
  });
  const core = blocks(sub(24, 'core_relo'), 'core_relo', BTF_CORE_RELO_SIZE, (v, at, sec) => {
    const kind = v.getUint32(at + 12, true);
    return {
      insnOff: v.getUint32(at, true),
      typeId: typeRef(v.getUint32(at + 4, true), 'core_relo', sec),
      accessStr: str(v.getUint32(at + 8, true), 'core_relo access string'),
      kind,
      kindName: BTF_CORE_RELO_KINDS[kind] ?? `unknown(${kind})`,
    };
  });
  return Object.freeze({
    funcInfo: Object.freeze(func.sections),
    lineInfo: Object.freeze(line.sections),
    coreRelos: Object.freeze(core.sections),
    ...(func.recSize !== undefined ? { funcInfoRecSize: func.recSize } : {}),
    ...(line.recSize !== undefined ? { lineInfoRecSize: line.recSize } : {}),
    ...(core.recSize !== undefined ? { coreReloRecSize: core.recSize } : {}),
    hdrLen,
  });
}

/**
 * Encodes `.BTF.ext`, adding its strings to `strings` (the table the `.BTF` is
 * then written with — see {@link encodeBtfWithExt}). Sections with no records
 * are skipped; empty sub-sections are written with length 0, as clang does.
 */
export function encodeBtfExt(ext: BtfExt, strings: BtfStringTable): Uint8Array {
  const parts: { data: Uint8Array; present: boolean }[] = [];
  const sub = <R>(sections: readonly BtfExtSection<R>[], recSize: number, minRec: number, write: (dv: DataView, at: number, r: R) => void): void => {
    if (recSize < minRec || recSize % 4 !== 0) throw new BtfError('BTF_EXT_BAD_RECORD', `record size ${recSize} is invalid (minimum ${minRec})`);
    const used = sections.filter((s) => s.records.length > 0);
    if (used.length === 0) {
      parts.push({ data: new Uint8Array(0), present: false });
      return;
    }
    let len = 4;
    for (const s of used) len += 8 + s.records.length * recSize;
    const data = new Uint8Array(len);
    const dv = new DataView(data.buffer);
    dv.setUint32(0, recSize, true);
    let at = 4;
    for (const s of used) {
      dv.setUint32(at, strings.add(s.section), true);
      dv.setUint32(at + 4, s.records.length, true);
      at += 8;
      for (const r of s.records) {
        write(dv, at, r);
        at += recSize;
      }
    }
    parts.push({ data, present: true });
  };
  const u32 = (v: number, what: string): number => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new BtfError('BTF_EXT_BAD_RECORD', `${what} ${v} is not a u32`);
    return v;
  };
  sub(ext.funcInfo, ext.funcInfoRecSize ?? BTF_FUNC_INFO_SIZE, BTF_FUNC_INFO_SIZE, (dv, at, r) => {
    dv.setUint32(at, u32(r.insnOff, 'func_info insn_off'), true);
    dv.setUint32(at + 4, u32(r.typeId, 'func_info type_id'), true);
  });
  sub(ext.lineInfo, ext.lineInfoRecSize ?? BTF_LINE_INFO_SIZE, BTF_LINE_INFO_SIZE, (dv, at, r) => {
    if (!(r.lineNum >= 0 && r.lineNum < 1 << 22 && r.column >= 0 && r.column < 1 << 10)) {
      throw new BtfError('BTF_EXT_BAD_RECORD', `line_info ${r.fileName}:${r.lineNum}:${r.column}: line must fit 22 bits and column 10 bits`);
    }
    dv.setUint32(at, u32(r.insnOff, 'line_info insn_off'), true);
    dv.setUint32(at + 4, strings.add(r.fileName), true);
    dv.setUint32(at + 8, strings.add(r.line), true);
    dv.setUint32(at + 12, ((r.lineNum << 10) | r.column) >>> 0, true);
  });
  sub(ext.coreRelos, ext.coreReloRecSize ?? BTF_CORE_RELO_SIZE, BTF_CORE_RELO_SIZE, (dv, at, r) => {
    dv.setUint32(at, u32(r.insnOff, 'core_relo insn_off'), true);
    dv.setUint32(at + 4, u32(r.typeId, 'core_relo type_id'), true);
    dv.setUint32(at + 8, strings.add(r.accessStr), true);
    dv.setUint32(at + 12, u32(r.kind, 'core_relo kind'), true);
  });
  const hdrLen = ext.hdrLen === 24 && parts[2]!.present === false ? 24 : BTF_EXT_HEADER_SIZE;
  const total = hdrLen + parts.reduce((n, p) => n + p.data.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, BTF_MAGIC, true);
  out[2] = BTF_VERSION;
  dv.setUint32(4, hdrLen, true);
  let off = 0;
  const count = hdrLen === 24 ? 2 : 3;
  for (let i = 0; i < count; i++) {
    const p = parts[i]!;
    dv.setUint32(8 + i * 8, off, true);
    dv.setUint32(12 + i * 8, p.data.length, true);
    out.set(p.data, hdrLen + off);
    off += p.data.length;
  }
  return out;
}

/**
 * Encodes `.BTF` and `.BTF.ext` together so both share one string table: the
 * BTF's own strings (and a decoded blob's original table order) come first,
 * then the ext's section names, file names and source lines.
 */
export function encodeBtfWithExt(spec: BtfSpec, ext: BtfExt): { btf: Uint8Array; ext: Uint8Array } {
  const strings = stringTableFor(spec);
  // All type strings first (a dry run fills the table), then the ext strings.
  encodeBtf(spec, { strings });
  const extBytes = encodeBtfExt(ext, strings);
  return { btf: encodeBtf(spec, { strings }), ext: extBytes };
}
