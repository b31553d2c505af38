/**
 * Label resolution. `assemble()` turns symbolic jump targets into slot offsets
 * (relative to the next instruction; an `lddw` counts two slots) with range
 * checks, resolves bpf-to-bpf calls / `lddw` function addresses whose target label
 * is in the same list, and leaves map/global/kfunc/external-call references
 * symbolic for the ELF writer and loader.
 */
import { AsmError } from './errors.js';
import { describeInsn } from './codec.js';
import { slots, type Instruction } from './instruction.js';
import { CallKind, Class, JmpOp, LDDW, PseudoSource } from './opcodes.js';
import { invalidReason, isaRank, requiredIsa, type IsaLevel } from './validate.js';

/** Options of `assemble()`. */
export interface AssembleOptions {
  /** Highest ISA level instructions may use (default `v4`). Also decides `ja` → `gotol` widening. */
  readonly isa?: IsaLevel;
}

const isJump = (i: Instruction) => {
  const cls = i.opcode & 7;
  const op = i.opcode & 0xf0;
  return (cls === Class.JMP || cls === Class.JMP32) && op !== JmpOp.CALL && op !== JmpOp.EXIT;
};

/** Resolves labels and checks every instruction; returns new instruction values. */
export function assemble(insns: readonly Instruction[], options: AssembleOptions = {}): Instruction[] {
  const isa = options.isa ?? 'v4';
  const rank = isaRank(isa);
  // Slot position of each instruction and the label table.
  const pos: number[] = [];
  const labels = new Map<string, { index: number; slot: number }>();
  let slot = 0;
  insns.forEach((insn, index) => {
    pos.push(slot);
    for (const name of insn.meta?.labels ?? []) {
      const prev = labels.get(name);
      if (prev)
        throw new AsmError(
          'ASM_DUPLICATE_LABEL',
          `label '${name}' is defined twice: ${describeInsn(insns[prev.index]!, prev.index)} and ${describeInsn(insn, index)}`,
          { index, label: name },
        );
      labels.set(name, { index, slot });
    }
    slot += slots(insn);
  });

  return insns.map((insn, index) => {
    const fail = (code: string, msg: string, label?: string): never => {
      throw new AsmError(code, `${describeInsn(insn, index)}: ${msg}`, label === undefined ? { index } : { index, label });
    };
    const ref = insn.meta?.ref;
    let out = insn;
    if (ref?.kind === 'label') {
      if (!isJump(insn)) fail('ASM_BAD_REF', `label reference '${ref.name}' on an instruction that is not a jump`, ref.name);
      const target = labels.get(ref.name);
      if (!target) fail('ASM_UNKNOWN_LABEL', `jump to unknown label '${ref.name}'`, ref.name);
      const delta = target!.slot - (pos[index]! + 1);
      const gotol = (insn.opcode & 7) === Class.JMP32 && (insn.opcode & 0xf0) === JmpOp.JA;
      const { ref: _drop, ...meta } = insn.meta!;
      if (gotol) {
        out = { ...insn, off: 0, imm: delta, meta };
      } else if (delta >= -32768 && delta <= 32767) {
        out = { ...insn, off: delta, meta };
      } else if ((insn.opcode & 0xf0) === JmpOp.JA && (insn.opcode & 7) === Class.JMP) {
        if (rank < 4)
          fail('ASM_JUMP_RANGE', `jump to label '${ref.name}' spans ${delta} slots, beyond ±32767; only gotol (ISA v4, not ${isa}) reaches that far`, ref.name);
        out = { ...insn, opcode: Class.JMP32 | JmpOp.JA, off: 0, imm: delta, meta };
      } else {
        fail('ASM_JUMP_RANGE', `conditional jump to label '${ref.name}' spans ${delta} slots, beyond the ±32767 a 16-bit offset reaches`, ref.name);
      }
    } else if (ref?.kind === 'call') {
      const target = labels.get(ref.name);
      const isCall = insn.opcode === (Class.JMP | JmpOp.CALL) && insn.src === CallKind.PSEUDO_CALL;
      const isFuncAddr = insn.opcode === LDDW && insn.src === PseudoSource.FUNC;
      if (target && (isCall || isFuncAddr)) {
        const delta = target.slot - (pos[index]! + 1);
        const { ref: _drop, ...meta } = insn.meta!;
        out = isCall ? { ...insn, imm: delta, meta } : { ...insn, imm: delta, imm64: BigInt(delta >>> 0), meta };
      }
    }
    const why = invalidReason(out);
    if (why) fail('ISA_INVALID', why);
    const need = requiredIsa(out);
    if (isaRank(need) > rank) fail('ASM_ISA_LEVEL', `needs ISA ${need} but the target is ${isa}`);
    return out;
  });
}
