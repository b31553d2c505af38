/**
 * The DSL's intermediate representation: what the typed builder records and the
 * lowering consumes. Plain frozen data, one node kind per operation, each with the
 * TypeScript source location that produced it. Values live in numbered virtual
 * registers (`VReg`); an `Operand` is a virtual register or a 64-bit constant
 * (a bigint, so the two never mix up). Control flow is structured (if / loop /
 * break / continue / return) so that profile-driven passes (unrolling, splitting)
 * can rewrite it before it is linearised.
 */
import type { SourceLocation } from '../isa/index.js';

/** A virtual register (numbered from {@link FIRST_VREG}; smaller numbers are physical registers). */
export type VReg = number;
/** First virtual register number; 0–10 name the physical registers r0–r10. */
export const FIRST_VREG = 16;
/** A value: a virtual register or a constant (bigint, two's complement 64-bit). */
export type Operand = VReg | bigint;
/** ALU width: 32-bit ALU (zero-extends) or 64-bit. */
export type Width = 32 | 64;
/** Memory access size in bytes. */
export type AccessSize = 1 | 2 | 4 | 8;
/** A memory base: a pointer in a register or the frame pointer (r10). */
export type Base = VReg | 'fp';

/** Binary ALU operations (`sdiv`/`smod` are signed; the lowering picks native or software). */
export type AluKind = 'add' | 'sub' | 'mul' | 'div' | 'mod' | 'sdiv' | 'smod' | 'and' | 'or' | 'xor' | 'lsh' | 'rsh' | 'arsh';
/** Comparisons of a condition (`s*` are signed, `set` is a bit test). */
export type CmpKind = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'sgt' | 'sge' | 'slt' | 'sle' | 'set';

/** Common fields of every node. */
interface At {
  readonly src?: SourceLocation | undefined;
}

/** A condition: `a cmp b` at `width` bits (32 → JMP32 when the profile has it). */
export interface Cond {
  readonly cmp: CmpKind;
  readonly a: VReg;
  readonly b: Operand;
  readonly width: Width;
}

/**
 * A combined condition: comparisons joined with short-circuit `all` (and) / `any`
 * (or), negated, or preceded by the nodes that compute its operands (`before`, run
 * only when the condition is reached — the lazy right-hand side of `and`/`or`).
 * Lowered to jump chains; no boolean is materialised.
 */
export type CondExpr =
  | Cond
  | { readonly all: readonly CondExpr[] }
  | { readonly any: readonly CondExpr[] }
  | { readonly not: CondExpr }
  | { readonly before: readonly Node[]; readonly cond: CondExpr };

/**
 * The comparisons of a condition and the node lists it runs (`before` parts), in
 * evaluation order — for passes that walk the IR (an `if`'s condition may read
 * registers and memory in its `before` nodes, on some paths only).
 */
export function condParts(e: CondExpr): { readonly cmps: readonly Cond[]; readonly blocks: readonly (readonly Node[])[] } {
  const cmps: Cond[] = [];
  const blocks: (readonly Node[])[] = [];
  const walk = (x: CondExpr): void => {
    if ('cmp' in x) cmps.push(x);
    else if ('not' in x) walk(x.not);
    else if ('before' in x) {
      blocks.push(x.before);
      walk(x.cond);
    } else for (const p of 'all' in x ? x.all : x.any) walk(p);
  };
  walk(e);
  return { cmps, blocks };
}

