/**
 * `build`: runs program bodies for a target profile, lowers them, and assembles
 * the raw in-memory object (programs, subprograms, maps, globals) with the IR and
 * lowering details. `buildObject` also fits that object to the target (checks,
 * size peepholes, tail-call splitting), so its result is what the ELF writer
 * serialises and the loader loads. Pure and deterministic.
 */
import { DslError } from '../ir/errors.js';
import { freezeIr, type IrFunction, type LoopNode, type Operand } from '../ir/index.js';
import { MAX_STACK_BYTES, profileByName, type TargetProfile } from '../kernel/index.js';
import { lowerFunction, type IrPass, type LoweredFunction } from '../lower/index.js';
import type { GlobalSpec, MapSpec, ObjectSpec, ProgramSpec, SubprogramSpec } from '../object/index.js';
import { FitError, fitObject, type FitOptions } from '../fit/index.js';
import type { AnySchema } from '../types/index.js';
import { BuilderImpl, type B } from './builder.js';
import { makeCtx } from './context.js';
import type { MapDef } from './maps.js';
import type { FnDef, GlobalDef, ProgramDef } from './program.js';
import { calleeParam, paramKind, type ParamSchema } from './params.js';
import { Recorder } from './recorder.js';
import { scalarInfoOf, type ScalarSchema } from './scalar.js';

/** Options of {@link buildObject}. */
export interface BuildOptions {
  /** Target: a profile name (`'4.19'`, `'6.6'`, `'latest'`…) or a profile (e.g. from the prober). Default `latest`. */
  readonly target?: string | TargetProfile;
  /** License string; default `GPL`. */
  readonly license?: string;
  /** Extra IR passes run on every function before lowering. */
  readonly passes?: readonly IrPass[];
  /** Per-loop unroll decision (default: unroll exactly when the target has no bounded loops). */
  readonly unroll?: (loop: LoopNode, profile: TargetProfile) => boolean;
  /**
   * Inline every subfunction call (default: only where the target has no bpf-to-bpf
   * calls, or cannot mix them with the program's tail calls). A program that will be
   * split into tail calls on a target before 5.10 needs it.
   */
  readonly inline?: boolean;
  /**
   * Let programs exceed the target's instruction limit (for a caller that fits the
   * result, as `buildObject` and `compile` do). Default false: `build` refuses an
   * oversize program with DSL_TOO_BIG naming its TypeScript line.
   */
  readonly skipSizeCheck?: boolean;
  /** Run the IR clean-ups of the lowering (default true; false shows what they save, or checks them against the plain code). */
  readonly optimize?: boolean;
}

type AnyProgram = ProgramDef<string>;
type AnyFn = FnDef<Record<string, ParamSchema>, ScalarSchema>;
type AnyGlobal = GlobalDef<AnySchema, string>;

/** Everything a build produced, for tools that want more than the ObjectSpec. */
export interface BuildResult {
  readonly object: ObjectSpec;
  readonly profile: TargetProfile;
  /** IR of every program and subfunction, by name. */
  readonly ir: ReadonlyMap<string, IrFunction>;
  /** Lowered functions by name (instructions, stack size). */
  readonly lowered: ReadonlyMap<string, LoweredFunction>;
}

function isProgramDef(x: unknown): x is AnyProgram {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'program' && typeof (x as { body?: unknown }).body === 'function';
}

/** Programs of a module namespace (its exported program declarations, in export order) or a list. */
export function programsOf(input: unknown): AnyProgram[] {
  if (isProgramDef(input)) return [input];
  if (Array.isArray(input)) return input.filter(isProgramDef);
  if (typeof input === 'object' && input !== null) return Object.values(input).filter(isProgramDef);
  return [];
}

/** Resolves a target option to a profile. */
export function targetProfile(target: string | TargetProfile | undefined): TargetProfile {
  if (target === undefined) return profileByName('latest');
  return typeof target === 'string' ? profileByName(target) : target;
}

interface Collected {
  readonly maps: Map<string, MapDef>;
  readonly globals: Map<string, AnyGlobal>;
  readonly fns: Map<string, { def: AnyFn; program: AnyProgram }>;
  /** Per calling program and subfunction: whether a call may change the packet (see fnChangesPacket). */
  readonly changesPacket: Map<AnyProgram, Map<AnyFn, boolean>>;
  /** Subfunctions being recorded on the side right now (recursion guard). */
  readonly recording: Set<AnyFn>;
}

