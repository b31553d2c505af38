/**
 * Automatic tail-call splitting. A program larger than the target allows is cut
 * into pieces at places where only scalars (plus what can be recomputed: the
 * context, stack addresses, packet pointers `data + k` / `data_end`, re-derived
 * from the context with the bounds check redone) are live. Every control-flow edge from one piece into a
 * later one becomes an exit stub: live values go to a per-CPU scratch ARRAY map
 * together with a resume id, then `bpf_tail_call` through a generated PROG_ARRAY
 * jumps to the piece that holds the target. A piece starts by looking up the
 * scratch value, dispatching on the resume id, putting values back and jumping to
 * the original instruction. Pieces only jump forward (loops are kept inside one
 * piece), so no backward jump appears on kernels without bounded loops.
 *
 * When a tail call fails (the PROG_ARRAY slot is empty, the chain limit was hit)
 * or the scratch lookup fails, the piece returns a safe default: TC_ACT_SHOT for
 * tc, XDP_ABORTED for XDP, 0 otherwise (drop / reject) — see {@link defaultReturnFor}.
 */
import { assemble, slots, type Instruction, type InstructionMeta, type SourceLocation } from '../isa/index.js';
import { TcAct, XdpAction, type AttachTypeName, type ProgTypeName, type TargetProfile } from '../kernel/index.js';
import type { MapSpec, ProgramSpec } from '../object/index.js';
import { STACK_BYTES, STACK_SLOTS, analyze, slotOffset, type Analysis } from './analysis.js';
import { describeCarried, resumePoint, type Carried, type ResumePoint } from './carry.js';
import { sectionTypes } from './check.js';
import { FitError, describeWhere } from './errors.js';
import { buildFlow, isJump, type Flow } from './flow.js';
import { StubWriter, exitStub, exitStubCb, fitsCb, prologue, prologueCb, restoreBlock, restoreBlockCb, type StubNames } from './stubs.js';
import { CallKind, Class, JmpOp, LDDW, PseudoSource } from '../isa/index.js';

/** Return value of a piece whose tail call or scratch lookup failed, per program type. */
export function defaultReturnFor(progType: ProgTypeName | undefined): number {
  switch (progType) {
    case 'SCHED_CLS':
    case 'SCHED_ACT':
      return TcAct.SHOT;
    case 'XDP':
      return XdpAction.ABORTED;
    default:
      return 0; // socket filter: drop; cgroup hooks: reject
  }
}

/** Options of {@link splitProgram}. */
export interface SplitOptions {
  /** Instruction limit per piece (default: the profile's maxInsns). */
  readonly limit?: number;
  /** Value returned when a tail call or the scratch lookup fails (default: {@link defaultReturnFor}). */
  readonly defaultReturn?: number;
  /** Prefix of the generated maps' names (default: the first 8 characters of the program name). */
  readonly mapPrefix?: string;
  /** Split even when the program fits (tests: force a given piece size with `limit`). */
  readonly force?: boolean;
  /**
   * Where carried values travel: `map` (per-CPU scratch array), `cb` (`skb->cb`,
   * __sk_buff programs only, at most two values per resume point), or `auto`
   * (default): cb when every resume point fits, else the map.
   */
  readonly carrier?: 'auto' | 'map' | 'cb';
}

/** A place where one piece hands over to a later one. */
export interface SplitCut {
  /** Resume id written to the scratch value. */
  readonly id: number;
  /** Instruction index (in the original program) where execution resumes. */
  readonly resumeAt: number;
  readonly source?: SourceLocation;
  /** Piece that resumes there. */
  readonly piece: number;
  /** How each live value crosses, one line each. */
  readonly carried: readonly string[];
}

/** One piece of a split program. */
export interface SplitPiece {
  readonly name: string;
  /** Original instructions `[start, end)` it holds. */
  readonly start: number;
  readonly end: number;
  /** Instruction slots of the piece, generated code included. */
  readonly insns: number;
}

/** What `--explain` shows about a split. */
export interface SplitReport {
  readonly program: string;
  readonly target: string;
  readonly limit: number;
  /** Instruction slots before splitting. */
  readonly originalInsns: number;
  readonly pieces: readonly SplitPiece[];
  readonly cuts: readonly SplitCut[];
  /** Generated maps (empty when not split). */
  readonly progArray?: string;
  readonly scratchMap?: string;
  readonly scratchValueSize?: number;
  /** How carried values travel: the scratch map or `skb->cb`. */
  readonly carrier?: 'map' | 'cb';
  readonly defaultReturn: number;
}

