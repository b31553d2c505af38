/**
 * Which field combinations form a valid instruction. One table of rules shared by
 * the encoder (refuse to emit garbage) and the decoder (refuse to invent meaning
 * for garbage). The rules follow the kernel verifier's "reserved fields must be
 * zero" checks, so anything accepted here is also what LLVM 19 can print.
 */
import { ADDR_SPACE_CAST_OFF, AluOp, AtomicOp, Class, JmpOp, LDDW, Mode, Size } from './opcodes.js';
import type { Instruction } from './instruction.js';

const aluOps = new Set<number>(Object.values(AluOp));
const jmpOps = new Set<number>(Object.values(JmpOp));
const atomicImms = new Set<number>([
  AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR,
  AtomicOp.ADD | AtomicOp.FETCH, AtomicOp.OR | AtomicOp.FETCH,
  AtomicOp.AND | AtomicOp.FETCH, AtomicOp.XOR | AtomicOp.FETCH,
  AtomicOp.XCHG, AtomicOp.CMPXCHG,
]);

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

/** Whether `n` is an integer in [lo, hi]. */
function inRange(n: number, lo: number, hi: number): boolean {
  return Number.isInteger(n) && n >= lo && n <= hi;
}

/**
 * Returns why `insn` is not a valid instruction, or `undefined` when it is. Checks
 * field ranges, that the opcode exists, that size/mode/source combine legally and
 * that fields the instruction does not use are zero.
 */
export function invalidReason(insn: Instruction): string | undefined {
  const { opcode, dst, src, off, imm } = insn;
  if (!inRange(opcode, 0, 255)) return `opcode ${opcode} is not a byte`;
  if (!inRange(dst, 0, 15) || dst > 10) return `bad destination register number ${dst} (r0–r10)`;
  if (!inRange(src, 0, 15)) return `bad source field ${src}`;
  if (!inRange(off, -32768, 32767)) return `offset ${off} does not fit in 16 signed bits`;
  if (!inRange(imm, -0x80000000, 0x7fffffff)) return `immediate ${imm} does not fit in 32 signed bits`;
  const cls = opcode & 0x07;
  const op = opcode & 0xf0;
  const x = (opcode & 0x08) !== 0;
  const size = opcode & 0x18;
  const mode = opcode & 0xe0;
  const reserved = (what: string) => `opcode ${hex(opcode)}: ${what} must be zero`;
  const needSrcReg = () => (src > 10 ? `bad source register number ${src} (r0–r10)` : undefined);

  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const is64 = cls === Class.ALU64;
      if (!aluOps.has(op)) return `unknown ALU operation in opcode ${hex(opcode)}`;
      if (op === AluOp.END) {
        if (is64 && x) return `opcode ${hex(opcode)}: 64-bit byte swap has no register form`;
        if (imm !== 16 && imm !== 32 && imm !== 64) return `byte swap width must be 16, 32 or 64, not ${imm}`;
        if (src !== 0) return reserved('source register');
        if (off !== 0) return reserved('offset');
        return undefined;
      }
      if (op === AluOp.NEG) {
        if (x) return `opcode ${hex(opcode)}: neg has no register form`;
        if (src !== 0) return reserved('source register');
        if (off !== 0) return reserved('offset');
        if (imm !== 0) return reserved('immediate');
        return undefined;
      }
      const addrSpaceCast = is64 && x && op === AluOp.MOV && off === ADDR_SPACE_CAST_OFF;
      if (x) {
        const bad = needSrcReg();
        if (bad) return bad;
        if (imm !== 0 && !addrSpaceCast) return reserved('immediate');
      } else if (src !== 0) return reserved('source register');
      if (addrSpaceCast) return undefined;
      if (op === AluOp.DIV || op === AluOp.MOD) {
        if (off !== 0 && off !== 1) return `opcode ${hex(opcode)}: offset must be 0 (unsigned) or 1 (signed), not ${off}`;
      } else if (op === AluOp.MOV && x) {
        const ok = is64 ? [0, 8, 16, 32] : [0, 8, 16];
        if (!ok.includes(off)) return `opcode ${hex(opcode)}: sign-extension width must be one of ${ok.join(', ')}, not ${off}`;
      } else if (off !== 0) return reserved('offset');
      return undefined;
    }
    case Class.JMP:
    case Class.JMP32: {
      const is32 = cls === Class.JMP32;
      if (!jmpOps.has(op)) return `unknown jump operation in opcode ${hex(opcode)}`;
      if (op === JmpOp.JA) {
        if (x) return `opcode ${hex(opcode)}: ja has no register form`;
        if (dst !== 0) return reserved('destination register');
        if (src !== 0) return reserved('source register');
        if (is32 ? off !== 0 : imm !== 0) return reserved(is32 ? 'offset' : 'immediate');
        return undefined;
      }
      if (op === JmpOp.JCOND) {
        if (is32 || x) return `opcode ${hex(opcode)}: may_goto exists only as 0xe5`;
        if (dst !== 0 || src !== 0 || imm !== 0) return reserved('destination, source (BPF_MAY_GOTO = 0) and immediate of may_goto');
        return undefined;
      }
      if (op === JmpOp.CALL) {
        if (is32 || x) return `opcode ${hex(opcode)}: call exists only as 0x85`;
        if (src > 2) return `call source ${src} is not 0 (helper), 1 (bpf-to-bpf) or 2 (kfunc)`;
        if (dst !== 0) return reserved('destination register');
        if (off !== 0) return reserved('offset');
        return undefined;
      }
      if (op === JmpOp.EXIT) {
        if (is32 || x) return `opcode ${hex(opcode)}: exit exists only as 0x95`;
        if (dst !== 0 || src !== 0 || off !== 0 || imm !== 0) return reserved('every field of exit');
        return undefined;
      }
      if (x) {
        const bad = needSrcReg();
        if (bad) return bad;
        if (imm !== 0) return reserved('immediate');
      } else if (src !== 0) return reserved('source register');
      return undefined;
    }
    case Class.LD: {
      if (opcode === LDDW) {
        if (src > 6) return `lddw pseudo source ${src} is not 0–6`;
        if (off !== 0) return reserved('offset');
        if (insn.imm64 !== undefined && BigInt.asIntN(64, insn.imm64) !== insn.imm64)
          return `lddw immediate ${insn.imm64} does not fit in 64 signed bits`;
        return undefined;
      }
      if (mode === Mode.ABS || mode === Mode.IND) {
        if (size === Size.DW) return `opcode ${hex(opcode)}: legacy packet loads have no DW size`;
        if (dst !== 0) return reserved('destination register');
        if (off !== 0) return reserved('offset');
        if (mode === Mode.ABS) {
          if (src !== 0) return reserved('source register');
        } else return needSrcReg();
        return undefined;
      }
      return `opcode ${hex(opcode)}: class LD allows only lddw (0x18) and ABS/IND modes`;
    }
    case Class.LDX: {
      if (mode === Mode.MEMSX) {
        if (size === Size.DW) return `opcode ${hex(opcode)}: sign-extending load has no DW size`;
      } else if (mode !== Mode.MEM) return `opcode ${hex(opcode)}: class LDX allows only MEM and MEMSX modes`;
      if (imm !== 0) return reserved('immediate');
      return needSrcReg();
    }
    case Class.ST: {
      if (mode !== Mode.MEM) return `opcode ${hex(opcode)}: class ST allows only MEM mode`;
      if (src !== 0) return reserved('source register');
      return undefined;
    }
    default: {
      // Class.STX
      if (mode === Mode.ATOMIC) {
        if (size !== Size.W && size !== Size.DW) return `opcode ${hex(opcode)}: atomics exist only in W and DW sizes`;
        if (!atomicImms.has(imm)) return `unknown atomic operation ${hex(imm)} in immediate`;
        return needSrcReg();
      }
      if (mode !== Mode.MEM) return `opcode ${hex(opcode)}: class STX allows only MEM and ATOMIC modes`;
      if (imm !== 0) return reserved('immediate');
      return needSrcReg();
    }
  }
}

