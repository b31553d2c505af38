/** The instruction layer: opcodes, the Instruction value, codecs, assembler and disassembler. */
export * from './opcodes.js';
export * from './instruction.js';