/** Programs and maps that replace the input program, and the report. */
export interface SplitResult {
  /** The pieces; the first keeps the original name and is the entry point. */
  readonly programs: readonly ProgramSpec[];
  readonly maps: readonly MapSpec[];
  readonly report: SplitReport;
}

const countSlots = (insns: readonly Instruction[]) => insns.reduce((n, i) => n + slots(i), 0);
const hasPseudoCall = (i: Instruction) => (i.opcode === (Class.JMP | JmpOp.CALL) && i.src === CallKind.PSEUDO_CALL) || (i.opcode === LDDW && i.src === PseudoSource.FUNC);

/** Splits `program` into tail-called pieces that each fit `profile` (returns it unchanged when it fits). */
export function splitProgram(program: ProgramSpec, profile: TargetProfile, options: SplitOptions = {}): SplitResult {
  const limit = options.limit ?? profile.maxInsns;
  const insns = program.instructions;
  const total = countSlots(insns);
  const { progType, attachType } = sectionTypes(program.section);
  const defaultReturn = options.defaultReturn ?? defaultReturnFor(progType);
  const base = { program: program.name, target: profile.name, limit, originalInsns: total, defaultReturn };
  if (total <= limit && !options.force)
    return { programs: [program], maps: [], report: { ...base, pieces: [{ name: program.name, start: 0, end: insns.length, insns: total }], cuts: [] } };
  const at = (i: number) => ({ index: i, source: insns[i]?.meta?.source });
  const pc = insns.findIndex(hasPseudoCall);
  if (pc >= 0 && !profile.tailCallsInSubprograms)
    throw new FitError('FIT_SPLIT_CALLS', program.name, `${total} instructions need splitting into tail calls, but the program makes bpf-to-bpf calls and target ${profile.name} cannot mix them with tail calls (5.10); inline the subfunctions`, at(pc));
  let flow = buildFlow(program.name, insns);
  if (!profile.boundedLoops && flow.backEdges.length) {
    const e = flow.backEdges[0]!;
    throw new FitError('FIT_LOOP', program.name, `backward jump to instruction #${e.to} (a loop): target ${profile.name} has no bounded loops`, at(e.from));
  }
  let analysis = analyze(flow, { progType, attachType });
  // The tail call needs the context; if the program lets it die, keep a copy in a stack slot nobody uses.
  const save = ctxSaveSlot(analysis, flow.insns.length);
  if (save !== undefined) {
    const w = new StubWriter(insns[0]?.meta?.source);
    w.stx(8, 10, save, 1);
    flow = buildFlow(program.name, [...w.out, ...insns]);
    analysis = analyze(flow, { progType, attachType });
  }
  const prefix = options.mapPrefix ?? program.name.slice(0, 8);
  const names = { scratchMap: `${prefix}_fscr`, progArray: `${prefix}_fjmp` };
  const planner = new Planner(program.name, flow, limit, (t) => resumePoint(analysis, t), names);
  const ranges = planner.plan();
  if (ranges.length - 1 > profile.tailCallChainLimit)
    throw new FitError('FIT_CHAIN', program.name, `splitting into ${ranges.length} pieces needs ${ranges.length - 1} tail calls, above the chain limit ${profile.tailCallChainLimit} of target ${profile.name}`);
  const emitOpts = { ...base, names, defaultReturn, shift: save !== undefined ? 1 : 0 };
  const want = options.carrier ?? 'auto';
  if (want !== 'map') {
    const cbOk = progType !== undefined && CB_PROG_TYPES.has(progType);
    if (!cbOk && want === 'cb') throw new FitError('FIT_CARRIER', program.name, `skb->cb is not available to ${progType ?? 'this program type'}; use the map carrier`);
    if (cbOk) {
      try {
        return emitPieces(program, profile, flow, ranges, planner, { ...emitOpts, carrier: 'cb' });
      } catch (e) {
        if (!(e instanceof CarrierDoesNotFit) || want === 'cb') throw e instanceof CarrierDoesNotFit ? new FitError('FIT_CARRIER', program.name, e.message) : e;
      }
    }
  }
  return emitPieces(program, profile, flow, ranges, planner, { ...emitOpts, carrier: 'map' });
}

/**
 * A free 8-byte slot below everything the program touches on the stack, for a
 * copy of the context (undefined when the stack is full).
 */
