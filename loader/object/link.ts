/**
 * Linking a program with its bpf-to-bpf subprograms, as libbpf does: the entry
 * function first, then every `.text` function it (transitively) calls, each
 * once; call and function-address immediates become slot offsets relative to
 * the next instruction; func_info / line_info records of every appended
 * function move to its new instruction index (the kernel wants func_info for
 * every subprogram when the entry has it).
 */
import type { BtfExt, BtfFuncInfo, BtfLineInfo } from '../../dsl/btf/index.js';
import { programFuncInfo, programLineInfo, type InfoSlice } from '../../dsl/btf/prog-info.js';
import { assemble } from '../../dsl/isa/assemble.js';
import { slots, type Instruction } from '../../dsl/isa/instruction.js';
import { CallKind, Class, JmpOp, LDDW, PseudoSource } from '../../dsl/isa/opcodes.js';
import { ObjectLoadError } from './errors.js';

const CALL = Class.JMP | JmpOp.CALL;

/** A function of the object as laid out by the ELF writer. */
export interface LinkableFunction {
  readonly name: string;
  /** ELF section (SEC name for programs, `.text` for subprograms). */
  readonly section: string;
  /** Byte offset and length in that section (where its .BTF.ext records are). */
  readonly offset: number;
  readonly size: number;
  /** Instructions with labels resolved; call references still symbolic. */
  readonly insns: readonly Instruction[];
}

/** A program ready for BPF_PROG_LOAD (map and global references still symbolic). */
export interface LinkedProgram {
  readonly insns: Instruction[];
  /** Functions in load order with their first instruction slot. */
  readonly layout: readonly { readonly name: string; readonly slot: number }[];
  readonly funcInfo: BtfFuncInfo[];
  readonly lineInfo: BtfLineInfo[];
}

/** Assembles one function's own labels (calls to other functions stay symbolic). */
export function prepareFunction(name: string, section: string, offset: number, instructions: readonly Instruction[]): LinkableFunction {
  let insns: Instruction[];
  try {
    insns = assemble(instructions);
  } catch (e) {
    throw new ObjectLoadError('LOADER_OBJECT_INVALID', `function '${name}': ${(e as Error).message}`, { cause: e });
  }
  let size = 0;
  for (const i of insns) size += slots(i) * 8;
  return { name, section, offset, size, insns };
}

function callTarget(insn: Instruction): string | undefined {
  const ref = insn.meta?.ref;
  if (ref?.kind !== 'call') return undefined;
  const isCall = insn.opcode === CALL && insn.src === CallKind.PSEUDO_CALL;
  const isAddr = insn.opcode === LDDW && insn.src === PseudoSource.FUNC;
  return isCall || isAddr ? ref.name : undefined;
}

/**
 * Links `entry` with the subprograms it reaches. `subprograms` are the `.text`
 * functions by name; `ext` (optional) supplies func/line info by section offset.
 */
export function linkProgram(entry: LinkableFunction, subprograms: ReadonlyMap<string, LinkableFunction>, ext: BtfExt | undefined): LinkedProgram {
  const order: LinkableFunction[] = [entry];
  const included = new Set<string>([entry.name]);
  for (let k = 0; k < order.length; k++) {
    for (const insn of order[k]!.insns) {
      const target = callTarget(insn);
      if (target === undefined || included.has(target)) continue;
      const sub = subprograms.get(target);
      if (!sub) throw new ObjectLoadError('LOADER_OBJECT_INVALID', `function '${order[k]!.name}' calls '${target}', which is not a subprogram of this object`);
      included.add(target);
      order.push(sub);
    }
  }
  const start = new Map<string, number>();
  let slot = 0;
  for (const f of order) {
    start.set(f.name, slot);
    slot += f.size / 8;
  }
  const insns: Instruction[] = [];
  for (const f of order) {
    let at = start.get(f.name)!;
    for (const insn of f.insns) {
      const target = callTarget(insn);
      if (target === undefined) {
        insns.push(insn);
      } else {
        const delta = start.get(target)! - (at + 1);
        const { ref: _resolved, ...meta } = insn.meta!;
        insns.push(insn.opcode === LDDW ? { ...insn, imm: delta, imm64: BigInt(delta >>> 0), meta } : { ...insn, imm: delta, meta });
      }
      at += slots(insn);
    }
  }
  const slices: InfoSlice[] = order.map((f) => ({ section: f.section, byteOffset: f.offset, byteLength: f.size, insnBase: start.get(f.name)! }));
  return {
    insns,
    layout: order.map((f) => ({ name: f.name, slot: start.get(f.name)! })),
    funcInfo: ext ? programFuncInfo(ext, slices) : [],
    lineInfo: ext ? programLineInfo(ext, slices) : [],
  };
}
