/**
 * Code layout for the object writer: functions placed in their sections, and
 * line_info records from the instructions' source locations.
 */
import type { BtfLineInfo, BtfTypeId } from '../btf/index.js';
import { assemble, CallKind, Class, JmpOp, LDDW, PseudoSource, slots, type Instruction } from '../isa/index.js';
import { ObjectError } from '../object/errors.js';
import type { ObjectSpec } from '../object/spec.js';
import { dataSectionKind } from './object-data.js';
import type { SymbolNames } from './object-names.js';
import { lineInfoPath } from './line-info-path.js';
import { sourceLineText } from './source-text.js';

/** Opcode of `call`. */
export const CALL = Class.JMP | JmpOp.CALL;

/** One function placed in a code section (instructions assembled, labels resolved). */
export interface Placed {
  readonly name: string;
  readonly section: string;
  readonly offset: number;
  readonly insns: Instruction[];
  /** Slot index of each instruction within the function. */
  readonly pos: number[];
  readonly size: number;
  readonly entry: boolean;
  readonly linkage: 'static' | 'global';
  readonly btfProto?: BtfTypeId;
}

/** Functions in placement order and the code sections in first-use order with their sizes. */
export interface CodeLayout {
  readonly functions: Placed[];
  readonly sections: string[];
  readonly sizes: Map<string, number>;
}

const RESERVED = new Set(['.text', '.maps', 'license', 'version', '.BTF', '.BTF.ext', '.symtab', '.strtab', '.shstrtab', 'maps']);

/** Places subprograms in `.text` (first) and programs in their SEC sections, in spec order. */
export function layoutCode(spec: ObjectSpec, names: SymbolNames): CodeLayout {
  const sections: string[] = [];
  const sizes = new Map<string, number>();
  const functions: Placed[] = [];
  const place = (name: string, section: string, instructions: readonly Instruction[], entry: boolean, linkage: 'static' | 'global', btfProto?: BtfTypeId) => {
    if (!Array.isArray(instructions) || instructions.length === 0) throw new ObjectError('OBJECT_INVALID', `function '${name}' has no instructions`);
    let insns: Instruction[];
    try {
      insns = assemble(instructions);
    } catch (e) {
      throw new ObjectError('OBJECT_INVALID', `function '${name}': ${(e as Error).message}`, { cause: e });
    }
    const pos: number[] = [];
    let slot = 0;
    insns.forEach((i, k) => {
      // A call resolved inside one function would be a subprogram without func_info, which the kernel rejects.
      const internal = !i.meta?.ref && ((i.opcode === CALL && i.src === CallKind.PSEUDO_CALL) || (i.opcode === LDDW && i.src === PseudoSource.FUNC));
      if (internal) throw new ObjectError('OBJECT_INVALID', `function '${name}' instruction ${k}: bpf-to-bpf calls must name a subprogram (callFunc('name')), not a label or offset inside the function`);
      pos.push(slot);
      slot += slots(i);
    });
    if (!sizes.has(section)) {
      sections.push(section);
      sizes.set(section, 0);
    }
    const offset = sizes.get(section)!;
    sizes.set(section, offset + slot * 8);
    functions.push({ name, section, offset, insns, pos, size: slot * 8, entry, linkage, ...(btfProto !== undefined ? { btfProto } : {}) });
  };
  for (const s of spec.subprograms ?? []) {
    names.claim(s.name, 'subprogram');
    const linkage = s.linkage ?? 'static';
    if (linkage !== 'static' && linkage !== 'global') throw new ObjectError('OBJECT_INVALID', `subprogram '${s.name}': unknown linkage '${String(linkage)}'`);
    place(s.name, '.text', s.instructions, false, linkage, s.btfProto);
  }
  for (const p of spec.programs) {
    names.claim(p.name, 'program');
    if (typeof p.section !== 'string' || p.section === '' || p.section.includes('\0') || RESERVED.has(p.section) || p.section.startsWith('.rel') || dataSectionKind(p.section))
      throw new ObjectError('OBJECT_INVALID', `program '${p.name}': section name ${JSON.stringify(p.section)} is not usable for code`);
    place(p.name, p.section, p.instructions, true, 'global', p.btfProto);
  }
  return { functions, sections, sizes };
}

/**
 * line_info records (byte offsets in the section) of one function: one where the
 * source location changes. The kernel wants a record at every function start
 * once any exists, so a function without sources gets a placeholder there
 * (empty file, line 0), which the reader drops again.
 */
export function lineRecords(f: Placed): BtfLineInfo[] {
  const out: BtfLineInfo[] = [];
  let prev: string | undefined;
  const firstSource = f.insns.find((i) => i.meta?.source)?.meta?.source;
  f.insns.forEach((insn, index) => {
    let src = insn.meta?.source;
    if (!src && index === 0) src = firstSource ?? { file: '', line: 0, column: 0, text: '' };
    if (!src) return;
    const key = `${src.file}\0${src.line}\0${src.column}\0${src.text ?? ''}`;
    if (key === prev) return;
    prev = key;
    if (!(Number.isInteger(src.line) && src.line >= 0 && src.line < 1 << 22))
      throw new ObjectError('OBJECT_INVALID', `function '${f.name}' instruction ${index}: line ${src.line} does not fit line_info (22 bits)`);
    const column = Number.isInteger(src.column) && src.column >= 0 && src.column < 1024 ? src.column : 0;
    const text = src.text ?? sourceLineText(src.file, src.line);
    out.push({ insnOff: f.offset + f.pos[index]! * 8, fileName: lineInfoPath(src.file), line: text, lineNum: src.line, column });
  });
  return out;
}
