/**
 * Symbolic references → ELF relocations, in the forms clang emits and libbpf
 * expects:
 * - map `lddw`: `R_BPF_64_64` on the map symbol, src 0, imm 0;
 * - global `lddw`: `R_BPF_64_64` on the variable symbol (or the data section's
 *   symbol for a section-relative reference), src 0, the offset in the low imm;
 * - call of a static subprogram: `R_BPF_64_32` on `.text`'s section symbol,
 *   imm = target slot - 1; of a global one: on its symbol, imm = -1;
 * - function address (`lddw` src 4): `R_BPF_64_64` on `.text`, imm = byte offset;
 * - kfunc call: `R_BPF_64_32` on the undefined symbol, a pseudo call with imm -1.
 */
import { CallKind, LDDW, PseudoSource, type Instruction } from '../isa/index.js';
import { ObjectError } from '../object/errors.js';
import { R_BPF, type ElfRelocation } from './file/index.js';
import { CALL, type Placed } from './object-code.js';

/** What references can resolve to. */
export interface RelocTargets {
  readonly maps: ReadonlySet<string>;
  /** Global variable and data-section names → byte size. */
  readonly globals: ReadonlyMap<string, number>;
  readonly sections: ReadonlyMap<string, number>;
  readonly functions: ReadonlyMap<string, Placed>;
  readonly kfuncs: ReadonlySet<string>;
  /** Symbol-table index of a named symbol. */
  readonly symbol: (name: string) => number;
  /** Symbol-table index of a section's STT_SECTION symbol. */
  readonly sectionSymbol: (section: string) => number;
}

/** The function's instructions as written, and the relocations (byte offsets in its section) to add. */
export function relocateFunction(f: Placed, t: RelocTargets): { insns: Instruction[]; rels: ElfRelocation[] } {
  const rels: ElfRelocation[] = [];
  const insns = f.insns.map((insn, index) => {
    const ref = insn.meta?.ref;
    if (!ref || ref.kind === 'label') return insn;
    const offset = f.offset + f.pos[index]! * 8;
    const where = `function '${f.name}' instruction ${index}`;
    const lddw = insn.opcode === LDDW;
    const rel = (symbol: number, type: number) => rels.push({ offset, symbol, type });
    switch (ref.kind) {
      case 'map': {
        if (!lddw || (insn.src !== PseudoSource.MAP_FD && insn.src !== PseudoSource.IMM64))
          throw new ObjectError('OBJECT_INVALID', `${where}: map reference '${ref.name}' must be on a map-fd lddw (an ELF object cannot express a map value address; use a global)`);
        if (!t.maps.has(ref.name)) throw new ObjectError('OBJECT_INVALID', `${where}: unknown map '${ref.name}'`);
        rel(t.symbol(ref.name), R_BPF['64_64']);
        return { ...insn, src: 0, imm: 0, imm64: 0n };
      }
      case 'global': {
        if (!lddw) throw new ObjectError('OBJECT_INVALID', `${where}: global reference '${ref.name}' must be on an lddw`);
        const isVar = t.globals.has(ref.name);
        const limit = isVar ? t.globals.get(ref.name) : t.sections.get(ref.name);
        if (limit === undefined) throw new ObjectError('OBJECT_INVALID', `${where}: unknown global '${ref.name}'`);
        if (!Number.isInteger(ref.offset) || ref.offset < 0 || ref.offset > limit)
          throw new ObjectError('OBJECT_INVALID', `${where}: offset ${ref.offset} is outside '${ref.name}' (${limit} bytes)`);
        rel(isVar ? t.symbol(ref.name) : t.sectionSymbol(ref.name), R_BPF['64_64']);
        return { ...insn, src: 0, imm: ref.offset | 0, imm64: BigInt(ref.offset) };
      }
      case 'call': {
        const target = t.functions.get(ref.name);
        if (!target || target.section !== '.text') throw new ObjectError('OBJECT_INVALID', `${where}: call target '${ref.name}' is not a subprogram of this object`);
        const isCall = insn.opcode === CALL && insn.src === CallKind.PSEUDO_CALL;
        const isAddr = lddw && insn.src === PseudoSource.FUNC;
        if (!isCall && !isAddr) throw new ObjectError('OBJECT_INVALID', `${where}: call reference '${ref.name}' on an instruction that is neither a call nor a function-address lddw`);
        if (isAddr) {
          rel(t.sectionSymbol('.text'), R_BPF['64_64']);
          return { ...insn, imm: target.offset, imm64: BigInt(target.offset) };
        }
        if (target.linkage === 'global') {
          rel(t.symbol(ref.name), R_BPF['64_32']);
          return { ...insn, imm: -1 };
        }
        rel(t.sectionSymbol('.text'), R_BPF['64_32']);
        return { ...insn, imm: target.offset / 8 - 1 };
      }
      case 'kfunc': {
        if (insn.opcode !== CALL) throw new ObjectError('OBJECT_INVALID', `${where}: kfunc reference '${ref.name}' on an instruction that is not a call`);
        if (!t.kfuncs.has(ref.name))
          throw new ObjectError('OBJECT_INVALID', `${where}: kfunc '${ref.name}' has no prototype in the spec's kfuncs (libbpf checks it against the kernel's BTF)`);
        rel(t.symbol(ref.name), R_BPF['64_32']);
        return { ...insn, src: CallKind.PSEUDO_CALL, imm: -1 };
      }
      default:
        throw new ObjectError('OBJECT_UNSUPPORTED', `${where}: ${(ref as { kind: string }).kind} reference cannot be written to an ELF object`);
    }
  });
  return { insns, rels };
}
