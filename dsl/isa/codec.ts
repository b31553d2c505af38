/**
 * Binary codec: `Instruction[]` ⇄ little-endian bytes. `lddw` is one value with a
 * 64-bit `imm64` that occupies two 8-byte slots. Both directions validate, so bytes
 * produced here are always meaningful and bytes accepted here always print.
 */
import { AsmError, DecodeError } from './errors.js';
import { formatSource } from './errors.js';
import { slots, type Instruction } from './instruction.js';
import { LDDW } from './opcodes.js';
import { invalidReason } from './validate.js';
import { lddwValue } from './lddw.js';
import { formatInstruction } from './print.js';

/** Size in bytes of one instruction slot. */
export const SLOT_BYTES = 8;

/** The instruction's text for messages (label names instead of unresolved offsets), or undefined if invalid. */
function insnText(insn: Instruction): string | undefined {
  if (invalidReason(insn)) return undefined;
  const text = formatInstruction(insn, { alu32: true });
  const ref = insn.meta?.ref;
  if (ref?.kind === 'label') return text.replace(/[-+]0x[0-9a-f]+$/, ref.name);
  if (ref && (ref.kind === 'call' || ref.kind === 'kfunc') && (insn.opcode & 0xf7) === 0x85) return `call ${ref.name}`;
  if (ref && insn.opcode === 0x18) return text.replace(/ = .*$/, ` = ${ref.name} ll`).replace(/^ld_pseudo\tr(\d+), .*$/, `r$1 = ${ref.name} ll`);
  return text;
}

/** Describes an instruction for error messages: index, text, labels, source. */
export function describeInsn(insn: Instruction, index: number): string {
  const parts = [`instruction ${index}`];
  const text = insnText(insn);
  if (text) parts.push(`\`${text}\``);
  const labels = insn.meta?.labels;
  if (labels?.length) parts.push(`(label ${labels.map((l) => `'${l}'`).join(', ')})`);
  const src = formatSource(insn.meta?.source);
  if (src) parts.push(`at ${src}`);
  return parts.join(' ');
}

/** Total number of slots `insns` occupy. */
export function slotCount(insns: readonly Instruction[]): number {
  let n = 0;
  for (const i of insns) n += slots(i);
  return n;
}

export { lddwValue };

/**
 * Encodes instructions to bytes. Throws `AsmError` naming the instruction when one
 * is invalid or still carries an unresolved label reference (run `assemble()`
 * first). Map/global/call/kfunc references are encoded with their placeholder
 * fields; later layers emit relocations for them.
 */
export function encode(insns: readonly Instruction[]): Uint8Array {
  const out = new Uint8Array(slotCount(insns) * SLOT_BYTES);
  const view = new DataView(out.buffer);
  let pos = 0;
  insns.forEach((insn, index) => {
    const why = invalidReason(insn);
    if (why) throw new AsmError('ISA_INVALID', `${describeInsn(insn, index)}: ${why}`, { index });
    if (insn.meta?.ref?.kind === 'label')
      throw new AsmError(
        'ASM_UNRESOLVED',
        `${describeInsn(insn, index)}: jump to label '${insn.meta.ref.name}' is unresolved; assemble() the program before encoding`,
        { index, label: insn.meta.ref.name },
      );
    out[pos] = insn.opcode;
    out[pos + 1] = (insn.dst & 0x0f) | ((insn.src & 0x0f) << 4);
    view.setInt16(pos + 2, insn.off, true);
    if (insn.opcode === LDDW) {
      const v = BigInt.asUintN(64, lddwValue(insn));
      view.setUint32(pos + 4, Number(v & 0xffffffffn), true);
      view.setUint32(pos + 12, Number(v >> 32n), true);
    } else {
      view.setInt32(pos + 4, insn.imm, true);
    }
    pos += slots(insn) * SLOT_BYTES;
  });
  return out;
}

/** One decoded instruction and the number of bytes it took. */
export interface Decoded {
  readonly insn: Instruction;
  readonly size: 8 | 16;
}

/**
 * Decodes the instruction starting at byte `offset`. Throws `DecodeError` (naming
 * the byte offset) for truncated input, unknown opcodes, illegal size/mode
 * combinations, bad register numbers, non-zero reserved fields and a malformed
 * second `lddw` slot.
 */
export function decodeOne(bytes: Uint8Array, offset = 0): Decoded {
  if (offset + SLOT_BYTES > bytes.length)
    throw new DecodeError(offset, `truncated instruction: ${bytes.length - offset} of 8 bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const opcode = bytes[offset]!;
  const regs = bytes[offset + 1]!;
  const dst = regs & 0x0f;
  const src = regs >> 4;
  const off = view.getInt16(offset + 2, true);
  const imm = view.getInt32(offset + 4, true);
  if (opcode === LDDW) {
    if (offset + 2 * SLOT_BYTES > bytes.length)
      throw new DecodeError(offset, 'truncated lddw: the second slot is missing');
    const second = offset + SLOT_BYTES;
    if (bytes[second] !== 0 || bytes[second + 1] !== 0 || view.getInt16(second + 2, true) !== 0)
      throw new DecodeError(second, 'second slot of lddw must have zero opcode, registers and offset');
    const hi = view.getUint32(second + 4, true);
    const imm64 = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(imm >>> 0));
    const insn: Instruction = { opcode, dst, src, off, imm, imm64 };
    const why = invalidReason(insn);
    if (why) throw new DecodeError(offset, why);
    return { insn, size: 16 };
  }
  const insn: Instruction = { opcode, dst, src, off, imm };
  const why = invalidReason(insn);
  if (why) throw new DecodeError(offset, why);
  return { insn, size: 8 };
}

/** Decodes a whole byte stream (length must be a multiple of 8). */
export function decode(bytes: Uint8Array): Instruction[] {
  const out: Instruction[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const { insn, size } = decodeOne(bytes, offset);
    out.push(insn);
    offset += size;
  }
  return out;
}
