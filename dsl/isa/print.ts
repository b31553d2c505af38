/**
 * Instruction → text, exactly as `llvm-objdump-19 -d` prints it (the BPF
 * InstPrinter of LLVM 19): immediates and offsets in signed hex (`0x4`, `-0x10`),
 * `ll` for 64-bit immediates, `ld_pseudo` for lddw with a pseudo source, `w`
 * registers for 32-bit ALU/JMP32.
 *
 * `alu32` mirrors `llvm-objdump --mattr=+alu32`: sub-64-bit loads/stores and
 * 32-bit atomics then print their `w` register forms. Without it, LLVM 19 prints
 * 32-bit atomics other than add as `<unknown>` (and add-with-fetch as a plain
 * add); we reproduce that so `tsbpf dump` matches llvm-objdump's default output.
 */
import type { Instruction } from './instruction.js';
import { ADDR_SPACE_CAST_OFF, AluOp, AtomicOp, Class, JmpOp, LDDW, Mode, Size } from './opcodes.js';
import { lddwValue } from './lddw.js';

/** Options shared by the printer and the disassembler. */
export interface PrintOptions {
  /** Print as `llvm-objdump --mattr=+alu32` does (see module comment). */
  readonly alu32?: boolean;
}

/** LLVM's signed hex: `0x0`, `0x1f`, `-0x10`. */
export function hexImm(v: number | bigint): string {
  const n = BigInt(v);
  return n < 0n ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

const aluText: Record<number, string> = {
  [AluOp.ADD]: '+=', [AluOp.SUB]: '-=', [AluOp.MUL]: '*=', [AluOp.DIV]: '/=', [AluOp.OR]: '|=',
  [AluOp.AND]: '&=', [AluOp.LSH]: '<<=', [AluOp.RSH]: '>>=', [AluOp.MOD]: '%=', [AluOp.XOR]: '^=',
  [AluOp.MOV]: '=', [AluOp.ARSH]: 's>>=',
};
const jmpText: Record<number, string> = {
  [JmpOp.JEQ]: '==', [JmpOp.JGT]: '>', [JmpOp.JGE]: '>=', [JmpOp.JSET]: '&', [JmpOp.JNE]: '!=',
  [JmpOp.JSGT]: 's>', [JmpOp.JSGE]: 's>=', [JmpOp.JLT]: '<', [JmpOp.JLE]: '<=', [JmpOp.JSLT]: 's<', [JmpOp.JSLE]: 's<=',
};
const sizeName: Record<number, string> = { [Size.B]: '8', [Size.H]: '16', [Size.W]: '32', [Size.DW]: '64' };
const atomicName: Record<number, string> = { [AtomicOp.ADD]: 'add', [AtomicOp.OR]: 'or', [AtomicOp.AND]: 'and', [AtomicOp.XOR]: 'xor' };
const atomicOpText: Record<number, string> = { [AtomicOp.ADD]: '+=', [AtomicOp.OR]: '|=', [AtomicOp.AND]: '&=', [AtomicOp.XOR]: '^=' };

/** `(r2 + 0x4)` / `(r10 - 0x8)`. */
function memRef(base: number, off: number): string {
  return `(${memInner(base, off)})`;
}

/** `r2 + 0x4` / `r10 - 0x8`. */
function memInner(base: number, off: number): string {
  return off < 0 ? `r${base} - ${hexImm(-off)}` : `r${base} + ${hexImm(off)}`;
}

/** Signed jump distance as LLVM prints it: `+0x3`, `-0x1`, `+0x0`. */
export function jumpDistance(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `+0x${n.toString(16)}`;
}

/** The jump distance of a jump instruction in slots (off, or imm for gotol); undefined if not a jump. */
export function jumpOffset(insn: Instruction): number | undefined {
  const cls = insn.opcode & 7;
  if (cls !== Class.JMP && cls !== Class.JMP32) return undefined;
  const op = insn.opcode & 0xf0;
  if (op === JmpOp.CALL || op === JmpOp.EXIT) return undefined;
  if (op === JmpOp.JA && cls === Class.JMP32) return insn.imm;
  return insn.off;
}

/** Text of one valid instruction, without a jump-target annotation. */
export function formatInstruction(insn: Instruction, options: PrintOptions = {}): string {
  const { opcode, dst, src, off, imm } = insn;
  const cls = opcode & 7;
  const op = opcode & 0xf0;
  const x = (opcode & 0x08) !== 0;
  const size = opcode & 0x18;
  const mode = opcode & 0xe0;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const r = cls === Class.ALU64 ? 'r' : 'w';
      if (op === AluOp.END) {
        const kind = cls === Class.ALU64 ? 'bswap' : x ? 'be' : 'le';
        return `r${dst} = ${kind}${imm} r${dst}`;
      }
      if (op === AluOp.NEG) return `${r}${dst} = -${r}${dst}`;
      if (op === AluOp.MOV && x && off === ADDR_SPACE_CAST_OFF && cls === Class.ALU64)
        return `r${dst} = addr_space_cast(r${src}, ${hexImm(imm >>> 16)}, ${hexImm(imm & 0xffff)})`;
      if (op === AluOp.MOV && x && off !== 0) return `${r}${dst} = (s${off})${r}${src}`;
      const signed = (op === AluOp.DIV || op === AluOp.MOD) && off === 1 ? 's' : '';
      const rhs = x ? `${r}${src}` : hexImm(imm);
      return `${r}${dst} ${signed}${aluText[op]} ${rhs}`;
    }
    case Class.JMP:
    case Class.JMP32: {
      if (op === JmpOp.JA) return cls === Class.JMP32 ? `gotol ${jumpDistance(imm)}` : `goto ${jumpDistance(off)}`;
      if (op === JmpOp.JCOND) return `may_goto ${jumpDistance(off)}`;
      if (op === JmpOp.CALL) return `call ${hexImm(imm)}`;
      if (op === JmpOp.EXIT) return 'exit';
      const r = cls === Class.JMP ? 'r' : 'w';
      const rhs = x ? `${r}${src}` : hexImm(imm);
      return `if ${r}${dst} ${jmpText[op]} ${rhs} goto ${jumpDistance(off)}`;
    }
    case Class.LD: {
      if (opcode === LDDW) {
        if (src === 0) return `r${dst} = ${hexImm(lddwValue(insn))} ll`;
        return `ld_pseudo\tr${dst}, ${hexImm(src)}, ${hexImm(imm >>> 0)}`;
      }
      const where = mode === Mode.ABS ? hexImm(imm) : `r${src}`;
      return `r0 = *(u${sizeName[size]} *)skb[${where}]`;
    }
    case Class.LDX: {
      const sx = mode === Mode.MEMSX;
      const r = options.alu32 && size !== Size.DW && !sx ? 'w' : 'r';
      return `${r}${dst} = *(${sx ? 's' : 'u'}${sizeName[size]} *)${memRef(src, off)}`;
    }
    case Class.ST:
      return `*(u${sizeName[size]} *)${memRef(dst, off)} = ${hexImm(imm)}`;
    default: {
      // STX
      if (mode === Mode.ATOMIC) return formatAtomic(insn, options);
      const r = options.alu32 && size !== Size.DW ? 'w' : 'r';
      return `*(u${sizeName[size]} *)${memRef(dst, off)} = ${r}${src}`;
    }
  }
}

