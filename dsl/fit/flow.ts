/**
 * The control-flow view of one function's instructions: every jump's target as an
 * instruction index (whether the jump still carries a `label` reference or an
 * already resolved slot offset), successors and predecessors of every
 * instruction, and the back edges (loops). Works on any producer's output (DSL
 * lowering, assembler, ELF reader), so fitting does not depend on how code was made.
 */
import { Class, JmpOp, slots, type Instruction } from '../isa/index.js';
import { FitError } from './errors.js';

/** Whether `insn` is a jump with a target (not call / exit). */
export function isJump(insn: Instruction): boolean {
  const cls = insn.opcode & 7;
  if (cls !== Class.JMP && cls !== Class.JMP32) return false;
  const op = insn.opcode & 0xf0;
  return op !== JmpOp.CALL && op !== JmpOp.EXIT;
}

/** Whether `insn` is an unconditional jump (`ja` or `gotol`). */
export function isUnconditional(insn: Instruction): boolean {
  return isJump(insn) && (insn.opcode & 0xf0) === JmpOp.JA;
}

/** Whether `insn` is `exit`. */
export function isExit(insn: Instruction): boolean {
  return insn.opcode === (Class.JMP | JmpOp.EXIT);
}

/** Control flow of a function. Indices are instruction indices (an `lddw` is one). */
export interface Flow {
  readonly insns: readonly Instruction[];
  /** Jump target index of each jump instruction (undefined for the rest). */
  readonly targets: readonly (number | undefined)[];
  readonly succ: readonly (readonly number[])[];
  readonly preds: readonly (readonly number[])[];
  /** Edges `from → to` with `to <= from` (loops). */
  readonly backEdges: readonly { readonly from: number; readonly to: number }[];
  /** Slot position of each instruction, and the total slot count at the end. */
  readonly slotPos: readonly number[];
  readonly slotCount: number;
}

/** Builds the control flow of `insns` (of program `name`, for error messages). */
export function buildFlow(name: string, insns: readonly Instruction[]): Flow {
  const n = insns.length;
  const slotPos: number[] = [];
  const slotToIndex = new Map<number, number>();
  const labels = new Map<string, number>();
  let slot = 0;
  insns.forEach((insn, i) => {
    slotPos.push(slot);
    slotToIndex.set(slot, i);
    for (const l of insn.meta?.labels ?? []) labels.set(l, i);
    slot += slots(insn);
  });
  slotToIndex.set(slot, n);
  const targets: (number | undefined)[] = new Array(n).fill(undefined);
  const succ: number[][] = [];
  const preds: number[][] = Array.from({ length: n }, () => []);
  const backEdges: { from: number; to: number }[] = [];
  for (let i = 0; i < n; i++) {
    const insn = insns[i]!;
    const out: number[] = [];
    if (isJump(insn)) {
      let t: number | undefined;
      const ref = insn.meta?.ref;
      if (ref?.kind === 'label') {
        t = labels.get(ref.name);
        if (t === undefined) throw new FitError('FIT_UNKNOWN_LABEL', name, `jump to unknown label '${ref.name}'`, { index: i, source: insn.meta?.source });
      } else {
        const gotol = (insn.opcode & 7) === Class.JMP32 && (insn.opcode & 0xf0) === JmpOp.JA;
        const delta = gotol ? insn.imm : insn.off;
        t = slotToIndex.get(slotPos[i]! + 1 + delta);
        if (t === undefined || t >= n)
          throw new FitError('FIT_BAD_JUMP', name, `jump offset ${delta} lands outside the program or inside an lddw`, { index: i, source: insn.meta?.source });
      }
      targets[i] = t;
      if (!isUnconditional(insn) && i + 1 < n) out.push(i + 1);
      if (!out.includes(t)) out.push(t);
    } else if (!isExit(insn) && i + 1 < n) {
      out.push(i + 1);
    }
    for (const s of out) {
      preds[s]!.push(i);
      if (s <= i) backEdges.push({ from: i, to: s });
    }
    succ.push(out);
  }
  return { insns, targets, succ, preds, backEdges, slotPos, slotCount: slot };
}
