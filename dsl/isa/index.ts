/** The instruction layer: opcodes, the Instruction value, codecs, assembler and disassembler. */
export * from './opcodes.js';
export * from './instruction.js';
export * from './errors.js';
export { invalidReason, requiredIsa, isaRank, type IsaLevel } from './validate.js';
export { encode, decode, decodeOne, slotCount, lddwValue, describeInsn, SLOT_BYTES, type Decoded } from './codec.js';
export { insn, checkLabel, type Operand, type JumpTarget, type InsnName } from './insn.js';
export { Asm, asm, type AsmMethods } from './builder.js';
export { assemble, type AssembleOptions } from './assemble.js';
export { callerLocation, setSourceCapture } from './source.js';
export { parse, type ParseOptions } from './parse.js';
export { formatInstruction, hexImm, jumpDistance, jumpOffset, type PrintOptions } from './print.js';
export { disassemble, disassembleSection, type CodeSymbol, type SectionDumpOptions } from './objdump.js';
export { decodeLikeLlvm, type LlvmSlot } from './llvm-decode.js';
