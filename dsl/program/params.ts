/**
 * Subfunction parameters beyond scalars: typed pointers (`ptrParam(schema,
 * region)`), struct/array values (passed as a pointer to a fresh copy on the
 * caller's stack) and the program context (`ctxParam(section)`). The declared
 * parameter decides what the body can do with it: a pointer parameter is a view
 * with field access, a context parameter is the typed context of that section.
 * Subfunctions are static subprograms (verified in each caller's context), so
 * stack, map-value, packet and context pointers all pass.
 */
import { callerLocation, type SourceLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { Operand, VReg } from '../ir/index.js';
import { ctxKindOf, sectionDef, type CtxKind } from '../kernel/index.js';
import { resolveTypedef, type AnySchema } from '../types/index.js';
import type { InitOf } from './builder.js';
import { makeCtx, type CtxOf } from './context.js';
import { addressOf, checkPacket, coreOf, viewOf, type Ptr, type PtrCore, type Region } from './pointer.js';
import type { Recorder } from './recorder.js';
import { scalarInfoOf, type NameOf, type ScalarInfo, type ScalarSchema, type Value, type ValueLike } from './scalar.js';

const REGIONS: readonly Region[] = ['stack', 'map_value', 'rodata', 'packet', 'ctx'];

/** A pointer parameter: a pointer to `schema` in one of `regions`. */
export interface PtrParam<S extends AnySchema, R extends Region> {
  readonly kind: 'ptrParam';
  readonly schema: S;
  readonly regions: readonly R[];
}

/** A context parameter: the program context, typed as the context of `section`. */
export interface CtxParam<S extends string> {
  readonly kind: 'ctxParam';
  readonly section: S;
  readonly ctxKind: CtxKind;
}

/** Declares a pointer parameter of a subfunction (`ptrParam(IpHdr, 'packet')`, `ptrParam(Key, 'stack', 'map_value')`). */
export function ptrParam<S extends AnySchema, const R extends Region>(schema: S, ...regions: R[]): PtrParam<S, R> {
  const src = callerLocation();
  if (typeof schema !== 'object' || schema === null || typeof schema.size !== 'number') throw new DslError('DSL_TYPE', 'ptrParam(): expected a schema', src);
  if (regions.length === 0 || regions.some((r) => !REGIONS.includes(r) || r === 'ctx'))
    throw new DslError('DSL_TYPE', `ptrParam(): give the regions the pointer may point into (stack, map_value, rodata, packet); for the context use ctxParam()`, src);
  return Object.freeze({ kind: 'ptrParam', schema, regions: Object.freeze([...regions]) });
}

/** Declares a context parameter typed as the context of programs in `section` (`ctxParam('tc')`). */
export function ctxParam<const S extends string>(section: S): CtxParam<S> {
  const src = callerLocation();
  let kind: CtxKind | undefined;
  try {
    kind = ctxKindOf(sectionDef(section).progType);
  } catch (e) {
    throw new DslError('DSL_SECTION', (e as Error).message, src);
  }
  if (!kind) throw new DslError('DSL_SECTION', `ctxParam(): section '${section}' has no typed context`, src);
  return Object.freeze({ kind: 'ctxParam', section, ctxKind: kind });
}

/** What a subfunction parameter may be declared as. */
export type ParamSchema = ScalarSchema | PtrParam<AnySchema, Region> | CtxParam<string> | AnySchema;

/** What the body sees for a parameter. */
export type ParamView<P> = P extends ScalarSchema
  ? Value<NameOf<P>>
  : P extends PtrParam<infer S, infer R>
    ? Ptr<S, R>
    : P extends CtxParam<infer S>
      ? CtxOf<S>
      : P extends AnySchema
        ? Ptr<P, 'stack'>
        : never;

/** What a call passes for a parameter (a struct value: a pointer to one, or its contents). */
export type ParamArg<P> = P extends ScalarSchema
  ? ValueLike<NameOf<P>>
  : P extends PtrParam<infer S, infer R>
    ? Ptr<S, R>
    : P extends CtxParam<infer S>
      ? CtxOf<S>
      : P extends AnySchema
        ? Ptr<P, Region> | InitOf<P>
        : never;

/** A parameter, classified. */
export type ParamKind =
  | { readonly t: 'scalar'; readonly info: ScalarInfo }
  | { readonly t: 'ptr'; readonly schema: AnySchema; readonly regions: readonly Region[] }
  | { readonly t: 'ctx'; readonly ctxKind: CtxKind; readonly section: string }
  | { readonly t: 'value'; readonly schema: AnySchema };

/** Classifies a declared parameter (undefined: not a parameter declaration). */
export function paramKind(p: unknown): ParamKind | undefined {
  if (typeof p !== 'object' || p === null) return undefined;
  const k = (p as { kind?: unknown }).kind;
  if (k === 'ptrParam') return { t: 'ptr', schema: (p as PtrParam<AnySchema, Region>).schema, regions: (p as PtrParam<AnySchema, Region>).regions };
  if (k === 'ctxParam') return { t: 'ctx', ctxKind: (p as CtxParam<string>).ctxKind, section: (p as CtxParam<string>).section };
  const info = scalarInfoOf(p as never);
  if (info) return { t: 'scalar', info };
  const s = resolveTypedef(p as AnySchema);
  if (typeof s.size === 'number' && (s.kind === 'struct' || s.kind === 'union' || s.kind === 'array')) return { t: 'value', schema: p as AnySchema };
  return undefined;
}

/** The builder operations argument passing needs (BuilderImpl provides them). */
export interface ArgHost {
  readonly rec: Recorder;
  readonly ctxReg: VReg | undefined;
  local(schema: AnySchema, init?: unknown): unknown;
}

/** One prepared argument: the operand passed in a register (emitted on demand) and the view an inlined body gets. */
export interface PreparedArg {
  readonly op: () => Operand;
  readonly view: unknown;
}

function copyBytes(rec: Recorder, dst: PtrCore, src: PtrCore, size: number): void {
  let base = src.base;
  let off = src.off;
  if (base !== 'fp') {
    base = addressOf(src) as VReg;
    off = 0;
  }
  for (let k = 0; k < size; ) {
    const n = size - k >= 8 ? 8 : size - k >= 4 ? 4 : size - k >= 2 ? 2 : 1;
    const v = rec.vreg();
    rec.emit({ op: 'load', dst: v, base, off: off + k, size: n });
    rec.emit({ op: 'store', base: dst.base, off: dst.off + k, size: n, value: v });
    k += n;
  }
}

/** Checks and prepares argument `name` of subfunction `fn` against its declaration. */
export function prepareArg(host: ArgHost, fnName: string, name: string, kind: ParamKind, arg: unknown, src: SourceLocation | undefined): PreparedArg {
  const rec = host.rec;
  const what = `${fnName}(${name})`;
  if (kind.t === 'scalar') {
    const v = rec.value(kind.info, 0n).coerce(arg, what);
    return { op: () => v.op, view: rec.value(kind.info, v.op) };
  }
  const core = coreOf(arg);
  if (core && core.rec !== rec) throw new DslError('DSL_SCOPE', `call ${what}: pointer belongs to another program or function`, src);
  if (kind.t === 'ctx') {
    if (!core || core.region !== 'ctx' || typeof core.base !== 'number' || core.off !== 0) throw new DslError('DSL_TYPE', `call ${what}: expected the program context`, src);
    const mine = ctxKindOf(rec.progType);
    if (mine !== kind.ctxKind) throw new DslError('DSL_TYPE', `call ${what}: the parameter is a ${kind.section} context (${kind.ctxKind}), this program's context is ${mine ?? rec.progType}`, src);
    const reg = core.base;
    return { op: () => reg, view: arg };
  }
  if (kind.t === 'ptr') {
    if (!core || core.region === 'ctx') throw new DslError('DSL_TYPE', `call ${what}: expected a pointer to ${kind.schema.name || 'an object'} (${kind.regions.join(' or ')})`, src);
    if (!kind.regions.includes(core.region)) throw new DslError('DSL_TYPE', `call ${what}: expected a pointer into ${kind.regions.join(' or ')}, got a ${core.region} pointer`, src);
    if (resolveTypedef(core.schema) !== resolveTypedef(kind.schema) && core.schema.size !== kind.schema.size)
      throw new DslError('DSL_TYPE', `call ${what}: expected ${kind.schema.name || 'an object'} of ${kind.schema.size} bytes, got ${core.schema.name || 'an object'} of ${core.schema.size} bytes`, src);
    checkPacket(core);
    return { op: () => addressOf(core), view: viewOf({ ...core, schema: kind.schema }) };
  }
  // A struct/array value: the callee gets a pointer to a copy on the caller's stack.
  const copy = host.local(kind.schema, core ? undefined : arg);
  const dst = coreOf(copy)!;
  if (core) {
    if (core.region === 'ctx') throw new DslError('DSL_TYPE', `call ${what}: the context cannot be copied`, src);
    if (core.schema.size !== kind.schema.size) throw new DslError('DSL_TYPE', `call ${what}: expected ${kind.schema.name || 'an object'} of ${kind.schema.size} bytes, got ${core.schema.size} bytes`, src);
    copyBytes(rec, dst, core, kind.schema.size);
  }
  return { op: () => addressOf(dst), view: copy };
}

/** The view a called (not inlined) subfunction's body gets for a parameter held in `reg`. */
export function calleeParam(rec: Recorder, kind: ParamKind, reg: VReg, fnSrc: SourceLocation | undefined): unknown {
  if (kind.t === 'scalar') return rec.value(kind.info, reg);
  if (kind.t === 'ctx') {
    if (ctxKindOf(rec.progType) !== kind.ctxKind) throw new DslError('DSL_TYPE', `the parameter is a ${kind.section} context, but a ${rec.progType} program calls this function`, fnSrc);
    return makeCtx(rec, reg, kind.ctxKind, rec.attachType);
  }
  const schema = kind.t === 'ptr' ? kind.schema : kind.schema;
  // Several regions: the strictest rules apply (packet invalidation, then read-only).
  const region: Region = kind.t === 'value' ? 'stack' : kind.regions.includes('packet') ? 'packet' : kind.regions.includes('rodata') ? 'rodata' : kind.regions[0]!;
  return viewOf({ rec, schema, base: reg, off: 0, region, scope: rec.scope, src: fnSrc, epoch: rec.packetEpoch });
}
