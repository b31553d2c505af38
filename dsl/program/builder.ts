/**
 * The typed builder `b` a program body receives: control flow, locals, map
 * operations, packet parsing and typed helper wrappers. Every method records IR
 * nodes with the caller's TypeScript location and throws a `DslError` naming that
 * location on misuse (unknown helper for the program type or target, use of a
 * value outside its scope, …).
 */
import { callerLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { LoopStrategy, Node, Operand, VReg } from '../ir/index.js';
import { BpfFunc, PACKET_CHANGING_HELPERS, ctxField, HELPER_SINCE, helperAllowed, profileAllowsHelper, VERIFIED_KERNEL, ctxKindOf, type HelperName } from '../kernel/index.js';
import { resolveTypedef, type AnySchema, type ArraySchema, type Bitfield, type CompositeSchema, type EnumSchema, type Fields, type PadSchema, type TypedefSchema } from '../types/index.js';
import type { MapDef } from './maps.js';
import { addressOf, coreOf, viewOf, type AnyPtr, type Ptr, type PtrCore, type Region, type Settable } from './pointer.js';
import type { Recorder } from './recorder.js';
import { invalidatePacket, recordArms, recordLoopBody } from './packet-flow.js';
import { paramKind, prepareArg, type ParamArg, type ParamSchema } from './params.js';
import { CondImpl, ScalarImpl, SCALARS, scalarInfoOf, type Cond, type HostIntName, type Int, type NameOf, type ScalarName, type ScalarSchema, type U32Like, type U64Like, type Value, type ValueLike } from './scalar.js';
import type { FnDef, GlobalDef } from './program.js';
import type { AddressBytesSchema } from '../types/address.js';
import { addressFormat } from './address-view.js';
import { csumWords, type CsumDiff, type CsumWord } from './checksum.js';
import type { FibParams } from './fib.js';
import { checkNoHeldAcross, sockRef, type SockRef, type SockTuple4, type SockTuple6 } from './sockets.js';
import { recordSwitch, type SwitchCases } from './conditions.js';

/** A mutable scalar variable (`b.let`). */
export type Var<N extends ScalarName> = Value<N> & Settable<N>;

/** Initial contents for a local/key/value of schema S: constants or values per field (missing fields are zero). */
export type InitOf<S> = S extends ScalarSchema
  ? ValueLike<NameOf<S>>
  : S extends TypedefSchema<string, infer T>
    ? InitOf<T>
    : S extends EnumSchema
      ? ValueLike<'u32'>
      : S extends AddressBytesSchema<'ipv6' | 'mac'>
        ? string | readonly ValueLike<'u8'>[]
      : S extends ArraySchema<infer E>
        ? readonly InitOf<E>[]
        : S extends CompositeSchema<'struct' | 'union', infer F>
          ? { readonly [K in keyof F as F[K] extends PadSchema ? never : F[K] extends Bitfield<never> ? never : K]?: InitOf<F[K]> }
          : never;

/** A key or value argument: a pointer to memory holding it, or its contents. */
export type DataArg<S> = Ptr<S, 'stack' | 'map_value'> | InitOf<S>;

declare const nullBrand: unique symbol;
/** A pointer that may be NULL: no field access until checked with `orReturn` or `ifPresent`. */
export interface Nullable<P> {
  /** Returns `code` from the program when NULL; the pointer otherwise. */
  orReturn(code: ValueLike<HostIntName>): P;
  /** Runs `then` with the pointer when not NULL (the pointer exists only inside `then`), else `otherwise`. */
  ifPresent(then: (p: P) => void, otherwise?: () => void): void;
  readonly [nullBrand]: true;
}

/** Map update flags. */
export type UpdateFlag = 'any' | 'noexist' | 'exist';
const UPDATE_FLAGS: Record<UpdateFlag, bigint> = { any: 0n, noexist: 1n, exist: 2n };

export type { CsumWord, CsumDiff } from './checksum.js';

/** Options of `skLookupTcp` / `skLookupUdp`. */
export interface SkLookupOptions {
  /** Network namespace id; default BPF_F_CURRENT_NETNS. */
  readonly netns?: U64Like;
  readonly flags?: U64Like;
}

/** Maps usable with lookup/update/delete. */
export type DataMap<K, V> = MapDef<K & AnySchema, V & AnySchema, 'hash' | 'array' | 'lpm'>;

/** Options of `b.loop()`. */
export interface LoopOptions {
  /**
   * `'auto'` (default): unrolled without bounded loops, a bounded loop, or the
   * `bpf_loop` helper when the count is too large for the verifier to walk (see
   * dsl/lower/bpf-loop.ts). `'bpf_loop'`: always the helper (kernel 5.17); the body
   * becomes a callback, so it may `break()`/`continue()` but not `return()`.
   */
  readonly strategy?: LoopStrategy;
}

/** The builder a program or subfunction body receives. */
export interface B {
  /** Runs `then` when `cond` holds, else `otherwise`. A build-time boolean picks a branch at build time. */
  if(cond: Cond | boolean, then: () => void, otherwise?: () => void): void;
  /**
   * Multi-way branch on a scalar: runs the body whose key equals `x` (keys are
   * host-order constants, as in `eq()`), else `otherwise`.
   */
  switch<N extends ScalarName>(x: Value<N>, cases: SwitchCases, otherwise?: () => void): void;
  /** Returns from the program. */
  return(value: ValueLike<HostIntName>): void;
  /** `for (i = 0; i < count; i++) body(i)` with a build-time `count`: a real bounded loop or unrolled, per target. */
  loop(count: number, body: (i: Int<'u32'>) => void, options?: LoopOptions): void;
  break(): void;
  continue(): void;
  /** A mutable scalar variable. */
  let<S extends ScalarSchema>(schema: S, init?: ValueLike<NameOf<S>>): Var<NameOf<S>>;
  /** A constant of a type. */
  val<S extends ScalarSchema>(schema: S, value: number | bigint): Value<NameOf<S>>;
  /** A zero-initialised stack object of any schema, optionally with initial field values. */
  local<S extends AnySchema>(schema: S, init?: InitOf<S>): Ptr<S, 'stack'>;
  lookup<K, V>(map: DataMap<K, V>, key: DataArg<K>): Nullable<Ptr<V, 'map_value'>>;
  update<K, V>(map: DataMap<K, V>, key: DataArg<K>, value: DataArg<V>, flags?: UpdateFlag): Int<'s64'>;
  delete<K, V>(map: DataMap<K, V>, key: DataArg<K>): Int<'s64'>;
  /** Tail call into `map[index]`; continues here when the slot is empty. */
  tailCall(map: MapDef<AnySchema, AnySchema, 'prog_array'>, index: U32Like): void;
  /** Bounds-checked packet access: a header of schema S at `offset` bytes into the packet. */
  parse<S extends AnySchema>(schema: S, offset: U32Like): Nullable<Ptr<S, 'packet'>>;
  /** A global variable (`.rodata` read-only, `.data`/`.bss` writable). */
  global<S extends AnySchema, Sec extends string>(g: GlobalDef<S, Sec>): Ptr<S, Sec extends `.rodata${string}` ? 'rodata' : 'map_value'>;
  /** Calls a subfunction (bpf-to-bpf call, or inlined where the target needs it). */
  call<P extends Record<string, ParamSchema>, R extends ScalarSchema>(f: FnDef<P, R>, args: { readonly [K in keyof P]: ParamArg<P[K]> }): Value<NameOf<R>>;

  prandom(): Int<'u32'>;
  ktimeGetNs(): Int<'u64'>;
  smpProcessorId(): Int<'u32'>;
  /** Socket cookie of the context's socket. */
  socketCookie(): Int<'u64'>;
  skbLoadBytes(offset: U32Like, to: AnyPtr<'stack' | 'map_value'>, len?: number): Int<'s64'>;
  skbStoreBytes(offset: U32Like, from: AnyPtr<'stack' | 'map_value'>, len?: number, flags?: U64Like): Int<'s64'>;
  /**
   * Incremental checksum update at `offset`. The low 4 bits of `flags` give the
   * field size: 2 or 4 — `from`/`to` are the old and new be16/be32 field values
   * (plain numbers are host-order values, converted as `set()`/`eq()` do) — or 0,
   * where `from` is 0 and `to` a `csumDiff` result.
   */
  l3CsumReplace(offset: U32Like, from: CsumWord, to: CsumWord | CsumDiff, flags: U64Like): Int<'s64'>;
  /** As {@link l3CsumReplace} for the L4 checksum; `flags` may add BPF_F_PSEUDO_HDR (0x10), BPF_F_MARK_MANGLED_0 (0x20), BPF_F_MARK_ENFORCE (0x40). */
  l4CsumReplace(offset: U32Like, from: CsumWord, to: CsumWord | CsumDiff, flags: U64Like): Int<'s64'>;
  /** csum_diff over whole objects (sizes from their schemas; multiples of 4). */
  csumDiff(from: AnyPtr<Region> | null, to: AnyPtr<Region> | null, seed: U32Like): Int<'s64'>;
  /** FIB lookup with typed params ({@link FibLookup4} / {@link FibLookup6}); returns the result code (`FibLookupResult`). */
  fibLookup(params: Ptr<FibParams, 'stack'>, flags: U32Like): Int<'s64'>;
  /**
   * TCP socket lookup by tuple ({@link SockTuple4} / {@link SockTuple6} on the stack);
   * `netns` defaults to the current one (BPF_F_CURRENT_NETNS). Use the result in `ifPresent`.
   */
  skLookupTcp(tuple: Ptr<typeof SockTuple4 | typeof SockTuple6, 'stack'>, opts?: SkLookupOptions): SockRef;
  /** UDP socket lookup, as {@link skLookupTcp}. */
  skLookupUdp(tuple: Ptr<typeof SockTuple4 | typeof SockTuple6, 'stack'>, opts?: SkLookupOptions): SockRef;
  redirect(ifindex: U32Like, flags: U64Like): Int<'s64'>;
  redirectNeigh(ifindex: U32Like, flags?: U64Like): Int<'s64'>;
  tracePrintk(format: string, ...args: U64Like[]): Int<'s64'>;
  perfEventOutput(map: MapDef<AnySchema, AnySchema, 'perf'>, data: AnyPtr<'stack' | 'map_value'>, flags?: U64Like): Int<'s64'>;
  ringbufOutput(map: MapDef<undefined, undefined, 'ringbuf'>, data: AnyPtr<'stack' | 'map_value'>, flags?: U64Like): Int<'s64'>;
  /** Any helper by name with raw arguments (values, constants, pointers, maps); result as u64. */
  helper(name: HelperName, ...args: unknown[]): Int<'u64'>;
  /**
   * Whether the build target has helper `name` for this program type: a build-time
   * boolean, so one source can pick a strategy per kernel (`b.if(b.hasHelper('redirect_neigh'), …)`).
   */
  hasHelper(name: HelperName): boolean;
}

/** Implementation of {@link B} over a Recorder. */
export class BuilderImpl {
  /** Depth of subfunction bodies being inlined (where b.return is not allowed). */
  private inlining = 0;

  constructor(
    readonly rec: Recorder,
    readonly ctxReg: VReg | undefined,
    readonly onMap: (m: MapDef) => void,
    readonly onGlobal: (g: GlobalDef<AnySchema, string>) => void,
    readonly onFn: (f: FnDef<Record<string, ParamSchema>, ScalarSchema>) => void,
    /** Whether calling `f` may change the packet (default: when it takes the context, which every such helper needs). */
    readonly fnChangesPacket: (f: FnDef<Record<string, ParamSchema>, ScalarSchema>) => boolean = (f) => Object.values(f.params).some((p) => paramKind(p)?.t === 'ctx'),
  ) {}

  // ---- values -------------------------------------------------------------

  /** Operand of a scalar argument of type `info` (number, bigint or value). */
  private scalar(x: unknown, name: ScalarName, what: string, widen: readonly ScalarName[] = []): Operand {
    const info = SCALARS[name];
    if (x instanceof ScalarImpl && x.info !== info && widen.includes(x.info.name)) return x.read();
    return this.rec.value(info, 0n).coerce(x, what).op;
  }

  private u32(x: unknown, what: string): Operand {
    return this.scalar(x, 'u32', what, ['u8', 'u16']);
  }

  private u64(x: unknown, what: string): Operand {
    return this.scalar(x, 'u64', what, ['u8', 'u16', 'u32']);
  }

  if(cond: unknown, then: () => void, otherwise?: () => void): void {
    const src = callerLocation();
    if (typeof cond === 'boolean') {
      // Build-time condition: only the chosen branch is emitted (still in its own scope).
      const chosen = cond ? then : otherwise;
      if (chosen) for (const n of this.rec.block(chosen)) this.rec.emit(n);
      return;
    }
    if (!(cond instanceof CondImpl)) throw new DslError('DSL_TYPE', 'if(): expected a condition (a comparison such as x.eq(1)) or a boolean', src);
    if (typeof cond.value === 'boolean') return this.if(cond.value, then, otherwise);
    const [thenNodes, elseNodes] = recordArms(this.rec, [then, otherwise]) as [Node[], Node[]];
    const c = cond.value;
    if (cond.negated) this.rec.emit({ op: 'if', cond: c, then: elseNodes, else: thenNodes });
    else this.rec.emit({ op: 'if', cond: c, then: thenNodes, else: elseNodes });
  }

  switch(x: unknown, cases: unknown, otherwise?: () => void): void {
    recordSwitch(this as unknown as B, x, cases, otherwise);
  }

  return(value: unknown): void {
    const src = callerLocation();
    if (this.rec.kind === 'subprogram' || this.inlining > 0) throw new DslError('DSL_RETURN', 'b.return() is for programs; a subfunction returns its result from its body', src);
    let op: Operand;
    if (typeof value === 'number' || typeof value === 'bigint') op = BigInt.asUintN(64, BigInt(value));
    else if (value instanceof ScalarImpl && !value.info.be) op = value.read();
    else throw new DslError('DSL_TYPE', 'return(): expected a host integer value or a number', src);
    // Held socket references are released on every way out (innermost first).
    for (let k = this.rec.held.length - 1; k >= 0; k--) this.rec.held[k]!.release();
    this.rec.emit({ op: 'return', value: op });
  }

  loop(count: number, body: (i: unknown) => void, options?: LoopOptions): void {
    const src = callerLocation();
    const strategy = options?.strategy ?? 'auto';
    if (strategy !== 'auto' && strategy !== 'bpf_loop') throw new DslError('DSL_LOOP', `loop(): unknown strategy ${JSON.stringify(strategy)} (expected 'auto' or 'bpf_loop')`, src);
    if (!Number.isInteger(count) || count < 0 || count > 1 << 20) throw new DslError('DSL_LOOP', `loop(): the count must be a build-time integer in 0..${1 << 20}, got ${String(count)}`, src);
    const iv = this.rec.vreg();
    const { id, body: nodes } = recordLoopBody(this.rec, (f) => this.rec.loop(f), () => body(this.rec.value(SCALARS.u32, iv)));
    this.rec.emit({ op: 'loop', id, count, iv, body: nodes, ...(strategy !== 'auto' ? { strategy } : {}) });
  }

  break(): void {
    checkNoHeldAcross(this.rec, 'break');
    this.rec.emit({ op: 'break', loop: this.rec.currentLoop('break') });
  }

  continue(): void {
    checkNoHeldAcross(this.rec, 'continue');
    this.rec.emit({ op: 'continue', loop: this.rec.currentLoop('continue') });
  }

  let(schema: unknown, init?: unknown): ScalarImpl {
    const src = callerLocation();
    const info = scalarInfoOf((schema ?? {}) as never);
    if (!info) throw new DslError('DSL_TYPE', 'let(): expected a scalar schema', src);
    const reg = this.rec.vreg();
    const width = info.bits === 64 ? 64 : 32;
    const initOp = init === undefined ? 0n : this.rec.value(info, 0n).coerce(init, 'let');
    const first = typeof initOp === 'bigint' ? initOp : initOp.op;
    // Copies of canonical values are 64-bit moves; constants use the type's width.
    this.rec.emit({ op: 'mov', dst: reg, a: first, width: typeof first === 'bigint' ? width : 64 });
    const v = this.rec.value(info, reg);
    const rec = this.rec;
    Object.defineProperty(v, 'set', {
      value(x: unknown) {
        rec.checkScope(v.scope, v.src, 'variable');
        const a = v.coerce(x, 'set').op;
        rec.emit({ op: 'mov', dst: reg, a, width: typeof a === 'bigint' ? width : 64 });
      },
    });
    return v;
  }

  val(schema: unknown, value: number | bigint): ScalarImpl {
    const info = scalarInfoOf((schema ?? {}) as never);
    if (!info) throw new DslError('DSL_TYPE', 'val(): expected a scalar schema', callerLocation());
    return this.rec.value(info, this.rec.value(info, 0n).coerce(value, 'val').op);
  }

  local(schema: AnySchema, init?: unknown): unknown {
    const src = callerLocation();
    if (typeof schema !== 'object' || schema === null || typeof schema.size !== 'number') throw new DslError('DSL_TYPE', 'local(): expected a schema', src);
    const off = this.rec.alloc(schema.size);
    const size = Math.max(8, Math.ceil(schema.size / 8) * 8);
    for (let k = 0; k < size; k += 8) this.rec.emit({ op: 'store', base: 'fp', off: off + k, size: 8, value: 0n });
    const core: PtrCore = { rec: this.rec, schema, base: 'fp', off, region: 'stack', scope: this.rec.scope, src };
    const view = viewOf(core);
    if (init !== undefined) this.initialise(view, schema, init, schema.name || 'local');
    return view;
  }

  private initialise(view: unknown, schema: AnySchema, init: unknown, label: string): void {
    const s = resolveTypedef(schema);
    if (scalarInfoOf(s as never)) {
      (view as { set(v: unknown): void }).set(init);
      return;
    }
    if (s.kind === 'array' && addressFormat(s) && typeof init === 'string') {
      // Address text is encoded at build time (a bad address is a build error here).
      let bytes: Uint8Array;
      try {
        bytes = s.encode(init) as Uint8Array;
      } catch (e) {
        throw new DslError('DSL_TYPE', `${label}: ${(e as Error).message}`, callerLocation());
      }
      return this.initialise(view, s, Array.from(bytes), label);
    }
    if (s.kind === 'array') {
      if (!Array.isArray(init)) throw new DslError('DSL_TYPE', `${label}: expected an array initialiser`, callerLocation());
      const arr = s as unknown as ArraySchema;
      if (init.length > arr.count) throw new DslError('DSL_TYPE', `${label}: ${init.length} initialisers for ${arr.count} elements`, callerLocation());
      init.forEach((v, i) => this.initialise((view as { at(i: number): unknown }).at(i), arr.elem, v, `${label}[${i}]`));
      return;
    }
    if (s.kind === 'struct' || s.kind === 'union') {
      if (typeof init !== 'object' || init === null) throw new DslError('DSL_TYPE', `${label}: expected an object initialiser`, callerLocation());
      const comp = s as unknown as CompositeSchema<'struct', Fields>;
      for (const [k, v] of Object.entries(init)) {
        const m = comp.members.find((x) => x.name === k);
        if (!m || m.schema.kind === 'pad') throw new DslError('DSL_FIELD', `${label} has no field '${k}'`, callerLocation());
        if (v === undefined) continue;
        this.initialise((view as Record<string, unknown>)[k], m.schema, v, `${label}.${k}`);
      }
      return;
    }
    throw new DslError('DSL_TYPE', `${label}: cannot initialise a ${s.kind}`, callerLocation());
  }

  /** A pointer to memory holding `arg` of schema `schema` (a pointer as given, or a fresh local). */
  private dataPtr(schema: AnySchema | undefined, arg: unknown, what: string): Operand {
    const src = callerLocation();
    if (!schema) throw new DslError('DSL_MAP', `${what}: this map has no such type`, src);
    const core = coreOf(arg);
    if (core) {
      if (core.rec !== this.rec) throw new DslError('DSL_SCOPE', `${what}: pointer belongs to another program or function`, src);
      if (core.region !== 'stack' && core.region !== 'map_value' && core.region !== 'rodata')
        throw new DslError('DSL_TYPE', `${what}: ${core.region} pointers cannot be passed here`, src);
      if (core.schema.size !== schema.size) throw new DslError('DSL_TYPE', `${what}: expected ${schema.name || 'an object'} of ${schema.size} bytes, got ${core.schema.size} bytes`, src);
      return addressOf(core);
    }
    const view = this.local(schema, arg);
    return addressOf(coreOf(view)!);
  }

  // ---- helpers --------------------------------------------------------------

  /** Checks availability and emits a helper call; returns the result register (u64/s64). */
  private callHelper(name: HelperName, args: readonly Operand[], keep = true): VReg | undefined {
    const src = callerLocation();
    const rec = this.rec;
    const p = rec.profile;
    if (!profileAllowsHelper(p, rec.progType, name, rec.attachType)) {
      const forType = helperAllowed(name, rec.progType, VERIFIED_KERNEL, rec.attachType);
      const hook = rec.attachType ? ` (${rec.attachType})` : '';
      const why =
        forType === false
          ? `${rec.progType}${hook} programs cannot call it`
          : `target ${p.name} (kernel ${p.kernel}) does not have it for ${rec.progType}${hook} programs; it arrived in ${HELPER_SINCE[name]}`;
      throw new DslError('DSL_HELPER_UNAVAILABLE', `helper bpf_${name} is not available: ${why}`, src);
    }
    const dst = keep ? rec.vreg() : undefined;
    rec.emit({ op: 'call', helper: BpfFunc[name], name, args, dst });
    if (PACKET_CHANGING_HELPERS.has(name)) invalidatePacket(rec, `bpf_${name} at ${src ? `${src.file}:${src.line}` : 'unknown location'}`);
    return dst;
  }

  private result(name: ScalarName, r: VReg | undefined): ScalarImpl {
    return this.rec.value(SCALARS[name], r!);
  }

  private mapRef(map: MapDef, kinds: readonly string[], what: string): VReg {
    const src = callerLocation();
    if (typeof map !== 'object' || map === null || !kinds.includes(map.kind)) throw new DslError('DSL_MAP', `${what}: expected a ${kinds.join('/')} map`, src);
    this.onMap(map);
    const dst = this.rec.vreg();
    this.rec.emit({ op: 'mapref', dst, map: map.name });
    return dst;
  }

  private ctx(what: string): VReg {
    if (this.ctxReg === undefined) throw new DslError('DSL_CTX', `${what} needs the program context; call it from a program body`, callerLocation());
    return this.ctxReg;
  }

  private nullable(ptr: VReg, fail: CondImpl['value'], schema: AnySchema, region: Region): unknown {
    const rec = this.rec;
    const produced = callerLocation();
    const scope = rec.scope;
    const epoch = rec.packetEpoch;
    const make = () => viewOf({ rec, schema, base: ptr, off: 0, region, scope: rec.scope, src: produced, epoch });
    const failCond = fail as Exclude<CondImpl['value'], boolean>;
    const inverse = new CondImpl(rec, failCond).not().value as Exclude<CondImpl['value'], boolean>;
    return {
      orReturn: (code: unknown) => {
        rec.checkScope(scope, produced, 'pointer');
        const nodes = rec.block(() => this.return(code));
        rec.emit({ op: 'if', cond: failCond, then: nodes, else: [] });
        return make();
      },
      ifPresent: (then: (p: unknown) => void, otherwise?: () => void) => {
        rec.checkScope(scope, produced, 'pointer');
        const [thenNodes, elseNodes] = recordArms(rec, [() => then(make()), otherwise]) as [Node[], Node[]];
        rec.emit({ op: 'if', cond: inverse, then: thenNodes, else: elseNodes });
      },
    };
  }

  lookup(map: MapDef, key: unknown): unknown {
    const m = this.mapRef(map, ['hash', 'array', 'lpm'], 'lookup');
    const k = this.dataPtr(map.key, key, `lookup(${map.name}) key`);
    const r = this.callHelper('map_lookup_elem', [m, k])!;
    return this.nullable(r, { cmp: 'eq', a: r, b: 0n, width: 64 }, map.value!, 'map_value');
  }

  update(map: MapDef, key: unknown, value: unknown, flags: UpdateFlag = 'any'): ScalarImpl {
    const m = this.mapRef(map, ['hash', 'array', 'lpm'], 'update');
    const k = this.dataPtr(map.key, key, `update(${map.name}) key`);
    const v = this.dataPtr(map.value, value, `update(${map.name}) value`);
    const f = UPDATE_FLAGS[flags];
    if (f === undefined) throw new DslError('DSL_MAP', `update: flags must be 'any', 'noexist' or 'exist'`, callerLocation());
    return this.result('s64', this.callHelper('map_update_elem', [m, k, v, f]));
  }

  delete(map: MapDef, key: unknown): ScalarImpl {
    const m = this.mapRef(map, ['hash', 'lpm'], 'delete');
    const k = this.dataPtr(map.key, key, `delete(${map.name}) key`);
    return this.result('s64', this.callHelper('map_delete_elem', [m, k]));
  }

  tailCall(map: MapDef, index: unknown): void {
    const ctx = this.ctx('tailCall');
    const m = this.mapRef(map, ['prog_array'], 'tailCall');
    const i = this.u32(index, 'tailCall index');
    checkNoHeldAcross(this.rec, 'tail call');
    this.rec.usedTailCall = true;
    this.callHelper('tail_call', [ctx, m, i], false);
  }

  parse(schema: AnySchema, offset: unknown): unknown {
    const src = callerLocation();
    const ctx = this.ctx('parse');
    const kind = ctxKindOf(this.rec.progType);
    if (!kind) throw new DslError('DSL_CTX', `parse(): ${this.rec.progType} programs have no packet access`, src);
    let dataField, endField;
    try {
      dataField = ctxField(kind, 'data', this.rec.attachType);
      endField = ctxField(kind, 'data_end', this.rec.attachType);
    } catch (e) {
      throw new DslError('DSL_CTX', `parse(): ${(e as Error).message}`, src);
    }
    if (!dataField.read || !endField.read) throw new DslError('DSL_CTX', `parse(): ${this.rec.progType} programs cannot read packet data directly (use skbLoadBytes)`, src);
    const off = this.u32(offset, 'parse offset');
    const data = this.rec.vreg();
    // __sk_buff/xdp_md hold 32-bit data fields; sk_msg_md's are 64-bit pointers (__bpf_md_ptr).
    this.rec.emit({ op: 'load', dst: data, base: ctx, off: dataField.offset, size: dataField.size === 8 ? 8 : 4 });
    const end = this.rec.vreg();
    this.rec.emit({ op: 'load', dst: end, base: ctx, off: endField.offset, size: endField.size === 8 ? 8 : 4 });
    let p = data;
    if (off !== 0n) p = this.rec.alu('add', data, off, 64);
    const last = this.rec.alu('add', p, BigInt(schema.size), 64);
    return this.nullable(p, { cmp: 'gt', a: last, b: end, width: 64 }, schema, 'packet');
  }

  global(g: GlobalDef<AnySchema, string>): unknown {
    this.onGlobal(g);
    const dst = this.rec.vreg();
    this.rec.emit({ op: 'globaladdr', dst, name: g.name, offset: 0 });
    const region: Region = g.section.startsWith('.rodata') ? 'rodata' : 'map_value';
    return viewOf({ rec: this.rec, schema: g.schema, base: dst, off: 0, region, scope: this.rec.scope, src: callerLocation() }, g.name);
  }

  call(f: FnDef<Record<string, ParamSchema>, ScalarSchema>, args: Record<string, unknown>): ScalarImpl {
    const src = callerLocation();
    if (typeof f !== 'object' || f === null || typeof f.body !== 'function') throw new DslError('DSL_TYPE', 'call(): expected a subfunction from fn()', src);
    if (typeof args !== 'object' || args === null) throw new DslError('DSL_ARGS', `call ${f.name}: expected an object of arguments`, src);
    const names = Object.keys(f.params);
    const kinds = names.map((n) => paramKind(f.params[n])!);
    const prepared = names.map((n, k) => {
      if (!(n in args)) throw new DslError('DSL_ARGS', `call ${f.name}: missing argument '${n}'`, src);
      return prepareArg(this, f.name, n, kinds[k]!, args[n], src);
    });
    const ret = scalarInfoOf(f.returns as never)!;
    let result: ScalarImpl;
    if (this.rec.inlineCalls) {
      const argValues: Record<string, unknown> = {};
      names.forEach((n, k) => (argValues[n] = prepared[k]!.view));
      let out;
      this.inlining++;
      try {
        out = f.body(this as unknown as B, argValues as never);
      } finally {
        this.inlining--;
      }
      result = this.rec.value(ret, this.rec.value(ret, 0n).coerce(out, `${f.name} result`).op);
    } else {
      this.onFn(f);
      this.rec.usedCallFn = true;
      const dst = this.rec.vreg();
      this.rec.emit({ op: 'callfn', fn: f.name, args: prepared.map((p) => p.op()), dst });
      result = this.rec.value(ret, dst);
      // An inlined body invalidated as it went; a called one does it for the caller's frame too.
      if (this.fnChangesPacket(f)) invalidatePacket(this.rec, `the call of ${f.name} (it may change the packet) at ${src ? `${src.file}:${src.line}` : 'unknown location'}`);
    }
    return result;
  }

  prandom() { return this.result('u32', this.callHelper('get_prandom_u32', [])); }
  ktimeGetNs() { return this.result('u64', this.callHelper('ktime_get_ns', [])); }
  smpProcessorId() { return this.result('u32', this.callHelper('get_smp_processor_id', [])); }
  socketCookie() { return this.result('u64', this.callHelper('get_socket_cookie', [this.ctx('socketCookie')])); }

  private sized(p: unknown, len: number | undefined, what: string): { addr: Operand; len: bigint } {
    const core = coreOf(p);
    if (!core) throw new DslError('DSL_TYPE', `${what}: expected a pointer (a local or map value)`, callerLocation());
    const size = len ?? core.schema.size;
    if (!Number.isInteger(size) || size <= 0 || size > core.schema.size) throw new DslError('DSL_TYPE', `${what}: length ${size} does not fit the ${core.schema.size}-byte object`, callerLocation());
    return { addr: addressOf(core), len: BigInt(size) };
  }

  skbLoadBytes(offset: unknown, to: unknown, len?: number) {
    const ctx = this.ctx('skbLoadBytes');
    const o = this.u32(offset, 'skbLoadBytes offset');
    const d = this.sized(to, len, 'skbLoadBytes');
    return this.result('s64', this.callHelper('skb_load_bytes', [ctx, o, d.addr, d.len]));
  }

  skbStoreBytes(offset: unknown, from: unknown, len?: number, flags: unknown = 0) {
    const ctx = this.ctx('skbStoreBytes');
    const o = this.u32(offset, 'skbStoreBytes offset');
    const d = this.sized(from, len, 'skbStoreBytes');
    const f = this.u64(flags, 'skbStoreBytes flags');
    return this.result('s64', this.callHelper('skb_store_bytes', [ctx, o, d.addr, d.len, f]));
  }

  private csumReplace(name: 'l3_csum_replace' | 'l4_csum_replace', offset: unknown, from: unknown, to: unknown, flags: unknown) {
    const ctx = this.ctx(name);
    const f = this.u64(flags, `${name} flags`);
    const [a, b] = csumWords(name, from, to, f, (x, what) => this.u64(x, what));
    const args = [ctx, this.u32(offset, `${name} offset`), a, b, f];
    return this.result('s64', this.callHelper(name, args));
  }
  l3CsumReplace(offset: unknown, from: unknown, to: unknown, flags: unknown) { return this.csumReplace('l3_csum_replace', offset, from, to, flags); }
  l4CsumReplace(offset: unknown, from: unknown, to: unknown, flags: unknown) { return this.csumReplace('l4_csum_replace', offset, from, to, flags); }

  csumDiff(from: unknown, to: unknown, seed: unknown) {
    const f = from === null ? { addr: 0n as Operand, len: 0n } : this.sized(from, undefined, 'csumDiff from');
    const t = to === null ? { addr: 0n as Operand, len: 0n } : this.sized(to, undefined, 'csumDiff to');
    return this.result('s64', this.callHelper('csum_diff', [f.addr, f.len, t.addr, t.len, this.u32(seed, 'csumDiff seed')]));
  }

  fibLookup(params: unknown, flags: unknown) {
    const ctx = this.ctx('fibLookup');
    const p = this.sized(params, undefined, 'fibLookup');
    if (p.len !== 64n) throw new DslError('DSL_TYPE', `fibLookup: params must be a FibLookup4/FibLookup6 (64 bytes), got ${p.len} bytes`, callerLocation());
    return this.result('s64', this.callHelper('fib_lookup', [ctx, p.addr, p.len, this.u32(flags, 'fibLookup flags')]));
  }

  skLookupTcp(tuple: unknown, opts?: { netns?: unknown; flags?: unknown }) {
    return this.skLookup('sk_lookup_tcp', tuple, opts);
  }

  skLookupUdp(tuple: unknown, opts?: { netns?: unknown; flags?: unknown }) {
    return this.skLookup('sk_lookup_udp', tuple, opts);
  }

  private skLookup(name: 'sk_lookup_tcp' | 'sk_lookup_udp', tuple: unknown, opts: { netns?: unknown; flags?: unknown } = {}) {
    const ctx = this.ctx(name);
    const t = this.sized(tuple, undefined, name);
    if (t.len !== 12n && t.len !== 36n) throw new DslError('DSL_TYPE', `${name}: the tuple must be a SockTuple4 (12 bytes) or SockTuple6 (36 bytes), got ${t.len} bytes`, callerLocation());
    const netns = opts.netns === undefined ? 0xffffffffffffffffn : this.u64(opts.netns, `${name} netns`);
    const flags = opts.flags === undefined ? 0n : this.u64(opts.flags, `${name} flags`);
    const r = this.callHelper(name, [ctx, t.addr, t.len, netns, flags])!;
    return sockRef(this.rec, r, `the socket from bpf_${name}`, (reg) => void this.callHelper('sk_release', [reg], false));
  }

  redirect(ifindex: unknown, flags: unknown) {
    return this.result('s64', this.callHelper('redirect', [this.u32(ifindex, 'redirect ifindex'), this.u64(flags, 'redirect flags')]));
  }

  hasHelper(name: HelperName): boolean {
    if (!(name in BpfFunc)) throw new DslError('DSL_HELPER_UNAVAILABLE', `hasHelper(): unknown helper ${JSON.stringify(name)}`, callerLocation());
    return profileAllowsHelper(this.rec.profile, this.rec.progType, name, this.rec.attachType);
  }

  redirectNeigh(ifindex: unknown, flags: unknown = 0) {
    return this.result('s64', this.callHelper('redirect_neigh', [this.u32(ifindex, 'redirectNeigh ifindex'), 0n, 0n, this.u64(flags, 'redirectNeigh flags')]));
  }

  tracePrintk(format: string, ...args: unknown[]) {
    const src = callerLocation();
    if (typeof format !== 'string') throw new DslError('DSL_TYPE', 'tracePrintk: the format must be a string', src);
    if (args.length > 3) throw new DslError('DSL_ARGS', 'tracePrintk takes at most 3 values', src);
    const bytes = new TextEncoder().encode(format + '\0');
    const off = this.rec.alloc(bytes.length);
    const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
    padded.set(bytes);
    const dv = new DataView(padded.buffer);
    for (let k = 0; k < padded.length; k += 8) this.rec.emit({ op: 'store', base: 'fp', off: off + k, size: 8, value: dv.getBigUint64(k, true) });
    const addr = this.rec.vreg();
    this.rec.emit({ op: 'frameaddr', dst: addr, off });
    const vals = args.map((a, i) => (a instanceof ScalarImpl && !a.info.be ? a.read() : this.u64(a, `tracePrintk argument ${i + 1}`)));
    return this.result('s64', this.callHelper('trace_printk', [addr, BigInt(bytes.length), ...vals]));
  }

  perfEventOutput(map: MapDef, data: unknown, flags: unknown = 0xffffffffn) {
    const ctx = this.ctx('perfEventOutput');
    const m = this.mapRef(map, ['perf'], 'perfEventOutput');
    const d = this.sized(data, undefined, 'perfEventOutput');
    return this.result('s64', this.callHelper('perf_event_output', [ctx, m, this.u64(flags, 'perfEventOutput flags'), d.addr, d.len]));
  }

  ringbufOutput(map: MapDef, data: unknown, flags: unknown = 0) {
    const m = this.mapRef(map, ['ringbuf'], 'ringbufOutput');
    const d = this.sized(data, undefined, 'ringbufOutput');
    return this.result('s64', this.callHelper('ringbuf_output', [m, d.addr, d.len, this.u64(flags, 'ringbufOutput flags')]));
  }

  helper(name: HelperName, ...args: unknown[]) {
    const src = callerLocation();
    if (!(name in BpfFunc)) throw new DslError('DSL_HELPER_UNKNOWN', `unknown helper '${String(name)}'`, src);
    const ops = args.map((a, i): Operand => {
      if (typeof a === 'number' || typeof a === 'bigint') return BigInt.asUintN(64, BigInt(a));
      if (a instanceof ScalarImpl) return a.read();
      const core = coreOf(a);
      if (core && core.region === 'ctx' && core.off !== 0) throw new DslError('DSL_TYPE', `helper ${name}: argument ${i + 1} is a context field; pass the context itself (ctx)`, src);
      if (core) return core.region === 'ctx' ? core.base as VReg : addressOf(core);
      if (typeof a === 'object' && a !== null && 'maxEntries' in a) return this.mapRef(a as MapDef, ['hash', 'array', 'lpm', 'prog_array', 'ringbuf', 'perf'], name);
      throw new DslError('DSL_TYPE', `helper ${name}: argument ${i + 1} is not a value, pointer or map`, src);
    });
    return this.result('u64', this.callHelper(name, ops));
  }
}
