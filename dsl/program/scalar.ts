/**
 * Typed scalar values of the DSL. The public types keep width, signedness and
 * byte order apart (`Int<'u16'>` and `BeInt<'be16'>` do not mix; a u64 is not a
 * u32); the implementation is one plain class whose operations record IR nodes
 * and fold constants at build time.
 *
 * Representation: a register holds the value's bit pattern zero-extended from its
 * width (a be16 holds the raw network-order bytes as loaded). 32-bit and narrower
 * types use 32-bit ALU; narrow results are masked back to their width.
 */
import type { SourceLocation } from '../isa/index.js';
import { callerLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { AluKind, CmpKind, CondExpr, Operand, Width } from '../ir/index.js';
import type { BoolSchema, IntSchema } from '../types/index.js';
import type { Recorder, Scope } from './recorder.js';

/** Host-order integer type names. */
export type HostIntName = 'u8' | 'u16' | 'u32' | 'u64' | 's8' | 's16' | 's32' | 's64';
/** Network-order integer type names. */
export type BeIntName = 'be16' | 'be32' | 'be64';
/** Every scalar type name. */
export type ScalarName = HostIntName | BeIntName;

/** DSL scalar name of a schema name (`ipv4` is a be32, `char` an s8). */
export type ScalarOfName<N> = N extends 'ipv4' ? 'be32' : N extends 'char' ? 's8' : N extends ScalarName ? N : never;
/** A scalar schema (`u32`, `be16`, `ipv4`, `bool`…). */
export type ScalarSchema = IntSchema<string, unknown, unknown> | BoolSchema;
/** DSL scalar name of a scalar schema. */
export type NameOf<S> = S extends IntSchema<infer N, unknown, unknown> ? ScalarOfName<N> : S extends BoolSchema ? 'u8' : never;

declare const brand: unique symbol;

/** A condition (result of a comparison), usable in `b.if`. */
export interface Cond {
  /** The opposite condition. */
  not(): Cond;
  /**
   * Short-circuit and: holds when this and `other` hold. Give `other` as a function
   * when computing it has effects or needs this to hold (e.g. a load guarded by a
   * check): it runs only on the path where this holds.
   */
  and(other: CondArg): Cond;
  /** Short-circuit or: holds when this or `other` holds; a function `other` runs only when this does not hold. */
  or(other: CondArg): Cond;
  readonly [brand]: 'cond';
}

/** The right-hand side of `and`/`or`: a condition, a build-time boolean, or a function producing one lazily. */
export type CondArg = Cond | boolean | (() => Cond | boolean);

/** What every scalar value can do. */
export interface ValueBase<N extends ScalarName> {
  /** The DSL type name (also present at run time). */
  readonly type: N;
  readonly [brand]: N;
  eq(x: ValueLike<N>): Cond;
  ne(x: ValueLike<N>): Cond;
  /** Explicit conversion: width (truncating or extending by the source's signedness), sign, byte order. */
  to<S extends ScalarSchema>(schema: S): Value<NameOf<S>>;
  /**
   * Reinterprets the bits as another type of the same width — no byte swap, no
   * sign extension (`be32` → `u32` keeps the network-order bytes; for packing keys).
   */
  bits<S extends ScalarSchema>(schema: S & (NameOf<S> extends SameWidth<N> ? unknown : never)): Value<NameOf<S>>;
}

/** The scalar names of the same width as N. */
export type SameWidth<N extends ScalarName> = N extends 'u8' | 's8'
  ? 'u8' | 's8'
  : N extends 'u16' | 's16' | 'be16'
    ? 'u16' | 's16' | 'be16'
    : N extends 'u32' | 's32' | 'be32'
      ? 'u32' | 's32' | 'be32'
      : 'u64' | 's64' | 'be64';

/** Shift amounts: any host integer value or a number. */
export type ShiftAmount = Value<HostIntName> | number;

/** A host-order integer. Arithmetic wraps at the type's width; division by zero gives 0 (modulo gives the dividend), as in BPF. */
export interface Int<N extends HostIntName> extends ValueBase<N> {
  add(x: ValueLike<N>): Int<N>;
  sub(x: ValueLike<N>): Int<N>;
  mul(x: ValueLike<N>): Int<N>;
  /** Division (signed for s* types). */
  div(x: ValueLike<N>): Int<N>;
  /** Remainder (signed for s* types: the sign of the dividend). */
  mod(x: ValueLike<N>): Int<N>;
  and(x: ValueLike<N>): Int<N>;
  or(x: ValueLike<N>): Int<N>;
  xor(x: ValueLike<N>): Int<N>;
  /** Left shift; the amount is taken modulo the width. */
  shl(x: ShiftAmount): Int<N>;
  /** Right shift (arithmetic for s* types); the amount is taken modulo the width. */
  shr(x: ShiftAmount): Int<N>;
  neg(): Int<N>;
  not(): Int<N>;
  lt(x: ValueLike<N>): Cond;
  le(x: ValueLike<N>): Cond;
  gt(x: ValueLike<N>): Cond;
  ge(x: ValueLike<N>): Cond;
}

/** A network-order integer: compare, mask, or convert (`.to(u16)`) — no arithmetic. */
export interface BeInt<N extends BeIntName> extends ValueBase<N> {
  and(x: ValueLike<N>): BeInt<N>;
  or(x: ValueLike<N>): BeInt<N>;
  xor(x: ValueLike<N>): BeInt<N>;
}

/** The value type of a scalar name (distributes over unions). */
export type Value<N extends ScalarName> = N extends HostIntName ? Int<N> : N extends BeIntName ? BeInt<N> : never;
/** A value of type N or a build-time constant (host value; converted to network order for be types). */
export type ValueLike<N extends ScalarName> = Value<N> | number | bigint;
/** Unsigned values that widen to u32 without loss, or a constant. */
export type U32Like = Value<'u8' | 'u16' | 'u32'> | number;
/** Unsigned values that widen to u64 without loss, or a constant. */
export type U64Like = Value<'u8' | 'u16' | 'u32' | 'u64'> | number | bigint;

/** Facts about a scalar type. */
export interface ScalarInfo {
  readonly name: ScalarName;
  readonly bits: 8 | 16 | 32 | 64;
  readonly signed: boolean;
  readonly be: boolean;
}

const infos = {} as Record<ScalarName, ScalarInfo>;
for (const [name, bits, signed, be] of [
  ['u8', 8, false, false], ['u16', 16, false, false], ['u32', 32, false, false], ['u64', 64, false, false],
  ['s8', 8, true, false], ['s16', 16, true, false], ['s32', 32, true, false], ['s64', 64, true, false],
  ['be16', 16, false, true], ['be32', 32, false, true], ['be64', 64, false, true],
] as const) infos[name] = Object.freeze({ name, bits, signed, be });
/** Scalar facts by name. */
export const SCALARS: Readonly<Record<ScalarName, ScalarInfo>> = Object.freeze(infos);

/** Scalar facts of a schema (int of any name, enum base, bool); undefined for non-scalars. */
export function scalarInfoOf(schema: { kind: string; name?: string; size?: number; signed?: boolean; byteOrder?: string; base?: unknown }): ScalarInfo | undefined {
  if (schema.kind === 'bool') return SCALARS.u8;
  if (schema.kind === 'enum') return scalarInfoOf(schema.base as never);
  if (schema.kind !== 'int') return undefined;
  const bits = (schema.size! * 8) as 8 | 16 | 32 | 64;
  if (schema.byteOrder === 'big') return bits === 8 ? SCALARS.u8 : SCALARS[`be${bits as 16 | 32 | 64}`];
  return SCALARS[`${schema.signed ? 's' : 'u'}${bits}` as HostIntName];
}

/** ALU width used for a type. */
export const widthOf = (i: ScalarInfo): Width => (i.bits === 64 ? 64 : 32);
const mask = (bits: number) => (1n << BigInt(bits)) - 1n;

/** Byte swap of the low `bits` of v. */
export function bswap(v: bigint, bits: number): bigint {
  let out = 0n;
  for (let k = 0; k < bits / 8; k++) out = (out << 8n) | ((v >> BigInt(8 * k)) & 0xffn);
  return out;
}

/** Signed view of a canonical value. */
const signedOf = (v: bigint, bits: number) => BigInt.asIntN(bits, v);

/** Build-time evaluation of an ALU operation on canonical values (BPF semantics). */
export function foldAlu(op: AluKind, a: bigint, b: bigint, info: ScalarInfo): bigint {
  const bits = info.bits;
  const m = mask(bits);
  switch (op) {
    case 'add': return (a + b) & m;
    case 'sub': return (a - b) & m;
    case 'mul': return (a * b) & m;
    case 'div': return b === 0n ? 0n : a / b;
    case 'mod': return b === 0n ? a : a % b;
    case 'sdiv': {
      const sa = signedOf(a, bits), sb = signedOf(b, bits);
      return sb === 0n ? 0n : (sa / sb) & m;
    }
    case 'smod': {
      const sa = signedOf(a, bits), sb = signedOf(b, bits);
      return sb === 0n ? a : (sa % sb) & m;
    }
    case 'and': return a & b;
    case 'or': return a | b;
    case 'xor': return a ^ b;
    case 'lsh': return (a << (b % BigInt(bits))) & m;
    case 'rsh': return a >> (b % BigInt(bits));
    case 'arsh': return (signedOf(a, bits) >> (b % BigInt(bits))) & m;
  }
}

function foldCmp(cmp: CmpKind, a: bigint, b: bigint, info: ScalarInfo): boolean {
  const sa = signedOf(a, info.bits), sb = signedOf(b, info.bits);
  switch (cmp) {
    case 'eq': return a === b;
    case 'ne': return a !== b;
    case 'gt': return a > b;
    case 'ge': return a >= b;
    case 'lt': return a < b;
    case 'le': return a <= b;
    case 'sgt': return sa > sb;
    case 'sge': return sa >= sb;
    case 'slt': return sa < sb;
    case 'sle': return sa <= sb;
    case 'set': return (a & b) !== 0n;
  }
}

const MIRROR: Record<CmpKind, CmpKind> = { eq: 'eq', ne: 'ne', gt: 'lt', lt: 'gt', ge: 'le', le: 'ge', sgt: 'slt', slt: 'sgt', sge: 'sle', sle: 'sge', set: 'set' };
const NOT: Record<Exclude<CmpKind, 'set'>, CmpKind> = { eq: 'ne', ne: 'eq', gt: 'le', le: 'gt', ge: 'lt', lt: 'ge', sgt: 'sle', sle: 'sgt', sge: 'slt', slt: 'sge' };

/** Implementation of {@link Cond}: a build-time boolean, a comparison, or a combination (see conditions.ts). */
export class CondImpl {
  constructor(
    readonly rec: Recorder,
    readonly value: boolean | CondExpr,
    /** Only for a single `set` (bit test) comparison, which has no inverse jump: the branches swap. */
    readonly negated = false,
  ) {}

  not(): CondImpl {
    const v = this.value;
    if (typeof v === 'boolean') return new CondImpl(this.rec, !v);
    if ('cmp' in v) {
      if (v.cmp === 'set') return new CondImpl(this.rec, v, !this.negated);
      return new CondImpl(this.rec, { ...v, cmp: NOT[v.cmp] });
    }
    return new CondImpl(this.rec, 'not' in v ? v.not : { not: v });
  }

  and(other: unknown): CondImpl {
    return combine(this, other, 'all');
  }

  or(other: unknown): CondImpl {
    return combine(this, other, 'any');
  }

  /** The condition as an IR expression (a negated bit test becomes `not`). */
  expr(): boolean | CondExpr {
    const v = this.value;
    return this.negated && typeof v !== 'boolean' ? { not: v } : v;
  }
}

/** `a && b` (`all`) or `a || b` (`any`) with a lazily evaluated right-hand side. */
function combine(a: CondImpl, other: unknown, kind: 'all' | 'any'): CondImpl {
  const src = callerLocation();
  const rec = a.rec;
  const left = a.expr();
  // all(false, …) and any(true, …) are decided at build time: the right side is never emitted.
  if (left === (kind === 'any')) return a;
  let right: unknown = other;
  let before: readonly import('../ir/index.js').Node[] = [];
  if (typeof other === 'function') before = rec.block(() => void (right = (other as () => unknown)()), true);
  if (typeof right !== 'boolean' && !(right instanceof CondImpl))
    throw new DslError('DSL_TYPE', `${kind === 'all' ? 'and' : 'or'}(): expected a condition, a boolean, or a function returning one`, src);
  if (right instanceof CondImpl && right.rec !== rec) throw new DslError('DSL_SCOPE', `${kind === 'all' ? 'and' : 'or'}(): condition belongs to another program or function`, src);
  let r: boolean | CondExpr = typeof right === 'boolean' ? right : right.expr();
  if (before.length > 0) r = { before, cond: typeof r === 'boolean' ? (r ? { all: [] } : { any: [] }) : r };
  if (typeof r === 'boolean' && left === true) return new CondImpl(rec, r);
  if (r === (kind === 'all')) return a; // x && true, x || false
  if (left === true) return new CondImpl(rec, r); // true && y (any(true) returned above)
  if (left === false) return new CondImpl(rec, r); // false || y
  if (typeof r === 'boolean') return new CondImpl(rec, r); // x && false, x || true: operands are pure comparisons
  const parts = (e: CondExpr): readonly CondExpr[] => (kind in e ? (e as Record<typeof kind, readonly CondExpr[]>)[kind] : [e]);
  return new CondImpl(rec, (kind === 'all' ? { all: [...parts(left), ...parts(r)] } : { any: [...parts(left), ...parts(r)] }) as CondExpr);
}

/** Converts a constant to the canonical bits of a type (host value → network order for be types). */
export function constOf(v: number | bigint, info: ScalarInfo, src: SourceLocation | undefined): bigint {
  if (typeof v === 'number' && !Number.isInteger(v)) throw new DslError('DSL_TYPE', `${v} is not an integer constant for ${info.name}`, src);
  const big = BigInt(v);
  const min = info.signed ? -(1n << BigInt(info.bits - 1)) : -(1n << BigInt(info.bits - 1));
  if (big < min || big > mask(info.bits)) throw new DslError('DSL_RANGE', `constant ${big} does not fit ${info.name}`, src);
  const bitsVal = big & mask(info.bits);
  return info.be ? bswap(bitsVal, info.bits) : bitsVal;
}

/**
 * One scalar value. `read()` gives its operand where it is used: a stored operand
 * (checked to be in scope), or a fresh load for places in memory.
 */
export class ScalarImpl {
  constructor(
    readonly rec: Recorder,
    readonly info: ScalarInfo,
    private readonly produce: () => Operand,
    readonly scope: Scope | undefined,
    readonly src: SourceLocation | undefined,
  ) {}

  get type(): ScalarName {
    return this.info.name;
  }

  /** The operand, checking that it is still in scope (called from builder code, so `callerLocation` is the use site). */
  read(): Operand {
    this.rec.checkScope(this.scope, this.src, 'value');
    return this.produce();
  }

  /** Constant value if known at build time. */
  get constant(): bigint | undefined {
    return undefined;
  }

  /** An operand of this type from a value or constant (type-checked). */
  coerce(x: unknown, what: string): { op: Operand; konst: bigint | undefined } {
    const src = callerLocation();
    if (typeof x === 'number' || typeof x === 'bigint') {
      const c = constOf(x, this.info, src);
      return { op: c, konst: c };
    }
    if (!(x instanceof ScalarImpl)) throw new DslError('DSL_TYPE', `${what}: expected a ${this.info.name} value or a number`, src);
    if (x.info !== this.info) throw new DslError('DSL_TYPE', `${what}: cannot mix ${this.info.name} and ${x.info.name}; convert with .to()`, src);
    if (x.rec !== this.rec) throw new DslError('DSL_SCOPE', `${what}: value belongs to another program or function`, src);
    const op = x.read();
    return { op, konst: typeof op === 'bigint' ? op : undefined };
  }

  private self(): { op: Operand; konst: bigint | undefined } {
    const op = this.read();
    return { op, konst: typeof op === 'bigint' ? op : undefined };
  }

  /** A new value of this type from an operand. */
  private make(op: Operand, info: ScalarInfo = this.info): ScalarImpl {
    return this.rec.value(info, op);
  }

  private hostOnly(what: string): void {
    if (this.info.be) throw new DslError('DSL_TYPE', `${what} is not defined on network-order ${this.info.name}; convert with .to() first`, callerLocation());
  }

  private binary(op: AluKind, x: unknown, what: string): ScalarImpl {
    const a = this.self();
    const b = this.coerce(x, what);
    const info = this.info;
    const signedOp = op === 'sdiv' || op === 'smod' || op === 'arsh';
    if (a.konst !== undefined && b.konst !== undefined) return this.make(foldAlu(op, a.konst, b.konst, info));
    // Algebraic shortcuts that keep the verifier's view simple.
    if (b.konst !== undefined) {
      if ((op === 'div' || op === 'sdiv') && b.konst === 0n) return this.make(0n);
      if ((op === 'mod' || op === 'smod') && b.konst === 0n) return this.make(a.op);
      if ((op === 'add' || op === 'sub' || op === 'or' || op === 'xor' || op === 'lsh' || op === 'rsh' || op === 'arsh') && b.konst === 0n) return this.make(a.op);
    }
    const rec = this.rec;
    if (info.bits < 32 && signedOp) {
      // Narrow signed: sign-extend both to 64 bits, operate, mask back.
      const sa = rec.sext(a.op, info.bits as 8 | 16);
      const sb = typeof b.op === 'bigint' ? BigInt.asUintN(64, signedOf(b.op, info.bits)) : rec.sext(b.op, info.bits as 8 | 16);
      const r = rec.alu(op, sa, sb, 64);
      return this.make(rec.alu('and', r, mask(info.bits), 32));
    }
    const r = rec.alu(op, a.op, b.op, widthOf(info));
    const wraps = op === 'add' || op === 'sub' || op === 'mul' || op === 'lsh' || op === 'sdiv' || op === 'smod';
    if (info.bits < 32 && wraps) return this.make(rec.alu('and', r, mask(info.bits), 32));
    return this.make(r);
  }

  add(x: unknown) { this.hostOnly('add'); return this.binary('add', x, 'add'); }
  sub(x: unknown) { this.hostOnly('sub'); return this.binary('sub', x, 'sub'); }
  mul(x: unknown) { this.hostOnly('mul'); return this.binary('mul', x, 'mul'); }
  div(x: unknown) { this.hostOnly('div'); return this.binary(this.info.signed ? 'sdiv' : 'div', x, 'div'); }
  mod(x: unknown) { this.hostOnly('mod'); return this.binary(this.info.signed ? 'smod' : 'mod', x, 'mod'); }
  and(x: unknown) { return this.binary('and', x, 'and'); }
  or(x: unknown) { return this.binary('or', x, 'or'); }
  xor(x: unknown) { return this.binary('xor', x, 'xor'); }

  private shift(op: 'lsh' | 'rsh' | 'arsh', x: unknown, what: string): ScalarImpl {
    this.hostOnly(what);
    const src = callerLocation();
    let amount: ScalarImpl;
    if (typeof x === 'number' || typeof x === 'bigint') amount = this.make(constOf(x, SCALARS.u64, src) % BigInt(this.info.bits));
    else if (x instanceof ScalarImpl && !x.info.be) {
      const raw = x.read();
      const m = BigInt(this.info.bits - 1);
      amount = typeof raw === 'bigint' ? this.make(raw & m) : this.make(this.rec.alu('and', raw, m, widthOf(x.info)));
    } else throw new DslError('DSL_TYPE', `${what}: the shift amount must be a host integer or a number`, src);
    return this.binary(op, amount, what);
  }

  shl(x: unknown) { return this.shift('lsh', x, 'shl'); }
  shr(x: unknown) { return this.shift(this.info.signed ? 'arsh' : 'rsh', x, 'shr'); }

  neg() {
    this.hostOnly('neg');
    return this.make(0n).binary('sub', this, 'neg');
  }

  not() {
    return this.binary('xor', this.info.be ? bswap(mask(this.info.bits), this.info.bits) : mask(this.info.bits), 'not');
  }

  private compare(cmp: CmpKind, x: unknown, what: string): CondImpl {
    const a = this.self();
    const b = this.coerce(x, what);
    const info = this.info;
    const signed = cmp.startsWith('s') && cmp !== 'set';
    if (a.konst !== undefined && b.konst !== undefined) return new CondImpl(this.rec, foldCmp(cmp, a.konst, b.konst, info));
    let left = a.op;
    let right = b.op;
    let c = cmp;
    if (typeof left === 'bigint') {
      [left, right] = [right, left];
      c = MIRROR[cmp];
    }
    if (signed && info.bits < 32) {
      const l = this.rec.sext(left as number, info.bits as 8 | 16);
      const r = typeof right === 'bigint' ? BigInt.asUintN(64, signedOf(right, info.bits)) : this.rec.sext(right, info.bits as 8 | 16);
      return new CondImpl(this.rec, { cmp: c, a: l, b: r, width: 64 });
    }
    return new CondImpl(this.rec, { cmp: c, a: left as number, b: right, width: widthOf(info) });
  }

  eq(x: unknown) { return this.compare('eq', x, 'eq'); }
  ne(x: unknown) { return this.compare('ne', x, 'ne'); }
  lt(x: unknown) { this.hostOnly('lt'); return this.compare(this.info.signed ? 'slt' : 'lt', x, 'lt'); }
  le(x: unknown) { this.hostOnly('le'); return this.compare(this.info.signed ? 'sle' : 'le', x, 'le'); }
  gt(x: unknown) { this.hostOnly('gt'); return this.compare(this.info.signed ? 'sgt' : 'gt', x, 'gt'); }
  ge(x: unknown) { this.hostOnly('ge'); return this.compare(this.info.signed ? 'sge' : 'ge', x, 'ge'); }

  bits(schema: unknown): ScalarImpl {
    const src = callerLocation();
    const target = typeof schema === 'object' && schema !== null ? scalarInfoOf(schema as never) : undefined;
    if (!target) throw new DslError('DSL_TYPE', 'bits(): expected a scalar schema (u8…u64, s8…s64, be16…be64)', src);
    if (target.bits !== this.info.bits) throw new DslError('DSL_TYPE', `bits(): ${this.info.name} has ${this.info.bits} bits, ${target.name} has ${target.bits}; use .to() to change the width`, src);
    // Registers hold every type's bit pattern zero-extended, so the same operand serves.
    return this.rec.value(target, this.read());
  }

  to(schema: unknown): ScalarImpl {
    const src = callerLocation();
    const target = typeof schema === 'object' && schema !== null ? scalarInfoOf(schema as never) : undefined;
    if (!target) throw new DslError('DSL_TYPE', 'to(): expected a scalar schema (u8…u64, s8…s64, be16…be64)', src);
    // Into host order of the source's own width first.
    let op = this.read();
    let info = this.info;
    if (info.be) {
      op = typeof op === 'bigint' ? bswap(op, info.bits) : this.rec.swap(op, info.bits as 16 | 32 | 64);
      info = SCALARS[`u${info.bits}` as HostIntName];
    }
    const hostTarget = target.be ? SCALARS[`u${target.bits}` as HostIntName] : target;
    if (hostTarget.bits > info.bits && info.signed) {
      // Sign-extend, then keep the target's width.
      const wide = typeof op === 'bigint' ? BigInt.asUintN(64, signedOf(op, info.bits)) : this.rec.sext(op, info.bits as 8 | 16 | 32);
      op = hostTarget.bits === 64 ? wide : typeof wide === 'bigint' ? wide & mask(hostTarget.bits) : this.rec.alu('and', wide, mask(hostTarget.bits), 32);
    } else if (hostTarget.bits < info.bits) {
      op = typeof op === 'bigint' ? op & mask(hostTarget.bits) : hostTarget.bits === 32 ? this.rec.mov(op, 32) : this.rec.alu('and', op, mask(hostTarget.bits), 32);
    }
    if (target.be) op = typeof op === 'bigint' ? bswap(op, target.bits) : this.rec.swap(op, target.bits as 16 | 32 | 64);
    return this.rec.value(target, op);
  }
}
