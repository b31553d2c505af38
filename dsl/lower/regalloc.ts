/**
 * Register allocation over MIR: liveness by backward dataflow on the control-flow
 * graph, an interference graph (physical registers are pre-coloured nodes; a call
 * clobbers r0–r5, so anything live across one can only get r6–r9), greedy colouring
 * with move preferences (so argument/result moves and two-address copies vanish),
 * and spilling to 8-byte stack slots with re-allocation when colours run out.
 */
import type { SourceLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import { FIRST_VREG } from '../ir/index.js';
import { defsOf, FP, usesOf, type MInsn, type Reg } from './mir.js';

/** Result of allocation: code over physical registers and the spill slots used. */
export interface Allocation {
  readonly code: MInsn[];
  /** Number of 8-byte spill slots (placed below the locals). */
  readonly spillSlots: number;
}

/** Order in which free registers are tried (caller-saved first: they cost nothing across no calls). */
const COLOR_ORDER = [1, 2, 3, 4, 5, 0, 6, 7, 8, 9];

/** Live-out sets of every instruction. */
export function liveness(code: readonly MInsn[]): Set<Reg>[] {
  return liveOutOf(code, code.map(usesOf), code.map(defsOf));
}

/** Live-out sets by backward dataflow over the control-flow graph, for any notion of use and definition. */
function liveOutOf(code: readonly MInsn[], uses: readonly (readonly number[])[], defs: readonly (readonly number[])[]): Set<number>[] {
  const n = code.length;
  const labelAt = new Map<string, number>();
  code.forEach((i, k) => {
    if (i.k === 'label') labelAt.set(i.name, k);
  });
  const succ: number[][] = code.map((i, k) => {
    const s: number[] = [];
    if (i.k === 'ja' || i.k === 'jcc') s.push(labelAt.get(i.target)!);
    if (i.k !== 'ja' && i.k !== 'exit' && k + 1 < n) s.push(k + 1);
    return s;
  });
  const liveIn: Set<number>[] = code.map(() => new Set());
  const liveOut: Set<number>[] = code.map(() => new Set());
  let changed = true;
  while (changed) {
    changed = false;
    for (let k = n - 1; k >= 0; k--) {
      const out = liveOut[k]!;
      for (const s of succ[k]!) for (const r of liveIn[s]!) if (!out.has(r)) {
        out.add(r);
        changed = true;
      }
      const inn = new Set(out);
      for (const d of defs[k]!) inn.delete(d);
      for (const u of uses[k]!) inn.add(u);
      if (inn.size !== liveIn[k]!.size) {
        liveIn[k] = inn;
        changed = true;
      }
    }
  }
  return liveOut;
}

/** Allocates registers; `spillBase` is the first free stack byte below the locals (positive). */
export function allocate(input: readonly MInsn[], firstFree: number, spillBase: number, maxFrame: number): Allocation {
  let code = [...input];
  let next = firstFree;
  let slots = 0;
  const unspillable = new Set<Reg>();
  const spilledAt = new Map<number, SourceLocation | undefined>();
  for (let round = 0; round < 16; round++) {
    const colors = color(code, unspillable);
    if (colors.spilled.length === 0) {
      const packed = packSpillSlots(rewrite(code, colors.map), spillBase, slots);
      if (spillBase + 8 * packed.spillSlots > maxFrame) {
        const where = spilledAt.get(packed.firstOver(Math.floor((maxFrame - spillBase) / 8)) ?? slots - 1);
        throw new DslError('DSL_STACK_OVERFLOW', `stack frame exceeds ${maxFrame} bytes: spilling a value needs ${spillBase + 8 * packed.spillSlots} bytes`, where);
      }
      return { code: packed.code, spillSlots: packed.spillSlots };
    }
    // Values spilled together that are never live at once share a slot (earlier rounds' slots stay taken).
    const roundBase = slots;
    const members: Reg[][] = [];
    for (const v of colors.spilled) {
      let k = members.findIndex((m) => m.every((u) => !colors.adj.get(v)?.has(u)));
      if (k < 0) k = members.push([]) - 1;
      members[k]!.push(v);
      const slot = roundBase + k;
      slots = Math.max(slots, slot + 1);
      const off = -(spillBase + 8 * (slot + 1));
      spilledAt.set(slot, code.find((i) => defsOf(i).includes(v) && i.src)?.src);
      const out: MInsn[] = [];
      for (const i of code) {
        const used = usesOf(i).includes(v);
        const defined = defsOf(i).includes(v);
        if (!used && !defined) {
          out.push(i);
          continue;
        }
        const t = next++;
        unspillable.add(t);
        const src: SourceLocation | undefined = i.src;
        const at = <T extends MInsn>(x: T): T => (src ? { ...x, src } : x);
        if (used) out.push(at({ k: 'ld', d: t, base: FP, off, size: 8 } as MInsn));
        out.push(renameReg(i, v, t));
        if (defined) out.push(at({ k: 'st', base: FP, off, size: 8, s: t } as MInsn));
      }
      code = out;
    }
  }
  throw new DslError('DSL_REGALLOC', 'register allocation did not converge', input[0]?.src);
}

function renameReg(i: MInsn, from: Reg, to: Reg): MInsn {
  const r = <T>(x: T): T => (x === from ? (to as T) : x);
  switch (i.k) {
    case 'mov':
      return { ...i, d: r(i.d), s: r(i.s) };
    case 'alu':
      return { ...i, d: r(i.d), s: r(i.s) };
    case 'neg':
    case 'end':
    case 'lddw':
      return { ...i, d: r(i.d) };
    case 'ld':
      return { ...i, d: r(i.d), base: r(i.base) };
    case 'st':
      return { ...i, base: r(i.base), s: r(i.s) };
    case 'atomic':
      return { ...i, base: r(i.base), s: r(i.s) };
    case 'jcc':
      return { ...i, a: r(i.a), b: r(i.b) };
    default:
      return i;
  }
}

function color(code: readonly MInsn[], unspillable: ReadonlySet<Reg>): { map: Map<Reg, number>; spilled: Reg[]; adj: ReadonlyMap<Reg, ReadonlySet<Reg>> } {
  const liveOut = liveness(code);
  const adj = new Map<Reg, Set<Reg>>();
  const edge = (a: Reg, b: Reg) => {
    if (a === b || a === FP || b === FP) return;
    if (!adj.has(a)) adj.set(a, new Set());
    if (!adj.has(b)) adj.set(b, new Set());
    adj.get(a)!.add(b);
    adj.get(b)!.add(a);
  };
  const prefs = new Map<Reg, Reg[]>();
  const vregs = new Set<Reg>();
  code.forEach((i, k) => {
    for (const r of [...usesOf(i), ...defsOf(i)]) if (r >= FIRST_VREG) vregs.add(r);
    const out = liveOut[k]!;
    const moveSrc = i.k === 'mov' && typeof i.s === 'number' ? i.s : undefined;
    // Only a 64-bit move copies: `w_d = w_s` truncates, so d may share s's register only once s is dead.
    const copySrc = i.k === 'mov' && i.w === 64 ? moveSrc : undefined;
    for (const d of defsOf(i)) {
      for (const l of out) if (l !== d && l !== copySrc) edge(d, l);
    }
    if (moveSrc !== undefined && i.k === 'mov' && moveSrc !== FP) {
      (prefs.get(i.d) ?? prefs.set(i.d, []).get(i.d)!).push(moveSrc);
      (prefs.get(moveSrc) ?? prefs.set(moveSrc, []).get(moveSrc)!).push(i.d);
    }
  });
  const map = new Map<Reg, number>();
  for (let p = 0; p < 10; p++) map.set(p, p);
  const spilled: Reg[] = [];
  const order = [...vregs].sort((a, b) => {
    const ua = unspillable.has(a) ? 0 : 1;
    const ub = unspillable.has(b) ? 0 : 1;
    return ua - ub || a - b;
  });
  for (const v of order) {
    const forbidden = new Set<number>();
    for (const n of adj.get(v) ?? []) {
      const c = map.get(n);
      if (c !== undefined) forbidden.add(c);
    }
    let chosen: number | undefined;
    for (const p of prefs.get(v) ?? []) {
      const c = map.get(p);
      if (c !== undefined && !forbidden.has(c)) {
        chosen = c;
        break;
      }
    }
    if (chosen === undefined) {
      // A value live across a call would be refused r0–r5 already; otherwise look ahead
      // for a partner it will be moved into (e.g. an argument register).
      for (const p of prefs.get(v) ?? []) {
        for (const q of prefs.get(p) ?? []) {
          const c = q < FIRST_VREG ? q : undefined;
          if (c !== undefined && !forbidden.has(c)) {
            chosen = c;
            break;
          }
        }
        if (chosen !== undefined) break;
        if (p < FIRST_VREG && !forbidden.has(p)) {
          chosen = p;
          break;
        }
      }
    }
    if (chosen === undefined) chosen = COLOR_ORDER.find((c) => !forbidden.has(c));
    if (chosen === undefined) {
      if (unspillable.has(v)) throw new DslError('DSL_REGALLOC', 'too many values live at once for the registers', code.find((i) => defsOf(i).includes(v))?.src);
      spilled.push(v);
      continue;
    }
    map.set(v, chosen);
  }
  return { map, spilled, adj };
}

function rewrite(code: readonly MInsn[], map: ReadonlyMap<Reg, number>): MInsn[] {
  const r = <T>(x: T): T => (typeof x === 'number' && x >= FIRST_VREG ? (map.get(x)! as T) : x);
  const out: MInsn[] = [];
  for (const i of code) {
    let j: MInsn;
    switch (i.k) {
      case 'mov':
        j = { ...i, d: r(i.d), s: r(i.s) };
        if (j.k === 'mov' && j.s === j.d && j.w === 64) continue;
        break;
      case 'alu':
        j = { ...i, d: r(i.d), s: r(i.s) };
        break;
      case 'neg':
      case 'end':
      case 'lddw':
        j = { ...i, d: r(i.d) };
        break;
      case 'ld':
        j = { ...i, d: r(i.d), base: r(i.base) };
        break;
      case 'st':
        j = { ...i, base: r(i.base), s: r(i.s) };
        break;
      case 'atomic':
        j = { ...i, base: r(i.base), s: r(i.s) };
        break;
      case 'jcc':
        j = { ...i, a: r(i.a), b: r(i.b) };
        break;
      default:
        j = i;
    }
    out.push(j);
  }
  return out;
}

/**
 * Spill slots of different rounds whose values are never live at once share a
 * slot: each slot is a variable (stored by its spill stores, read by its reloads),
 * slots that are live together interfere, and the slots are coloured greedily.
 * Spill accesses are the 8-byte r10 accesses below the locals (`spillBase`).
 */
function packSpillSlots(code: readonly MInsn[], spillBase: number, slots: number): { code: MInsn[]; spillSlots: number; firstOver: (limit: number) => number | undefined } {
  const slotOf = (i: MInsn): number | undefined =>
    (i.k === 'ld' || i.k === 'st') && i.base === FP && i.off <= -(spillBase + 8) ? -i.off / 8 - spillBase / 8 - 1 : undefined;
  const uses = code.map((i) => (i.k === 'ld' && slotOf(i) !== undefined ? [slotOf(i)!] : []));
  const defs = code.map((i) => (i.k === 'st' && slotOf(i) !== undefined ? [slotOf(i)!] : []));
  const liveOut = liveOutOf(code, uses, defs);
  const adj: Set<number>[] = Array.from({ length: slots }, () => new Set());
  const edge = (a: number, b: number) => {
    if (a !== b) adj[a]!.add(b), adj[b]!.add(a);
  };
  code.forEach((_, k) => {
    const out = [...liveOut[k]!];
    for (const d of defs[k]!) for (const l of out) edge(d, l);
    for (let x = 0; x < out.length; x++) for (let y = x + 1; y < out.length; y++) edge(out[x]!, out[y]!);
  });
  const colour: number[] = [];
  let spillSlots = 0;
  for (let s = 0; s < slots; s++) {
    const taken = new Set([...adj[s]!].filter((t) => t < s).map((t) => colour[t]!));
    let c = 0;
    while (taken.has(c)) c++;
    colour[s] = c;
    spillSlots = Math.max(spillSlots, c + 1);
  }
  const out = code.map((i) => {
    const s = slotOf(i);
    return s === undefined ? i : ({ ...i, off: -(spillBase + 8 * (colour[s]! + 1)) } as MInsn);
  });
  return { code: out, spillSlots, firstOver: (limit) => {
    const s = colour.findIndex((c) => c >= limit);
    return s < 0 ? undefined : s;
  } };
}