/**
 * Runs a program or subfunction body. A thrown Error keeps its own stack (the CLI
 * reports its first frame in the user's module); a thrown non-Error value has no
 * stack, so it is reported at the declaration it came from.
 */
function runBody<T>(name: string, src: IrFunction['src'], body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof Error) throw e;
    const shown = typeof e === 'string' ? JSON.stringify(e.length > 120 ? `${e.slice(0, 117)}...` : e) : String(e);
    throw new DslError('DSL_THROW', `${name} threw a non-Error value: ${shown}`, src);
  }
}

function recordProgram(def: AnyProgram, profile: TargetProfile, inline: boolean, col: Collected): { ir: IrFunction; rec: Recorder } {
  const rec = new Recorder(profile, def.progType, def.attachType, 'program', inline);
  const ctxReg = rec.vreg();
  const b = builderFor(rec, ctxReg, def, col);
  const ctx = makeCtx(rec, ctxReg, def.ctxKind, def.attachType);
  runBody(def.name, def.src, () => def.body(b as unknown as B, ctx as never));
  const ir = freezeIr<IrFunction>({ name: def.name, kind: 'program', params: [ctxReg], body: rec.body, frameSize: rec.frameSize, objects: rec.objects, nextVReg: rec.nextFree, src: def.src });
  return { ir, rec };
}

function builderFor(rec: Recorder, ctxReg: number | undefined, program: AnyProgram, col: Collected): BuilderImpl {
  return new BuilderImpl(
    rec,
    ctxReg,
    (m) => {
      const prev = col.maps.get(m.name);
      if (prev && prev !== m) throw new DslError('DSL_MAP', `two different maps are named '${m.name}'`, m.src);
      col.maps.set(m.name, m);
    },
    (g) => {
      const prev = col.globals.get(g.name);
      if (prev && prev !== g) throw new DslError('DSL_GLOBAL', `two different globals are named '${g.name}'`, g.src);
      col.globals.set(g.name, g);
    },
    (f) => {
      rec.fns.set(f.name, { name: f.name, src: f.src });
      const prev = col.fns.get(f.name);
      if (prev && prev.def !== f) throw new DslError('DSL_NAME', `two different subfunctions are named '${f.name}'`, f.src);
      if (!prev) col.fns.set(f.name, { def: f, program });
    },
    (f) => fnChangesPacket(f, program, rec.profile, col),
  );
}

/**
 * Records `def`'s body on the side (nothing it references is kept) and reports
 * whether it started a new packet generation. Recursive calls count as changing
 * it (the recursion itself is an error later).
 */
function fnChangesPacket(def: AnyFn, program: AnyProgram, profile: TargetProfile, col: Collected): boolean {
  let byProgram = col.changesPacket.get(program);
  const hit = byProgram?.get(def);
  if (hit !== undefined) return hit;
  if (col.recording.has(def)) return true;
  col.recording.add(def);
  let changes: boolean;
  try {
    const scratch: Collected = { ...col, maps: new Map(col.maps), globals: new Map(col.globals), fns: new Map(col.fns) };
    changes = recordFn(def, program, profile, scratch).changesPacket;
  } finally {
    col.recording.delete(def);
  }
  if (!byProgram) col.changesPacket.set(program, (byProgram = new Map()));
  byProgram.set(def, changes);
  return changes;
}

function recordFn(def: AnyFn, program: AnyProgram, profile: TargetProfile, col: Collected): { ir: IrFunction; callees: string[]; changesPacket: boolean } {
  const rec = new Recorder(profile, program.progType, program.attachType, 'subprogram', false);
  const names = Object.keys(def.params);
  const params = names.map(() => rec.vreg());
  const kinds = names.map((n) => paramKind(def.params[n])!);
  const ctxAt = kinds.findIndex((k) => k.t === 'ctx');
  const b = builderFor(rec, ctxAt >= 0 ? params[ctxAt] : undefined, program, col);
  const args: Record<string, unknown> = {};
  names.forEach((n, k) => (args[n] = calleeParam(rec, kinds[k]!, params[k]!, def.src)));
  const out = runBody(def.name, def.src, () => def.body(b as unknown as B, args as never));
  const ret = scalarInfoOf(def.returns as never)!;
  const value: Operand = rec.value(ret, 0n).coerce(out, `${def.name} result`).op;
  rec.emit({ op: 'return', value, src: def.src });
  const ir = freezeIr<IrFunction>({ name: def.name, kind: 'subprogram', params, body: rec.body, frameSize: rec.frameSize, objects: rec.objects, nextVReg: rec.nextFree, src: def.src });
  return { ir, callees: [...rec.fns.keys()], changesPacket: rec.packetGenerations > 0 };
}

