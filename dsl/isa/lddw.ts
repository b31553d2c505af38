/** The 64-bit immediate of an `lddw` (kept apart so the codec and the printer can share it). */
import type { Instruction } from './instruction.js';

/** The 64-bit immediate of an `lddw`: `imm64` when present, else `imm` sign-extended. */
export function lddwValue(insn: Instruction): bigint {
  return insn.imm64 ?? BigInt(insn.imm);
}
