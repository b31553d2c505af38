/**
 * Size peepholes on finished instructions, run by `fitObject` before the size
 * check (a smaller program splits less and loads faster). Only rewrites that are
 * exact for every input and keep the verifier's view of the registers:
 *
 * - early returns: `if c goto +2; r0 = K; exit` becomes `if !c goto R` where R is
 *   a later `r0 = K; exit` of the same function (jumps stay forward, so no loop
 *   appears); the duplicate return disappears when nothing else reaches it;
 * - `wX = wX` right after a 32-bit ALU operation on `wX` (already zero-extended).
 *
 * Returns the input unchanged when nothing applies or re-assembly fails (e.g. a
 * jump would leave the 16-bit offset range).
 */
import { AluOp, Class, JmpOp, Source, assemble, type Instruction, type InstructionMeta } from '../isa/index.js';
import { buildFlow, isExit, isJump } from './flow.js';
import type { IsaLevel } from '../kernel/index.js';

const INVERSE: Partial<Record<number, number>> = {
  [JmpOp.JEQ]: JmpOp.JNE,
  [JmpOp.JNE]: JmpOp.JEQ,
  [JmpOp.JGT]: JmpOp.JLE,
  [JmpOp.JLE]: JmpOp.JGT,
  [JmpOp.JGE]: JmpOp.JLT,
  [JmpOp.JLT]: JmpOp.JGE,
  [JmpOp.JSGT]: JmpOp.JSLE,
  [JmpOp.JSLE]: JmpOp.JSGT,
  [JmpOp.JSGE]: JmpOp.JSLT,
  [JmpOp.JSLT]: JmpOp.JSGE,
};

/** `r0 = K` (64- or 32-bit move of an immediate): the constant as a key, else undefined. */
function returnConstant(i: Instruction): string | undefined {
  if (i.dst !== 0 || i.src !== 0 || i.off !== 0) return undefined;
  if (i.opcode === (Class.ALU64 | AluOp.MOV | Source.K)) return `64:${i.imm}`;
  if (i.opcode === (Class.ALU | AluOp.MOV | Source.K)) return `32:${i.imm >>> 0}`;
  return undefined;
}

/** Applies the peepholes to one function's instructions (`name` for messages). */
export function tighten(name: string, insns: readonly Instruction[], isa: IsaLevel): readonly Instruction[] {
  if (insns.length < 3) return insns;
  let flow;
  try {
    flow = buildFlow(name, insns);
  } catch {
    return insns;
  }
  const n = insns.length;
  const isReturnAt = (k: number) => k + 1 < n && returnConstant(insns[k]!) !== undefined && isExit(insns[k + 1]!);
  // Last return block of each constant, for forward redirection.
  const lastReturn = new Map<string, number>();
  for (let k = 0; k + 1 < n; k++) if (isReturnAt(k)) lastReturn.set(returnConstant(insns[k]!)!, k);
  const remove = new Set<number>();
  const retarget = new Map<number, { opcode: number; to: number }>();
  for (let j = 0; j + 2 < n; j++) {
    const jump = insns[j]!;
    if (!isJump(jump) || (jump.opcode & 0xf0) === JmpOp.JA || (jump.opcode & 0xf0) === JmpOp.JCOND) continue;
    const inv = INVERSE[jump.opcode & 0xf0];
    if (inv === undefined || flow.targets[j] !== j + 3 || !isReturnAt(j + 1)) continue;
    const canon = lastReturn.get(returnConstant(insns[j + 1]!)!)!;
    if (canon <= j + 1) continue;
    // Only this jump's fall-through may reach the duplicate return.
    if (flow.preds[j + 1]!.length !== 1 || flow.preds[j + 2]!.some((p) => p !== j + 1)) continue;
    retarget.set(j, { opcode: (jump.opcode & 0x0f) | inv, to: canon });
    remove.add(j + 1).add(j + 2);
  }
  for (let i = 0; i + 1 < n; i++) {
    const a = insns[i]!;
    const b = insns[i + 1]!;
    const cls = a.opcode & 7;
    const op = a.opcode & 0xf0;
    const selfMov32 = b.opcode === (Class.ALU | AluOp.MOV | Source.X) && b.dst === b.src && b.off === 0;
    if (cls === Class.ALU && op !== AluOp.END && selfMov32 && a.dst === b.dst && flow.preds[i + 1]!.length === 1 && !remove.has(i)) remove.add(i + 1);
  }
  if (remove.size === 0) return insns;
  // Rebuild with label references; a removed instruction's label moves to the next kept one.
  const label = (t: number) => `__tight${t}`;
  const keptAtOrAfter = new Array<number>(n + 1);
  keptAtOrAfter[n] = n;
  for (let i = n - 1; i >= 0; i--) keptAtOrAfter[i] = remove.has(i) ? keptAtOrAfter[i + 1]! : i;
  const out: Instruction[] = [];
  for (let i = 0; i < n; i++) {
    if (remove.has(i)) continue;
    const insn = insns[i]!;
    const { labels: _l, ref, ...rest } = insn.meta ?? ({} as InstructionMeta);
    const meta: { -readonly [K in keyof InstructionMeta]: InstructionMeta[K] } = { ...rest, labels: [label(i)] };
    let next: Instruction = insn;
    if (isJump(insn)) {
      const r = retarget.get(i);
      const target = keptAtOrAfter[r ? r.to : flow.targets[i]!]!;
      if (target >= n) return insns;
      meta.ref = { kind: 'label', name: label(target) };
      const gotol = (insn.opcode & 7) === Class.JMP32 && (insn.opcode & 0xf0) === JmpOp.JA;
      next = { ...insn, ...(r ? { opcode: r.opcode } : {}), off: 0, ...(gotol ? { imm: 0 } : {}) };
    } else if (ref) meta.ref = ref;
    out.push({ ...next, meta });
  }
  try {
    return assemble(out, { isa }).map((i) => {
      const { labels: _drop, ...meta } = i.meta ?? ({} as InstructionMeta);
      return { ...i, meta };
    });
  } catch {
    return insns;
  }
}