/** The kernel's combined stack limit over a chain of bpf-to-bpf calls (each frame rounded up to 32 bytes). */
function checkCallDepth(name: string, lowered: ReadonlyMap<string, LoweredFunction>, callees: ReadonlyMap<string, readonly string[]>, src: IrFunction['src']): void {
  const depth = (fn: string, seen: readonly string[]): number => {
    if (seen.includes(fn)) throw new DslError('DSL_RECURSION', `recursive subfunction calls: ${[...seen, fn].join(' → ')}`, src);
    const own = Math.ceil(Math.max(lowered.get(fn)?.stackSize ?? 0, 1) / 32) * 32;
    return own + Math.max(0, ...(callees.get(fn) ?? []).map((c) => depth(c, [...seen, fn])));
  };
  const total = depth(name, []);
  if (total > MAX_STACK_BYTES) throw new DslError('DSL_STACK_OVERFLOW', `${name}: the stack of the call chain needs ${total} bytes, above ${MAX_STACK_BYTES}`, src);
}

/**
 * The raw build: programs (a module namespace, a list, or one program) into an
 * unfitted ObjectSpec plus IR and lowering details — one ProgramSpec per program
 * exactly as lowered, for tools that inspect the code generator's output. Use
 * {@link buildObject} (or `compile` in dsl/compile, which also writes the ELF)
 * for an object to write or load.
 */