function ctxSaveSlot(analysis: Analysis, n: number): number | undefined {
  let deepest = 0;
  for (let i = 0; i < n; i++) {
    const st = analysis.states[i];
    if (!st) continue;
    for (const k of st.regs) if (k.t === 'fp') deepest = Math.min(deepest, k.off);
    for (let s = 0; s < STACK_SLOTS; s++) if (st.mayInit[s]) deepest = Math.min(deepest, slotOffset(s));
  }
  const slot = Math.floor(deepest / 8) * 8 - 8;
  return slot >= -STACK_BYTES ? slot : undefined;
}

/** Program types whose context is `__sk_buff` with a writable `cb`. */
const CB_PROG_TYPES = new Set<ProgTypeName>(['SCHED_CLS', 'SCHED_ACT', 'SOCKET_FILTER', 'CGROUP_SKB']);

/** The cb carrier cannot serve this split (too many values, no free register, a piece too big). */
class CarrierDoesNotFit extends Error {}

/** Resume point id: the instruction index + 1, so 0 (a zeroed scratch value or cb) never matches. */
const resumeId = (t: number) => t + 1;

/** Chooses the piece boundaries (greedy: each piece as long as the limit allows). */
class Planner {
  readonly #points = new Map<number, ResumePoint>();
  readonly #costs = new Map<number, { exit: number; restore: number }>();
  /** Cut positions that a back edge spans (inside a loop). */
  readonly #inLoop: Uint8Array;
  constructor(
    private readonly name: string,
    private readonly flow: Flow,
    private readonly limit: number,
    private readonly examine: (t: number) => ResumePoint,
    private readonly names: { scratchMap: string; progArray: string },
  ) {
    this.#inLoop = new Uint8Array(flow.insns.length + 1);
    for (const e of flow.backEdges) for (let c = e.to + 1; c <= e.from; c++) this.#inLoop[c] = 1;
  }

  point(t: number): ResumePoint {
    let p = this.#points.get(t);
    if (p) return p;
    p = this.examine(t);
    if (p.ok) {
      const w = new StubWriter(undefined);
      const fits = exitStub(w, { id: resumeId(t), piece: 1, carried: p.carried, ctxHome: p.ctxHome, busySlots: p.busySlots }, { ...this.names, fail: 'f' });
      if (!fits) p = { ok: false, reason: 'no free stack slot is left for the scratch-map key and saved registers' };
    }
    this.#points.set(t, p);
    return p;
  }

  /** Slots of the exit stub and restore block of resume point t (valid points only). */
  cost(t: number): { exit: number; restore: number } {
    let c = this.#costs.get(t);
    if (c) return c;
    const p = this.point(t);
    if (!p.ok) throw new Error('cost of an invalid resume point');
    const names: StubNames = { ...this.names, fail: 'f' };
    const e = new StubWriter(undefined);
    exitStub(e, { id: resumeId(t), piece: 1, carried: p.carried, ctxHome: p.ctxHome, busySlots: p.busySlots }, names);
    const r = new StubWriter(undefined);
    restoreBlock(r, p.carried, 'x');
    c = { exit: countSlots(e.out), restore: countSlots(r.out) + 1 /* dispatch jeq */ };
    this.#costs.set(t, c);
    return c;
  }