export interface MovNode extends At { readonly op: 'mov'; readonly dst: VReg; readonly a: Operand; readonly width: Width }
export interface AluNode extends At { readonly op: 'alu'; readonly alu: AluKind; readonly dst: VReg; readonly a: Operand; readonly b: Operand; readonly width: Width }
export interface NegNode extends At { readonly op: 'neg'; readonly dst: VReg; readonly a: VReg; readonly width: Width }
/** Byte swap to/from network order of the low `bits` (result zero-extended). */
export interface SwapNode extends At { readonly op: 'swap'; readonly dst: VReg; readonly a: VReg; readonly bits: 16 | 32 | 64 }
/** Sign-extends the low `from` bits of `a` to 64 bits. */
export interface SextNode extends At { readonly op: 'sext'; readonly dst: VReg; readonly a: VReg; readonly from: 8 | 16 | 32 }
export interface LoadNode extends At { readonly op: 'load'; readonly dst: VReg; readonly base: Base; readonly off: number; readonly size: AccessSize }
export interface StoreNode extends At { readonly op: 'store'; readonly base: Base; readonly off: number; readonly size: AccessSize; readonly value: Operand }
/** Atomic read-modify-write; with `fetch`, `dst` receives the old value. */
export interface AtomicNode extends At {
  readonly op: 'atomic';
  readonly aop: 'add' | 'or' | 'and' | 'xor';
  readonly base: VReg;
  readonly off: number;
  readonly size: 4 | 8;
  readonly value: Operand;
  readonly dst?: VReg | undefined;
}
/** `dst = r10 + off` (address of a stack slot). */
export interface FrameAddrNode extends At { readonly op: 'frameaddr'; readonly dst: VReg; readonly off: number }
/** `dst = &map` (lddw map reference). */
export interface MapRefNode extends At { readonly op: 'mapref'; readonly dst: VReg; readonly map: string }
/** `dst = &global + offset` (lddw of a `.rodata`/`.data`/`.bss` variable). */
export interface GlobalAddrNode extends At { readonly op: 'globaladdr'; readonly dst: VReg; readonly name: string; readonly offset: number }
/** Helper call by id; arguments go to r1–r5, the result (if kept) comes from r0. */
export interface CallNode extends At { readonly op: 'call'; readonly helper: number; readonly name: string; readonly args: readonly Operand[]; readonly dst?: VReg | undefined }
/** `dst = &fn` (lddw BPF_PSEUDO_FUNC): a callback subprogram's address, for `bpf_loop`. */
export interface FuncAddrNode extends At { readonly op: 'funcaddr'; readonly dst: VReg; readonly fn: string }
/** Call of a DSL subfunction (bpf-to-bpf call). */
export interface CallFnNode extends At { readonly op: 'callfn'; readonly fn: string; readonly args: readonly Operand[]; readonly dst?: VReg | undefined }
export interface IfNode extends At { readonly op: 'if'; readonly cond: Cond | CondExpr; readonly then: readonly Node[]; readonly else: readonly Node[] }
/**
 * How a loop becomes code: `auto` (the default) lets lowering choose (unrolled,
 * a bounded loop, or `bpf_loop` when too long for the verifier to walk);
 * `bpf_loop` asks for the helper (kernel 5.17) explicitly.
 */
export type LoopStrategy = 'auto' | 'bpf_loop';
/** `for (iv = 0; iv < count; iv++) body` with a build-time `count`. */
export interface LoopNode extends At { readonly op: 'loop'; readonly id: number; readonly count: number; readonly iv: VReg; readonly body: readonly Node[]; readonly strategy?: LoopStrategy | undefined }
export interface BreakNode extends At { readonly op: 'break'; readonly loop: number }
export interface ContinueNode extends At { readonly op: 'continue'; readonly loop: number }
export interface ReturnNode extends At { readonly op: 'return'; readonly value: Operand }

/** Every IR node. */
export type Node =
  | MovNode | AluNode | NegNode | SwapNode | SextNode | LoadNode | StoreNode | AtomicNode
  | FrameAddrNode | MapRefNode | GlobalAddrNode | FuncAddrNode | CallNode | CallFnNode
  | IfNode | LoopNode | BreakNode | ContinueNode | ReturnNode;

/** A stack object (a `b.local`) of the frame: bytes `[off, off + size)` below r10 (`off` negative). */
export interface FrameObject {
  readonly off: number;
  readonly size: number;
  readonly src?: SourceLocation | undefined;
}

/** One function (a program entry or a subfunction) as the builder left it. */
export interface IrFunction {
  readonly name: string;
  readonly kind: 'program' | 'subprogram';
  /** Virtual registers that hold the incoming r1…r5 (the context for a program). */
  readonly params: readonly VReg[];
  readonly body: readonly Node[];
  /** Bytes of stack the locals use (a positive number; objects sit at negative offsets). */
  readonly frameSize: number;
  readonly objects: readonly FrameObject[];
  /** First virtual register number not used. */
  readonly nextVReg: number;
  /** Where the function was declared. */
  readonly src?: SourceLocation | undefined;
}

/** Deep-freezes an IR value (the builder's output is immutable). */
export function freezeIr<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) freezeIr(v);
  }
  return value;
}