function formatAtomic(insn: Instruction, options: PrintOptions): string {
  const { opcode, dst, src, off, imm } = insn;
  const is64 = (opcode & 0x18) === Size.DW;
  if (!is64 && !options.alu32) {
    // LLVM 19 without +alu32 decodes only the legacy 32-bit add (fetch bit ignored).
    if (imm === AtomicOp.ADD || imm === (AtomicOp.ADD | AtomicOp.FETCH)) return `lock *(u32 *)${memRef(dst, off)} += r${src}`;
    return '<unknown>';
  }
  const r = is64 ? 'r' : 'w';
  const bits = is64 ? '64' : '32';
  const addr = `${memRef(dst, off)}`;
  const inner = memInner(dst, off);
  if (imm === AtomicOp.XCHG) return `${r}${src} = xchg${is64 ? '' : '32'}_${bits}(${inner}, ${r}${src})`;
  if (imm === AtomicOp.CMPXCHG) return `${r}0 = cmpxchg${is64 ? '' : '32'}_${bits}(${inner}, ${r}0, ${r}${src})`;
  const base = imm & ~AtomicOp.FETCH;
  if (imm & AtomicOp.FETCH) return `${r}${src} = atomic_fetch_${atomicName[base]}((u${bits} *)${addr}, ${r}${src})`;
  return `lock *(u${bits} *)${addr} ${atomicOpText[base]} ${r}${src}`;
}