  /** Piece ranges `[start, end)`. */
  plan(): [number, number][] {
    const n = this.flow.insns.length;
    const ranges: [number, number][] = [];
    const pending = new Set<number>(); // resume points entered from earlier pieces
    let s = 0;
    const PROLOGUE = 10; // mov, st, lddw (2), mov, add, call, jeq, ldx, and the final ja of the dispatch
    const FAIL = 2; // mov r0, default; exit
    const FALL_THROUGH = 1; // ja to the exit stub when the last instruction falls through
    while (s < n) {
      const crossing = new Map<number, number>(); // target → edge count
      let exitCost = 0; // stubs of valid crossing targets
      let invalid = 0; // crossing targets where no piece can resume
      let restoreCost = s > 0 ? PROLOGUE : 0;
      let body = 0;
      let best = -1;
      let obstacle: { at: number; reason: string } | undefined;
      for (let e = s + 1; e <= n; e++) {
        const i = e - 1;
        body += slots(this.flow.insns[i]!);
        if (s > 0 && pending.has(i)) restoreCost += this.cost(i).restore;
        if (crossing.has(i)) {
          crossing.delete(i);
          if (this.point(i).ok) exitCost -= this.cost(i).exit;
          else invalid--;
        }
        for (const t of this.flow.succ[i]!) {
          if (t < e) continue;
          const c = crossing.get(t);
          if (c !== undefined) {
            crossing.set(t, c + 1);
            continue;
          }
          crossing.set(t, 1);
          const p = this.point(t);
          if (p.ok) exitCost += this.cost(t).exit;
          else {
            invalid++;
            obstacle = { at: t, reason: p.reason };
          }
        }
        if (body + restoreCost + FAIL > this.limit) break;
        if (e === n) {
          if (crossing.size === 0) best = n;
          break;
        }
        if (this.#inLoop[e]) {
          obstacle = { at: e, reason: 'the cut would be inside a loop' };
          continue;
        }
        if (invalid === 0 && body + restoreCost + exitCost + FAIL + FALL_THROUGH <= this.limit) best = e;
      }
      if (best <= s) {
        const src = this.flow.insns[s]?.meta?.source;
        const why = obstacle ? `; at ${describeWhere(this.flow.insns[obstacle.at]?.meta?.source, obstacle.at)}: ${obstacle.reason}` : '';
        throw new FitError(
          'FIT_NO_CUT',
          this.name,
          `cannot split into pieces of at most ${this.limit} instructions: no valid cut after ${describeWhere(src, s)} where only scalars, the context, stack addresses and packet pointers data + k are live${why}`,
          { index: obstacle?.at ?? s, source: this.flow.insns[obstacle?.at ?? s]?.meta?.source },
        );
      }
      ranges.push([s, best]);
      if (best < n) {
        for (let i = s; i < best; i++) for (const t of this.flow.succ[i]!) if (t >= best) pending.add(t);
      }
      s = best;
    }
    return ranges;
  }
}

