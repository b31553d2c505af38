/**
 * Typed pointers: a schema plus a memory region (stack, map value, read-only global,
 * packet, context) — the region is part of the type, as in TypeGPU. A pointer is a
 * view: struct fields are properties, scalar fields are places (values loaded where
 * they are used, with `.set()` where the region is writable, atomics on map values).
 */
import { callerLocation, type SourceLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { AccessSize, Base, Operand } from '../ir/index.js';
import type { AnySchema, ArraySchema, Bitfield, BoolSchema, CompositeSchema, EnumSchema, Fields, IntSchema, PadSchema, TypedefSchema } from '../types/index.js';
import { resolveTypedef } from '../types/index.js';
import type { Recorder, Scope } from './recorder.js';
import { copyInto } from './copy.js';
import { addAddressAccessors, addressFormat } from './address-view.js';
import type { AddressBytesSchema } from '../types/address.js';
import type { CtxIp6 } from './context.js';
import { ScalarImpl, scalarInfoOf, type NameOf, type ScalarInfo, type ScalarName, type ScalarSchema, type Value, type ValueLike } from './scalar.js';

/** Memory regions a pointer may point into. */
export type Region = 'stack' | 'map_value' | 'rodata' | 'packet' | 'ctx';

declare const ptrBrand: unique symbol;

/** Writable places have `set`. */
export interface Settable<N extends ScalarName> {
  /** Stores `v` (same type, or a constant). */
  set(v: ValueLike<N>): void;
}

/** Atomic read-modify-write on a 32/64-bit place (map values and stack). */
export interface Atomics<N extends ScalarName> {
  atomicAdd(v: ValueLike<N>): void;
  atomicOr(v: ValueLike<N>): void;
  atomicAnd(v: ValueLike<N>): void;
  atomicXor(v: ValueLike<N>): void;
  /** Adds and returns the old value (ISA v3). */
  fetchAdd(v: ValueLike<N>): Value<N>;
  fetchOr(v: ValueLike<N>): Value<N>;
  fetchAnd(v: ValueLike<N>): Value<N>;
  fetchXor(v: ValueLike<N>): Value<N>;
}

type AtomicsOf<N extends ScalarName, R extends Region> = R extends 'map_value' | 'stack' ? (N extends 'u32' | 'u64' | 's32' | 's64' ? Atomics<N> : unknown) : unknown;

/** A scalar in memory: readable as a value; settable unless read-only; atomics where allowed. */
export type Place<N extends ScalarName, R extends Region> = Value<N> & Readable<N> & (R extends 'rodata' ? unknown : Settable<N>) & AtomicsOf<N, R>;

/**
 * Places are read where they are used (each use is a load). `get()` reads once,
 * now, into a value that keeps that reading (e.g. before the field is overwritten).
 */
export interface Readable<N extends ScalarName> {
  get(): Value<N>;
}

/** Brand carried by every pointer type (its schema and region). */
export interface PtrBrand<S, R extends Region> {
  readonly [ptrBrand]: { readonly schema: S; readonly region: R };
}

/** Field views of a struct/union (padding and bitfields are not addressable). */
export type StructView<F extends Fields, R extends Region> = {
  readonly [K in keyof F as F[K] extends PadSchema ? never : F[K] extends Bitfield<never> ? never : K]: View<F[K], R>;
};

/** Elements of an array by constant index. */
export interface ArrayView<E, R extends Region> {
  readonly length: number;
  /** Element at a build-time index (checked at build time). */
  at(index: number): Ptr<E, R>;
  /** Element at a run-time index: returns `code` from the program when `index >= length`. */
  index(index: Value<'u8' | 'u16' | 'u32'> | number, orReturn: ValueLike<'u32'> | number): Ptr<E, R>;
}

/** Whole-object copy into a writable struct/array/address view. */
export type Copyable<S, R extends Region> = R extends 'rodata' ? unknown : {
  /** Copies all of `src` (the same schema, from any region; for IPv6, also `ctx.user_ip6`) here, with the widest aligned moves. */
  set(src: View<S, Region> | (S extends AddressBytesSchema<'ipv6'> ? CtxIp6<boolean> : never)): void;
};

/** An IPv6 address or MAC: its bytes, and its network-order 16-bit groups. */
export interface AddressView<R extends Region, Fmt extends 'ipv6' | 'mac' = 'ipv6' | 'mac'> extends ArrayView<IntSchema<'u8'>, R> {
  /** Which address this is (also keeps MACs and IPv6 addresses from being copied into each other). */
  readonly format: Fmt;
  /** 16-bit group `i` (IPv6: 0–7, MAC: 0–2) in network order. */
  half(i: number): Place<'be16', R>;
}
/** An IPv6 address: bytes, 16-bit groups and 32-bit words. */
export interface Ipv6View<R extends Region> extends AddressView<R, 'ipv6'> {
  /** 32-bit word `i` (0–3) in network order, as `user_ip6[i]` and keys hold it. */
  word(i: 0 | 1 | 2 | 3): Place<'be32', R>;
}

/** The view a pointer to schema S in region R gives. */
export type View<S, R extends Region> = S extends ScalarSchema
  ? Place<NameOf<S>, R>
  : S extends TypedefSchema<string, infer T>
    ? View<T, R>
    : S extends EnumSchema
      ? Place<'u32', R>
      : S extends AddressBytesSchema<infer Fmt>
        ? (Fmt extends 'ipv6' ? Ipv6View<R> : AddressView<R, 'mac'>) & Copyable<S, R>
        : S extends ArraySchema<infer E>
          ? ArrayView<E, R> & Copyable<S, R>
          : S extends CompositeSchema<'struct' | 'union', infer F>
            ? StructView<F, R> & ('set' extends keyof F ? unknown : Copyable<S, R>)
            : never;

/** A typed pointer: the view of schema S in region R. */
export type Ptr<S, R extends Region> = View<S, R> & PtrBrand<S, R>;

/** Internal description of a pointer (kept on views under a symbol). */
export interface PtrCore {
  readonly rec: Recorder;
  readonly schema: AnySchema;
  readonly base: Base;
  readonly off: number;
  readonly region: Region;
  readonly scope: Scope | undefined;
  readonly src: SourceLocation | undefined;
  /** For packet pointers: the packet generation they belong to (helpers that change packet data start a new one). */
  readonly epoch?: number | undefined;
  /** For context fields copied as a whole: whether the hook may read/write them. */
  readonly ctxAccess?: { readonly read: boolean; readonly write: boolean } | undefined;
}

/** Throws when a packet pointer outlived a helper call that may have moved the packet. */
export function checkPacket(core: PtrCore): void {
  if (core.region === 'packet' && core.rec.packetUses) core.rec.packetUses.push({ epoch: core.epoch, scope: core.scope, src: callerLocation() });
  if (core.region === 'packet' && core.epoch !== core.rec.packetEpoch)
    throw new DslError('DSL_PACKET_INVALIDATED', `packet pointer from ${core.src ? `${core.src.file}:${core.src.line}` : 'parse()'} is used after ${core.rec.packetInvalidatedBy ?? 'a helper'} changed the packet; parse() again`, callerLocation());
}

/** Symbol under which a view keeps its PtrCore. */
export const CORE = Symbol('tsbpf.ptr');

/** The core of a pointer view, or undefined for anything else. */
export function coreOf(x: unknown): PtrCore | undefined {
  return typeof x === 'object' && x !== null ? ((x as Record<symbol, PtrCore | undefined>)[CORE]) : undefined;
}

/** A scalar in memory. */
export class PlaceImpl extends ScalarImpl {
  constructor(
    readonly core: PtrCore,
    info: ScalarInfo,
    readonly size: AccessSize,
    readonly writable: boolean,
    readonly label: string,
  ) {
    super(
      core.rec,
      info,
      () => {
        if (typeof core.base === 'number') core.rec.checkScope(core.scope, core.src, 'pointer');
        checkPacket(core);
        const dst = core.rec.vreg();
        core.rec.emit({ op: 'load', dst, base: core.base, off: core.off, size });
        return dst;
      },
      core.scope,
      core.src,
    );
    Object.defineProperty(this, CORE, { value: core, enumerable: false });
  }

  /** Reads the place now into a value. */
  get(): ScalarImpl {
    return this.rec.value(this.info, this.read());
  }

  set(v: unknown): void {
    const src = callerLocation();
    if (!this.writable) throw new DslError('DSL_READ_ONLY', `${this.label} is read-only here`, src);
    this.rec.checkScope(this.core.scope, this.core.src, 'pointer');
    checkPacket(this.core);
    let value: Operand = this.coerce(v, `${this.label}.set`).op;
    // The verifier refuses immediate stores (BPF_ST) into the context.
    if (this.core.region === 'ctx' && typeof value === 'bigint') value = this.rec.mov(value, 64);
    this.rec.emit({ op: 'store', base: this.core.base, off: this.core.off, size: this.size, value });
  }

  private atomic(aop: 'add' | 'or' | 'and' | 'xor', v: unknown, fetch: boolean): ScalarImpl | undefined {
    const src = callerLocation();
    if (typeof this.core.base !== 'number' && this.core.base !== 'fp') throw new DslError('DSL_TYPE', 'atomics need a pointer', src);
    if (this.size !== 4 && this.size !== 8) throw new DslError('DSL_TYPE', `atomic ${aop} needs a 32- or 64-bit field, ${this.label} has ${this.size * 8} bits`, src);
    if (this.core.region !== 'map_value' && this.core.region !== 'stack') throw new DslError('DSL_TYPE', `atomics work on map values and the stack, not ${this.core.region}`, src);
    this.rec.checkScope(this.core.scope, this.core.src, 'pointer');
    const value = this.coerce(v, `${this.label}.atomic`).op;
    let base = this.core.base;
    let off = this.core.off;
    if (base === 'fp') {
      base = this.rec.vreg();
      this.rec.emit({ op: 'frameaddr', dst: base, off });
      off = 0;
    }
    const dst = fetch ? this.rec.vreg() : undefined;
    this.rec.emit({ op: 'atomic', aop, base, off, size: this.size, value, dst });
    return dst === undefined ? undefined : this.rec.value(this.info, dst);
  }

  atomicAdd(v: unknown) { this.atomic('add', v, false); }
  atomicOr(v: unknown) { this.atomic('or', v, false); }
  atomicAnd(v: unknown) { this.atomic('and', v, false); }
  atomicXor(v: unknown) { this.atomic('xor', v, false); }
  fetchAdd(v: unknown) { return this.atomic('add', v, true); }
  fetchOr(v: unknown) { return this.atomic('or', v, true); }
  fetchAnd(v: unknown) { return this.atomic('and', v, true); }
  fetchXor(v: unknown) { return this.atomic('xor', v, true); }
}

/** Builds the view of a pointer. */
export function viewOf(core: PtrCore, label = core.schema.name || 'value'): unknown {
  const schema = resolveTypedef(core.schema);
  const info = scalarInfoOf(schema as never);
  const writable = core.region !== 'rodata';
  if (info) return new PlaceImpl({ ...core, schema }, info, schema.size as AccessSize, writable, label);
  if (schema.kind === 'array') {
    const arr = schema as unknown as ArraySchema;
    const out = {
      length: arr.count,
      at(index: number) {
        if (!Number.isInteger(index) || index < 0 || index >= arr.count)
          throw new DslError('DSL_INDEX', `index ${index} is out of bounds for ${label} (length ${arr.count})`, callerLocation());
        return viewOf({ ...core, schema: arr.elem, off: core.off + index * arr.elem.size }, `${label}[${index}]`);
      },
      index(index: unknown, orReturn: unknown) {
        const src = callerLocation();
        if (typeof index === 'number') return out.at(index);
        if (!(index instanceof ScalarImpl) || index.info.be || index.info.signed || index.info.bits > 32)
          throw new DslError('DSL_TYPE', `${label}.index(): the index must be an unsigned value of at most 32 bits`, src);
        if (typeof orReturn !== 'number' && !(orReturn instanceof ScalarImpl)) throw new DslError('DSL_TYPE', `${label}.index(): give the code to return when out of bounds`, src);
        const rec = core.rec;
        rec.checkScope(core.scope, core.src, 'pointer');
        checkPacket(core);
        let i = index.read();
        if (typeof i === 'bigint') return out.at(Number(i));
        // Copy the index so the bounds check and the offset use the same register.
        i = rec.mov(i, 64);
        const code = typeof orReturn === 'number' ? BigInt(orReturn) : orReturn.read();
        rec.emit({ op: 'if', cond: { cmp: 'ge', a: i, b: BigInt(arr.count), width: 64 }, then: rec.block(() => rec.emit({ op: 'return', value: code })), else: [] });
        const scaled = arr.elem.size === 1 ? i : rec.alu('mul', i, BigInt(arr.elem.size), 64);
        const baseReg = addressOf(core);
        const ptr = rec.alu('add', baseReg, scaled, 64);
        return viewOf({ ...core, schema: arr.elem, base: ptr, off: 0, scope: rec.scope }, `${label}[i]`);
      },
    };
    Object.defineProperty(out, CORE, { value: { ...core, schema }, enumerable: false });
    Object.defineProperty(out, 'set', { value: (src: unknown) => copyInto({ ...core, schema }, src, label, schema.align), enumerable: false });
    const fmt = addressFormat(schema);
    if (fmt) addAddressAccessors(out, { ...core, schema }, fmt, label, viewOf);
    return out;
  }
  if (schema.kind === 'struct' || schema.kind === 'union') {
    const comp = schema as unknown as CompositeSchema<'struct', Fields>;
    const out: Record<string, unknown> = {};
    for (const m of comp.members) {
      if (m.schema.kind === 'pad' || m.bitSize) continue;
      Object.defineProperty(out, m.name, {
        enumerable: true,
        get: () => viewOf({ ...core, schema: m.schema, off: core.off + m.offset }, `${label}.${m.name}`),
      });
    }
    Object.defineProperty(out, CORE, { value: { ...core, schema }, enumerable: false });
    if (!('set' in out)) Object.defineProperty(out, 'set', { value: (src: unknown) => copyInto({ ...core, schema }, src, label, schema.align), enumerable: false });
    return out;
  }
  throw new DslError('DSL_TYPE', `${label}: ${schema.kind} schemas cannot be accessed from BPF code`, callerLocation());
}

/** The operand holding a pointer's address (materialising `r10 + off` or `base + off`). */
export function addressOf(core: PtrCore): Operand {
  const rec = core.rec;
  rec.checkScope(core.scope, core.src, 'pointer');
  checkPacket(core);
  const dst = rec.vreg();
  if (core.base === 'fp') rec.emit({ op: 'frameaddr', dst, off: core.off });
  else if (core.off === 0) return core.base;
  else rec.emit({ op: 'alu', alu: 'add', dst, a: core.base, b: BigInt(core.off), width: 64 });
  return dst;
}

/** Any pointer into one of the regions R (for helpers taking raw memory). */
export type AnyPtr<R extends Region> = PtrBrand<unknown, R>;

/** Type-level helper: schema of a pointer. */
export type SchemaOf<P> = P extends PtrBrand<infer S, Region> ? S : never;
/** Scalar schemas accepted where bools are expected. */
export type { BoolSchema };
export type { Readable as ReadablePlace };
