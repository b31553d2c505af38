/**
 * How llvm-objdump-19 reads an arbitrary slot, for `tsbpf dump`. LLVM's BPF
 * decoder is more lenient than ours (and the kernel's): it ignores fields an
 * instruction does not print, accepts r11, decodes `callx`, reads only the
 * immediate of an `lddw`'s second slot and only the low byte of an atomic's
 * immediate. To print exactly what llvm-objdump prints for any bytes, this module
 * canonicalises a slot the way LLVM's decoder sees it (ignored fields cleared),
 * then validates and prints it with the normal printer.
 *
 * The rules were established empirically against llvm-objdump 19 (every opcode ×
 * field variations); test/isa/llvm-crosscheck.test.ts checks them on random bytes.
 */
import type { Instruction } from './instruction.js';
import { ADDR_SPACE_CAST_OFF, AluOp, Class, JmpOp, LDDW, Mode } from './opcodes.js';
import { formatInstruction } from './print.js';
import { invalidReason } from './validate.js';

/** One slot as llvm-objdump shows it. */
export interface LlvmSlot {
  /** Bytes consumed: 16 for lddw, 8 normally, 1 when fewer bytes remain than needed. */
  readonly size: number;
  /** Printed text (`<unknown>` when LLVM cannot decode it). */
  readonly text: string;
  /** The instruction as LLVM understood it, when decoded. */
  readonly insn?: Instruction;
}

const UNKNOWN8: LlvmSlot = { size: 8, text: '<unknown>' };
const UNKNOWN1: LlvmSlot = { size: 1, text: '<unknown>' };

/** Field values LLVM ignores for this opcode are cleared; `undefined` when LLVM rejects the slot. */
function canonical(i: Instruction, alu32: boolean): Instruction | undefined {
  const { opcode } = i;
  const cls = opcode & 7;
  const op = opcode & 0xf0;
  const x = (opcode & 0x08) !== 0;
  const mode = opcode & 0xe0;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64:
      if (op === AluOp.END) return { ...i, src: 0, off: 0 };
      if (op === AluOp.NEG) return { ...i, src: 0, off: 0, imm: 0 };
      if (!x) return { ...i, src: 0 };
      if (cls === Class.ALU64 && op === AluOp.MOV && i.off === ADDR_SPACE_CAST_OFF) return i;
      return { ...i, imm: 0 };
    case Class.JMP:
    case Class.JMP32:
      if (op === JmpOp.JA) return cls === Class.JMP ? { ...i, dst: 0, src: 0, imm: 0 } : { ...i, dst: 0, src: 0, off: 0 };
      if (op === JmpOp.CALL) return { ...i, dst: 0, src: 0, off: 0 };
      if (op === JmpOp.EXIT) return { ...i, dst: 0, src: 0, off: 0 };
      if (op === JmpOp.JCOND) return { ...i, dst: 0, src: 0, imm: 0 };
      return x ? { ...i, imm: 0 } : { ...i, src: 0 };
    case Class.LD:
      if (mode === Mode.ABS) return { ...i, dst: 0, src: 0, off: 0 };
      if (mode === Mode.IND) return { ...i, dst: 0, off: 0, imm: 0 };
      return i;
    case Class.LDX:
      return { ...i, imm: 0 };
    case Class.ST:
      return { ...i, src: 0 };
    default: {
      if (mode !== Mode.ATOMIC) return { ...i, imm: 0 };
      // Only the low byte of imm is decoded: high nibble = operation, low nibble 1 = fetch.
      const b = i.imm & 0xff;
      const aop = b >> 4;
      const fetch = (b & 0xf) === 1;
      const is64 = (opcode & 0x18) === 0x18;
      if (!is64 && !alu32) return aop === 0 ? { ...i, imm: 0 } : undefined;
      if (aop === 0 || aop === 4 || aop === 5 || aop === 0xa) return { ...i, imm: (aop << 4) | (fetch ? 1 : 0) };
      if ((aop === 0xe || aop === 0xf) && fetch) return { ...i, imm: b };
      return undefined;
    }
  }
}

/** Register fields LLVM decodes accept r0–r11 (r11 exists in LLVM's register file); 12–15 fail. */
function validWithR11(i: Instruction): boolean {
  if (i.dst > 11 || i.src > 11) return false;
  const probe = { ...i, dst: i.dst === 11 ? 1 : i.dst, src: i.src === 11 ? 1 : i.src };
  return invalidReason(probe) === undefined;
}

/** Decodes the slot at byte `at` of a section the way llvm-objdump 19 does. */
export function decodeLikeLlvm(section: Uint8Array, at: number, options: { alu32?: boolean } = {}): LlvmSlot {
  const avail = section.length - at;
  if (avail < 8) return UNKNOWN1;
  const view = new DataView(section.buffer, section.byteOffset + at, avail);
  const opcode = section[at]!;
  const dst = section[at + 1]! & 0x0f;
  const src = section[at + 1]! >> 4;
  const off = view.getInt16(2, true);
  const imm = view.getInt32(4, true);
  if (opcode === LDDW) {
    if (off !== 0 || dst > 11) return UNKNOWN8;
    if (avail < 16) return UNKNOWN1;
    const hi = view.getUint32(12, true);
    const insn: Instruction = { opcode, dst, src, off: 0, imm, imm64: BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(imm >>> 0)) };
    return { size: 16, text: formatInstruction(insn, options), insn };
  }
  if (opcode === (Class.JMP | JmpOp.CALL | 0x08)) {
    // callx: register in dst; everything else ignored. The kernel has no such instruction.
    return dst > 11 ? UNKNOWN8 : { size: 8, text: `callx r${dst}` };
  }
  const insn = canonical({ opcode, dst, src, off, imm }, options.alu32 ?? false);
  if (!insn || !validWithR11(insn)) return UNKNOWN8;
  return { size: 8, text: formatInstruction(insn, options), insn };
}