function emitPieces(
  program: ProgramSpec,
  profile: TargetProfile,
  flow: Flow,
  ranges: [number, number][],
  planner: Planner,
  o: { program: string; target: string; limit: number; originalInsns: number; defaultReturn: number; names: { scratchMap: string; progArray: string }; shift: number; carrier: 'map' | 'cb' },
): SplitResult {
  // Report positions in the caller's instruction numbering (without the context-saving store).
  const orig = (i: number) => Math.max(0, i - o.shift);
  const insns = flow.insns;
  const pieceOf = (t: number) => ranges.findIndex(([a, b]) => t >= a && t < b);
  const pieceName = (k: number) => (k === 0 ? program.name : `${program.name}__${k}`);
  const programs: ProgramSpec[] = [];
  const reportPieces: SplitPiece[] = [];
  const cuts = new Map<number, SplitCut>();
  let scratch = 8;
  ranges.forEach(([s, e], k) => {
    const names: StubNames = { ...o.names, fail: '__fit_fail' };
    const out: Instruction[] = [];
    const L = (t: number) => `__fit_L${t}`;
    const X = (t: number) => `__fit_X${t}`;
    const R = (id: number) => `__fit_R${id}`;
    // Resume points of this piece (edges from earlier pieces).
    const entries: number[] = [];
    if (k > 0) {
      for (let i = 0; i < s; i++) for (const t of flow.succ[i]!) if (t >= s && t < e && !entries.includes(t)) entries.push(t);
      entries.sort((a, b) => a - b);
      const w = new StubWriter(insns[s]?.meta?.source);
      if (o.carrier === 'cb') prologueCb(w, entries.map(resumeId), R, names);
      else prologue(w, entries.map(resumeId), R, names);
      out.push(...w.out);
      for (const t of entries) {
        const p = planner.point(t);
        if (!p.ok) throw new Error(`internal: invalid resume point ${t}`);
        const rw = new StubWriter(insns[t]?.meta?.source);
        rw.label(R(resumeId(t)));
        if (o.carrier === 'cb') {
          if (!fitsCb(p.carried) || !restoreBlockCb(rw, p.carried, L(t), names.fail)) throw new CarrierDoesNotFit(`resume point #${t} does not fit skb->cb`);
        } else restoreBlock(rw, p.carried, L(t), names.fail);
        out.push(...rw.out);
        scratch = Math.max(scratch, p.scratchBytes);
        cuts.set(t, { id: resumeId(t), resumeAt: orig(t), ...(insns[t]?.meta?.source ? { source: insns[t]!.meta!.source! } : {}), piece: k, carried: p.carried.map(describeCarried) });
      }
    }
    const exits = new Set<number>();
    for (let i = s; i < e; i++) {
      const insn = insns[i]!;
      const { labels: _l, ref, ...restMeta } = insn.meta ?? ({} as InstructionMeta);
      const meta: Record<string, unknown> = { ...restMeta, labels: [L(i)] };
      let next: Instruction = { ...insn };
      if (isJump(insn)) {
        const t = flow.targets[i]!;
        const name = t >= s && t < e ? L(t) : X(t);
        if (t >= e) exits.add(t);
        meta.ref = { kind: 'label', name };
        // gotol keeps its opcode; assemble() resolves it through imm.
        next = { ...next, off: 0, ...((insn.opcode & 7) === Class.JMP32 && (insn.opcode & 0xf0) === JmpOp.JA ? { imm: 0 } : {}) };
      } else if (ref) meta.ref = ref;
      out.push({ ...next, meta: meta as Instruction['meta'] });
    }
    // Fall-through off the end of the piece.
    const last = e - 1;
    if (e < insns.length && flow.succ[last]!.includes(e) && !(isJump(insns[last]!) && flow.targets[last] === e && (insns[last]!.opcode & 0xf0) === JmpOp.JA)) {
      const w = new StubWriter(insns[e]?.meta?.source);
      w.ja(X(e));
      out.push(...w.out);
      exits.add(e);
    }
    for (const t of [...exits].sort((a, b) => a - b)) {
      const p = planner.point(t);
      if (!p.ok) throw new Error(`internal: invalid resume point ${t}`);
      const w = new StubWriter(insns[t]?.meta?.source);
      w.label(X(t));
      if (o.carrier === 'cb') {
        if (!fitsCb(p.carried) || !exitStubCb(w, { id: resumeId(t), piece: pieceOf(t), carried: p.carried, ctxHome: p.ctxHome }, names))
          throw new CarrierDoesNotFit(`resume point #${t} does not fit skb->cb`);
      } else exitStub(w, { id: resumeId(t), piece: pieceOf(t), carried: p.carried, ctxHome: p.ctxHome, busySlots: p.busySlots }, names);
      out.push(...w.out);
    }
    const fw = new StubWriter(insns[s]?.meta?.source);
    fw.label(names.fail).movImm(0, BigInt(o.defaultReturn)).exit();
    out.push(...fw.out);
    let assembled: Instruction[];
    try {
      assembled = assemble(out, { isa: profile.isa });
    } catch (err) {
      throw new FitError('FIT_SPLIT_ASSEMBLE', program.name, `piece ${k}: ${(err as Error).message}`);
    }
    // Drop our labels again: they were only for assemble().
    assembled = assembled.map((i) => {
      if (!i.meta?.labels) return i;
      const { labels: _drop, ...meta } = i.meta;
      return { ...i, meta };
    });
    const size = countSlots(assembled);
    if (size > o.limit && o.carrier === 'cb') throw new CarrierDoesNotFit(`piece ${k} would have ${size} instructions with skb->cb`);
    if (size > o.limit) throw new FitError('FIT_SPLIT_SIZE', program.name, `internal: piece ${k} has ${size} instructions, above the limit ${o.limit}`);
    programs.push({ ...program, name: pieceName(k), instructions: assembled });
    reportPieces.push({ name: pieceName(k), start: k === 0 ? 0 : orig(s), end: orig(e), insns: size });
  });
  const maps: MapSpec[] = [
    { name: o.names.progArray, type: 'PROG_ARRAY', key: 4, value: 4, maxEntries: ranges.length, values: ranges.map((_, k) => (k === 0 ? null : pieceName(k))) },
  ];
  if (o.carrier === 'map') maps.push({ name: o.names.scratchMap, type: 'PERCPU_ARRAY', key: 4, value: scratch, maxEntries: 1 });
  const report: SplitReport = {
    program: o.program,
    target: o.target,
    limit: o.limit,
    originalInsns: o.originalInsns,
    pieces: reportPieces,
    cuts: [...cuts.values()].sort((a, b) => a.resumeAt - b.resumeAt),
    progArray: o.names.progArray,
    carrier: o.carrier,
    ...(o.carrier === 'map' ? { scratchMap: o.names.scratchMap, scratchValueSize: scratch } : {}),
    defaultReturn: o.defaultReturn,
  };
  return { programs, maps, report };
}

export type { Carried };