/**
 * ISA levels as `-mcpu` names them. v1 base, v2 (4.14), v3 (5.1), v4 (6.6). The
 * 6.9 additions LLVM 19 knows (`may_goto`, `addr_space_cast`) are counted as v4.
 */
export type IsaLevel = 'v1' | 'v2' | 'v3' | 'v4';

/** Numeric rank of an ISA level, for comparisons. */
export function isaRank(level: IsaLevel): 1 | 2 | 3 | 4 {
  return Number(level.slice(1)) as 1 | 2 | 3 | 4;
}

/** The lowest ISA level that has `insn` (assumed valid). */
export function requiredIsa(insn: Instruction): IsaLevel {
  const { opcode, off, imm } = insn;
  const cls = opcode & 0x07;
  const op = opcode & 0xf0;
  if (cls === Class.ALU || cls === Class.ALU64) {
    if ((op === AluOp.DIV || op === AluOp.MOD) && off === 1) return 'v4';
    if (op === AluOp.MOV && off !== 0) return 'v4'; // movsx, addr_space_cast
    if (op === AluOp.END && cls === Class.ALU64) return 'v4';
    return 'v1';
  }
  if (cls === Class.JMP32) return op === JmpOp.JA ? 'v4' : 'v3';
  if (cls === Class.JMP) {
    if (op === JmpOp.JLT || op === JmpOp.JLE || op === JmpOp.JSLT || op === JmpOp.JSLE) return 'v2';
    if (op === JmpOp.JCOND) return 'v4';
    return 'v1';
  }
  if (cls === Class.LDX && (opcode & 0xe0) === Mode.MEMSX) return 'v4';
  if (cls === Class.STX && (opcode & 0xe0) === Mode.ATOMIC && imm !== AtomicOp.ADD) return 'v3';
  return 'v1';
}