export function build(input: unknown, options: BuildOptions = {}): BuildResult {
  const profile = targetProfile(options.target);
  const programs = programsOf(input);
  if (programs.length === 0) throw new DslError('DSL_EMPTY', 'nothing to build: no program declarations found', undefined);
  const col: Collected = { maps: new Map(), globals: new Map(), fns: new Map(), changesPacket: new Map(), recording: new Set() };
  const irs = new Map<string, IrFunction>();
  const lowered = new Map<string, LoweredFunction>();
  const lowerOpts = {
    profile,
    ...(options.passes ? { passes: options.passes } : {}),
    ...(options.unroll ? { unroll: options.unroll } : {}),
    ...(options.skipSizeCheck ? { skipSizeCheck: true } : {}),
    ...(options.optimize === false ? { optimize: false } : {}),
  };
  const progSpecs: ProgramSpec[] = [];
  const subSpecs: SubprogramSpec[] = [];
  const callees = new Map<string, readonly string[]>();
  const seen = new Set<string>();
  for (const def of programs) {
    if (seen.has(def.name)) throw new DslError('DSL_NAME', `two programs are named '${def.name}'`, def.src);
    seen.add(def.name);
    if (!profile.progTypes.includes(def.progType))
      throw new DslError('DSL_TARGET', `program ${def.name}: target ${profile.name} has no ${def.progType} programs`, def.src);
    if (def.attachType && def.expectedAttach === 'required' && !profile.attachTypes.includes(def.attachType))
      throw new DslError('DSL_TARGET', `program ${def.name}: target ${profile.name} has no ${def.attachType} hook`, def.src);
    const fnsBefore = new Set(col.fns.keys());
    let { ir, rec } = recordProgram(def, profile, options.inline === true || !profile.bpfToBpfCalls, col);
    // Tail calls and bpf-to-bpf calls may not mix before 5.10: inline the calls then.
    if (rec.usedTailCall && rec.usedCallFn && !profile.tailCallsInSubprograms) {
      for (const k of [...col.fns.keys()]) if (!fnsBefore.has(k)) col.fns.delete(k);
      ({ ir, rec } = recordProgram(def, profile, true, col));
    }
    irs.set(def.name, ir);
    callees.set(def.name, [...rec.fns.keys()]);
    const low = lowerFunction(ir, lowerOpts);
    lowered.set(def.name, low);
    progSpecs.push({ name: def.name, section: def.section, instructions: low.instructions });
    for (const cb of low.callbacks ?? []) subSpecs.push({ name: cb.name, instructions: cb.instructions });
  }
  const done = new Set<string>();
  for (let again = true; again; ) {
    again = false;
    for (const [name, { def, program }] of [...col.fns]) {
      if (done.has(name)) continue;
      done.add(name);
      again = true;
      if (seen.has(name)) throw new DslError('DSL_NAME', `subfunction '${name}' has the name of a program`, def.src);
      const { ir, callees: called } = recordFn(def, program, profile, col);
      callees.set(name, called);
      irs.set(name, ir);
      const low = lowerFunction(ir, lowerOpts);
      lowered.set(name, low);
      subSpecs.push({ name, instructions: low.instructions });
      for (const cb of low.callbacks ?? []) subSpecs.push({ name: cb.name, instructions: cb.instructions });
    }
  }
  for (const def of programs) checkCallDepth(def.name, lowered, callees, def.src);
  const maps: MapSpec[] = [];
  for (const m of col.maps.values()) {
    if (!profile.mapTypes.includes(m.type)) throw new DslError('DSL_TARGET', `map ${m.name}: target ${profile.name} has no ${m.type} maps`, m.src);
    maps.push({
      name: m.name,
      type: m.type,
      ...(m.key ? { key: m.key } : {}),
      ...(m.value ? { value: m.value } : {}),
      maxEntries: m.maxEntries,
      ...(m.flags ? { flags: m.flags } : {}),
      ...(m.pinning !== 'none' ? { pinning: m.pinning } : {}),
      ...(m.slots ? { values: m.slots } : {}),
    });
    for (const slot of m.slots ?? []) {
      if (slot !== null && !seen.has(slot)) throw new DslError('DSL_MAP', `prog array ${m.name}: program '${slot}' is not part of this build`, m.src);
    }
  }
  const globals: GlobalSpec[] = [];
  if (col.globals.size && !profile.globalData) {
    const g = col.globals.values().next().value!;
    throw new DslError('DSL_TARGET', `global ${g.name}: target ${profile.name} has no global data (kernel 5.2)`, g.src);
  }
  const sectionEnd = new Map<string, number>();
  for (const g of col.globals.values()) {
    const end = sectionEnd.get(g.section) ?? 0;
    const offset = Math.ceil(end / g.schema.align) * g.schema.align;
    sectionEnd.set(g.section, offset + g.schema.size);
    globals.push({ name: g.name, section: g.section, type: g.schema, offset, ...(g.init ? { init: g.init } : {}) });
  }
  const object: ObjectSpec = {
    license: options.license ?? 'GPL',
    programs: progSpecs,
    ...(subSpecs.length ? { subprograms: subSpecs } : {}),
    ...(maps.length ? { maps } : {}),
    ...(globals.length ? { globals } : {}),
  };
  return { object, profile, ir: irs, lowered };
}

/** Options of {@link buildObject}: the build's and the fitting step's. */
export type BuildObjectOptions = Omit<BuildOptions, 'skipSizeCheck'> & FitOptions;

/**
 * Builds programs into a fitted ObjectSpec for `writeObject` or the object loader:
 * the raw {@link build} followed by `fitObject` (a program over the target's
 * instruction limit is split into tail-called pieces; FitError when it cannot be).
 */
export function buildObject(input: unknown, options: BuildObjectOptions = {}): ObjectSpec {
  const { split, tighten, ...rest } = options;
  const fit = { ...(split ? { split } : {}), ...(tighten !== undefined ? { tighten } : {}) };
  const result = build(input, { ...rest, skipSizeCheck: true });
  try {
    return fitObject(result.object, result.profile, fit).spec;
  } catch (e) {
    // Splitting needs bpf-to-bpf calls inlined: build the same source that way.
    if (!(e instanceof FitError && e.code === 'FIT_NEEDS_INLINE') || rest.inline !== undefined) throw e;
    const inlined = build(input, { ...rest, inline: true, skipSizeCheck: true });
    return fitObject(inlined.object, inlined.profile, fit).spec;
  }
}
