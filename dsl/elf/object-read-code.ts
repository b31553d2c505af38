/**
 * Code of an object: functions split by FUNC symbols and decoded, relocations
 * turned into symbolic references (in the forms dsl/isa's builder produces, so
 * the loader sees the same instructions either way), and `.BTF.ext` func/line
 * info put back on the functions and instructions.
 */
import { CallKind, Class, JmpOp, LDDW, PseudoSource, decode, slots, type Instruction, type SourceLocation } from '../isa/index.js';
import { ObjectError } from '../object/errors.js';
import { R_BPF, SHN, STT, type ElfSymbol } from './file/index.js';
import { mapAt } from './object-read-maps.js';
import { unsupported, type ReadContext } from './object-read-context.js';

const CALL = Class.JMP | JmpOp.CALL;

/** A function read from a code section. */
export interface ReadFunc {
  readonly name: string;
  readonly section: number;
  readonly offset: number;
  readonly size: number;
  readonly bind: number;
  readonly insns: Instruction[];
  /** Byte offset (relative to the function) → instruction index. */
  readonly at: Map<number, number>;
  btfProto?: number;
}

/** The functions of the object, with lookups by position. */
export class Functions {
  readonly all: ReadFunc[] = [];
  readonly #bySection = new Map<number, ReadFunc[]>();

  constructor(private readonly ctx: ReadContext) {
    const names = new Set<string>();
    for (const i of ctx.code) {
      const sec = ctx.sections[i]!;
      const kept: ReadFunc[] = [];
      let covered = 0;
      for (const s of ctx.symbolsIn(i, STT.FUNC)) {
        ctx.checkSymbolRange(s, 'function');
        if (s.value % 8 !== 0 || s.size % 8 !== 0 || s.size === 0)
          throw new ObjectError('OBJECT_MALFORMED', `function '${s.name}' in ${sec.name}: offset ${s.value} / size ${s.size} are not positive multiples of 8`);
        if (s.value < covered) throw new ObjectError('OBJECT_MALFORMED', `function '${s.name}' in ${sec.name} overlaps the previous function`);
        if (s.value > covered) ctx.ignored.push({ what: `${sec.name} bytes ${covered}..${s.value}`, reason: 'code outside any function symbol' });
        if (names.has(s.name)) throw new ObjectError('OBJECT_MALFORMED', `two functions are named '${s.name}'`);
        names.add(s.name);
        covered = s.value + s.size;
        let insns: Instruction[];
        try {
          insns = decode(sec.data.subarray(s.value, s.value + s.size));
        } catch (e) {
          throw new ObjectError('OBJECT_MALFORMED', `function '${s.name}' in ${sec.name}: ${(e as Error).message}`, { cause: e });
        }
        const at = new Map<number, number>();
        let pos = 0;
        insns.forEach((insn, k) => {
          at.set(pos, k);
          pos += slots(insn) * 8;
        });
        const f: ReadFunc = { name: s.name, section: i, offset: s.value, size: s.size, bind: s.bind, insns, at };
        kept.push(f);
        this.all.push(f);
      }
      if (covered < sec.data.length) ctx.ignored.push({ what: `${sec.name} bytes ${covered}..${sec.data.length}`, reason: 'code outside any function symbol' });
      this.#bySection.set(i, kept);
    }
  }

