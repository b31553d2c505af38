/**
 * MIR over physical registers → dsl/isa Instructions. Every instruction carries the
 * TypeScript source location of the IR node it came from (→ BTF line_info), labels
 * ride on the instruction that follows them, and `assemble` (run by the caller)
 * resolves them. Nothing above the profile's ISA level is produced here: the
 * linearizer already chose the forms.
 */
import { insn, regName, setSourceCapture, type Instruction, type InstructionMeta, type WritableRegister } from '../isa/index.js';
import type { MInsn, MOperand } from './mir.js';

const R = (n: number) => regName(n) as WritableRegister;
const op = (s: MOperand) => (typeof s === 'number' ? regName(s) : Number(BigInt.asIntN(32, s)));

const ALU = {
  64: { add: insn.add64, sub: insn.sub64, mul: insn.mul64, div: insn.div64, mod: insn.mod64, sdiv: insn.sdiv64, smod: insn.smod64, and: insn.and64, or: insn.or64, xor: insn.xor64, lsh: insn.lsh64, rsh: insn.rsh64, arsh: insn.arsh64 },
  32: { add: insn.add32, sub: insn.sub32, mul: insn.mul32, div: insn.div32, mod: insn.mod32, sdiv: insn.sdiv32, smod: insn.smod32, and: insn.and32, or: insn.or32, xor: insn.xor32, lsh: insn.lsh32, rsh: insn.rsh32, arsh: insn.arsh32 },
} as const;
const JMP = {
  64: { eq: insn.jeq, ne: insn.jne, gt: insn.jgt, ge: insn.jge, lt: insn.jlt, le: insn.jle, sgt: insn.jsgt, sge: insn.jsge, slt: insn.jslt, sle: insn.jsle, set: insn.jset },
  32: { eq: insn.jeq32, ne: insn.jne32, gt: insn.jgt32, ge: insn.jge32, lt: insn.jlt32, le: insn.jle32, sgt: insn.jsgt32, sge: insn.jsge32, slt: insn.jslt32, sle: insn.jsle32, set: insn.jset32 },
} as const;
const LD = { 1: insn.ldxb, 2: insn.ldxh, 4: insn.ldxw, 8: insn.ldxdw } as const;
const ST = { 1: insn.stb, 2: insn.sth, 4: insn.stw, 8: insn.stdw } as const;
const STX = { 1: insn.stxb, 2: insn.stxh, 4: insn.stxw, 8: insn.stxdw } as const;
const ATOMIC = {
  4: { add: insn.atomicAdd32, or: insn.atomicOr32, and: insn.atomicAnd32, xor: insn.atomicXor32 },
  8: { add: insn.atomicAdd64, or: insn.atomicOr64, and: insn.atomicAnd64, xor: insn.atomicXor64 },
} as const;
const FETCH = {
  4: { add: insn.atomicFetchAdd32, or: insn.atomicFetchOr32, and: insn.atomicFetchAnd32, xor: insn.atomicFetchXor32 },
  8: { add: insn.atomicFetchAdd64, or: insn.atomicFetchOr64, and: insn.atomicFetchAnd64, xor: insn.atomicFetchXor64 },
} as const;

function one(i: MInsn): Instruction | undefined {
  switch (i.k) {
    case 'mov':
      return i.w === 64 ? insn.mov64(R(i.d), op(i.s)) : insn.mov32(R(i.d), op(i.s));
    case 'alu':
      return ALU[i.w][i.op](R(i.d), op(i.s));
    case 'neg':
      return i.w === 64 ? insn.neg64(R(i.d)) : insn.neg32(R(i.d));
    case 'end':
      return insn.be(R(i.d), i.bits);
    case 'lddw':
      if (i.ref === 'map') return insn.ldMapFd(R(i.d), i.name);
      if (i.ref === 'global') return insn.ldGlobal(R(i.d), i.name, i.offset);
      if (i.ref === 'func') return insn.ldFunc(R(i.d), i.name);
      return insn.lddw(R(i.d), i.value);
    case 'ld':
      return LD[i.size](R(i.d), regName(i.base), i.off);
    case 'st':
      return typeof i.s === 'bigint' ? ST[i.size](regName(i.base), i.off, Number(i.s)) : STX[i.size](regName(i.base), i.off, regName(i.s));
    case 'atomic':
      return i.fetch ? FETCH[i.size][i.aop](regName(i.base), i.off, R(i.s)) : ATOMIC[i.size][i.aop](regName(i.base), i.off, regName(i.s));
    case 'jcc':
      return JMP[i.w][i.cmp](regName(i.a), op(i.b), i.target);
    case 'ja':
      return insn.ja(i.target);
    case 'call':
      return i.fn !== undefined ? insn.callFunc(i.fn) : insn.call(i.helper);
    case 'exit':
      return insn.exit();
    case 'label':
      return undefined;
  }
}

/** Emits instructions (labels still symbolic); `entryLabel` names the first instruction. */
export function emit(code: readonly MInsn[], entryLabel?: string): Instruction[] {
  const was = setSourceCapture(false);
  try {
    const out: Instruction[] = [];
    let pending: string[] = entryLabel ? [entryLabel] : [];
    for (const m of code) {
      if (m.k === 'label') {
        pending.push(m.name);
        continue;
      }
      const i = one(m)!;
      const meta: { -readonly [K in keyof InstructionMeta]: InstructionMeta[K] } = { ...(i.meta ?? {}) };
      if (m.src) meta.source = m.src;
      if (pending.length) {
        meta.labels = pending;
        pending = [];
      }
      out.push(Object.keys(meta).length ? { ...i, meta } : i);
    }
    return out;
  } finally {
    setSourceCapture(was);
  }
}
