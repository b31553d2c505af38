/**
 * The machine-level IR between linearisation and register allocation: BPF-shaped
 * two-address instructions over registers that are either physical (0–10) or
 * virtual (≥ FIRST_VREG), with labels. Register allocation rewrites virtual
 * registers to physical ones (inserting spill code); emission turns the result
 * into dsl/isa Instructions.
 */
import type { SourceLocation } from '../isa/index.js';
import type { AccessSize, CmpKind, Width } from '../ir/index.js';

/** A register: physical (0–10) or virtual (≥ 16). */
export type Reg = number;
/** A register or a constant (bigint, any 64-bit pattern). */
export type MOperand = Reg | bigint;
/** Two-address ALU operations. */
export type MAluOp = 'add' | 'sub' | 'mul' | 'div' | 'mod' | 'sdiv' | 'smod' | 'and' | 'or' | 'xor' | 'lsh' | 'rsh' | 'arsh';

interface At {
  readonly src?: SourceLocation | undefined;
}

/** One machine instruction. */
export type MInsn = At &
  (
    | { readonly k: 'mov'; readonly d: Reg; readonly s: MOperand; readonly w: Width }
    | { readonly k: 'alu'; readonly op: MAluOp; readonly d: Reg; readonly s: MOperand; readonly w: Width }
    | { readonly k: 'neg'; readonly d: Reg; readonly w: Width }
    | { readonly k: 'end'; readonly d: Reg; readonly bits: 16 | 32 | 64 }
    | { readonly k: 'lddw'; readonly d: Reg; readonly ref: 'imm' | 'map' | 'global' | 'func'; readonly value: bigint; readonly name: string; readonly offset: number }
    | { readonly k: 'ld'; readonly d: Reg; readonly base: Reg; readonly off: number; readonly size: AccessSize }
    | { readonly k: 'st'; readonly base: Reg; readonly off: number; readonly size: AccessSize; readonly s: MOperand }
    | { readonly k: 'atomic'; readonly aop: 'add' | 'or' | 'and' | 'xor'; readonly fetch: boolean; readonly base: Reg; readonly off: number; readonly size: 4 | 8; readonly s: Reg }
    | { readonly k: 'jcc'; readonly cmp: CmpKind; readonly a: Reg; readonly b: MOperand; readonly w: Width; readonly target: string }
    | { readonly k: 'ja'; readonly target: string }
    | { readonly k: 'label'; readonly name: string }
    | { readonly k: 'call'; readonly helper: number; readonly fn: string | undefined; readonly nargs: number }
    | { readonly k: 'exit' }
  );

/** The frame pointer. */
export const FP = 10;

/** Registers an instruction reads (virtual and physical, never r10). */
export function usesOf(i: MInsn): Reg[] {
  const out: Reg[] = [];
  const r = (x: MOperand | undefined) => {
    if (typeof x === 'number' && x !== FP) out.push(x);
  };
  switch (i.k) {
    case 'mov':
      r(i.s);
      break;
    case 'alu':
      r(i.d);
      r(i.s);
      break;
    case 'neg':
    case 'end':
      r(i.d);
      break;
    case 'ld':
      r(i.base);
      break;
    case 'st':
      r(i.base);
      r(i.s);
      break;
    case 'atomic':
      r(i.base);
      r(i.s);
      break;
    case 'jcc':
      r(i.a);
      r(i.b);
      break;
    case 'call':
      for (let k = 1; k <= i.nargs; k++) out.push(k);
      break;
    case 'exit':
      out.push(0);
      break;
  }
  return out;
}

/** Registers an instruction writes (a call clobbers r0–r5). */
export function defsOf(i: MInsn): Reg[] {
  switch (i.k) {
    case 'mov':
    case 'alu':
    case 'neg':
    case 'end':
    case 'lddw':
    case 'ld':
      return [i.d];
    case 'atomic':
      return i.fetch ? [i.s] : [];
    case 'call':
      return [0, 1, 2, 3, 4, 5];
    default:
      return [];
  }
}

/** Whether control never falls through to the next instruction. */
export function isTerminator(i: MInsn): boolean {
  return i.k === 'ja' || i.k === 'exit';
}