  /** The function and instruction index at byte `offset` of `section`. */
  locate(section: number, offset: number, what: string): { f: ReadFunc; index: number } {
    const f = (this.#bySection.get(section) ?? []).find((g) => offset >= g.offset && offset < g.offset + g.size);
    const index = f?.at.get(offset - f.offset);
    if (!f || index === undefined)
      throw new ObjectError('OBJECT_MALFORMED', `${what}: offset ${offset} in ${this.ctx.sectionName(section)} is not the start of an instruction of any function`);
    return { f, index };
  }

  /** The function starting exactly at byte `offset` of `section`. */
  startingAt(section: number, offset: number, what: string): ReadFunc {
    const f = (this.#bySection.get(section) ?? []).find((g) => g.offset === offset);
    if (!f) throw new ObjectError('OBJECT_MALFORMED', `${what}: no function starts at offset ${offset} of ${this.ctx.sectionName(section)}`);
    return f;
  }
}

/**
 * Rewrites relocated instructions of every code section into symbolic
 * references; returns the kfuncs called (name → FUNC_PROTO id).
 */
export function resolveCodeRelocations(ctx: ReadContext, funcs: Functions, maps: readonly ElfSymbol[], globals: ReadonlyMap<number, readonly ElfSymbol[]>): Map<string, number> {
  const kfuncs = new Map<string, number>();
  for (const i of ctx.code) {
    for (const r of ctx.relocations(i)) {
      const where = `relocation at ${ctx.sectionName(i)}+${r.offset}`;
      const { f, index } = funcs.locate(i, r.offset, where);
      const insn = f.insns[index]!;
      const s = ctx.symbolAt(r.symbol, where);
      if (insn.meta?.ref) throw new ObjectError('OBJECT_MALFORMED', `${where}: instruction has two relocations`);
      const meta = insn.meta;
      if (r.type === R_BPF['64_64']) {
        if (insn.opcode !== LDDW) throw new ObjectError('OBJECT_MALFORMED', `${where}: R_BPF_64_64 on an instruction that is not lddw`);
        const imm = insn.imm >>> 0;
        if (s.shndx === SHN.UNDEF) unsupported(`${where}: reference to extern '${s.name}' (.kconfig/.ksyms extern variables are not supported)`);
        if (s.shndx === ctx.mapsIndex) {
          const m = s.type === STT.SECTION ? mapAt(maps, imm) : s;
          if (!m || m.type !== STT.OBJECT) throw new ObjectError('OBJECT_MALFORMED', `${where}: no map at .maps offset ${s.value + imm}`);
          f.insns[index] = { opcode: LDDW, dst: insn.dst, src: PseudoSource.MAP_FD, off: 0, imm: 0, imm64: 0n, meta: { ...meta, ref: { kind: 'map', name: m.name } } };
        } else if (ctx.data.includes(s.shndx)) {
          const name = s.type === STT.SECTION ? ctx.sectionName(s.shndx) : s.name;
          if (s.type !== STT.SECTION && !(globals.get(s.shndx) ?? []).includes(s)) throw new ObjectError('OBJECT_MALFORMED', `${where}: '${s.name}' is not a variable that was kept`);
          const ref = { kind: 'global' as const, name, offset: imm };
          f.insns[index] = { opcode: LDDW, dst: insn.dst, src: PseudoSource.MAP_VALUE, off: 0, imm: 0, imm64: BigInt(imm) << 32n, meta: { ...meta, ref } };
        } else if (ctx.code.includes(s.shndx)) {
          const target = funcs.startingAt(s.shndx, s.value + imm, where);
          f.insns[index] = { opcode: LDDW, dst: insn.dst, src: PseudoSource.FUNC, off: 0, imm: 0, imm64: 0n, meta: { ...meta, ref: { kind: 'call', name: target.name } } };
        } else {
          unsupported(`${where}: lddw of '${s.name || ctx.sectionName(s.shndx)}' in section ${ctx.sectionName(s.shndx)}, which is not .maps, code or global data`);
        }
      } else if (r.type === R_BPF['64_32']) {
        if (insn.opcode !== CALL) throw new ObjectError('OBJECT_MALFORMED', `${where}: R_BPF_64_32 on an instruction that is not a call`);
        if ((insn.src === CallKind.KFUNC || insn.src === CallKind.PSEUDO_CALL) && s.shndx === SHN.UNDEF) {
          // A kfunc (extern in .ksyms): clang writes a pseudo call to the undefined symbol.
          const fn = ctx.btf?.find(s.name, 'func');
          if (!fn || fn.type.linkage !== 'extern') unsupported(`${where}: call to undefined '${s.name}', which is not an extern kfunc in BTF`);
          kfuncs.set(s.name, fn!.type.type);
          f.insns[index] = { opcode: CALL, dst: 0, src: CallKind.KFUNC, off: 0, imm: 0, meta: { ...meta, ref: { kind: 'kfunc', name: s.name } } };
          continue;
        }
        if (insn.src !== CallKind.PSEUDO_CALL) unsupported(`${where}: call with src ${insn.src} against '${s.name}'`);
        if (!ctx.code.includes(s.shndx)) unsupported(`${where}: call to '${s.name}', which is not in a code section`);
        const target = funcs.startingAt(s.shndx, s.value + (insn.imm + 1) * 8, where);
        if (ctx.sectionName(s.shndx) !== '.text') unsupported(`${where}: call into '${target.name}' in ${ctx.sectionName(s.shndx)}; only .text subprograms can be called`);
        f.insns[index] = { ...insn, imm: -1, meta: { ...meta, ref: { kind: 'call', name: target.name } } };
      } else {
        unsupported(`${where}: relocation type ${r.type} is not supported in code`);
      }
    }
  }
  return kfuncs;
}

/** Puts func_info (prototypes) and line_info (sources) back on functions and instructions. */
export function applyBtfExt(ctx: ReadContext, funcs: Functions): void {
  const ext = ctx.ext;
  if (!ext) return;
  const sectionIndexOf = (name: string, what: string) => {
    const i = ctx.code.find((k) => ctx.sections[k]!.name === name);
    if (i === undefined) throw new ObjectError('OBJECT_MALFORMED', `.BTF.ext ${what} names section '${name}', which is not a code section`);
    return i;
  };
  for (const sec of ext.funcInfo) {
    const i = sectionIndexOf(sec.section, 'func_info');
    for (const r of sec.records) {
      const f = funcs.startingAt(i, r.insnOff, `func_info of ${sec.section}`);
      const t = ctx.btf!.get(r.typeId);
      if (!t || t.kind !== 'func') throw new ObjectError('OBJECT_MALFORMED', `func_info of '${f.name}' refers to type ${r.typeId}, which is not a FUNC`);
      f.btfProto = t.type;
    }
  }
  for (const sec of ext.lineInfo) {
    const i = sectionIndexOf(sec.section, 'line_info');
    for (const r of sec.records) {
      if (r.fileName === '' && r.lineNum === 0) continue; // the writer's placeholder for functions without source
      const { f, index } = funcs.locate(i, r.insnOff, `line_info of ${sec.section}`);
      const source: SourceLocation = { file: r.fileName, line: r.lineNum, column: r.column, text: r.line };
      const insn = f.insns[index]!;
      f.insns[index] = { ...insn, meta: { ...insn.meta, source } };
    }
  }
}
