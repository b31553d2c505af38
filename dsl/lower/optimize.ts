/**
 * IR → IR clean-ups run before linearisation, each exact for every input:
 *
 * - forward value facts over the structured IR: a load already made from the same
 *   address with no store or call in between becomes a copy (so `data`/`data_end`
 *   stay in registers across parses); `p + a + b` and `load [p + a + off]` fold the
 *   constants into one add or the access offset; `swap(swap(x))` becomes a mask;
 *   a truncation (`x & 0xffff`, `w = w`) feeding a store no wider than it is
 *   skipped;
 * - dead stack stores: a store whose bytes are all overwritten (on every path) before anything
 *   can read them, or lie outside every local (the zero-fill of a local's
 *   alignment tail), is dropped;
 * - dead code: pure operations whose result nobody reads are dropped.
 *
 * Combined conditions (and/or) are followed exactly: their `before` parts run on
 * some paths only, so what such a part writes is known afterwards only where every
 * path ran it (the value facts at each exit of the condition are the meet over the
 * paths that reach it), while what it reads counts as a real use everywhere (a
 * store feeding only a short-circuited part is kept).
 */
import { condParts, mapBodies, nestedBodies, registersRead, type Base, type CondExpr, type FrameObject, type IrFunction, type Node, type Operand, type VReg } from '../ir/index.js';

type Fact =
  | { readonly k: 'add'; readonly a: VReg; readonly c: bigint }
  | { readonly k: 'swap'; readonly a: VReg; readonly bits: 16 | 32 | 64 }
  | { readonly k: 'low'; readonly a: VReg; readonly bits: number }
  | { readonly k: 'copy'; readonly a: VReg };

interface Avail {
  readonly dst: VReg;
  readonly base: Base;
  readonly off: number;
  readonly size: number;
}

class Env {
  constructor(
    /** Whether stack addresses may be used as pointers (then a stack store may change any load). */
    readonly stackEscapes: boolean,
    readonly facts = new Map<VReg, Fact>(),
    readonly loads = new Map<string, Avail>(),
  ) {}
  copy(): Env {
    return new Env(this.stackEscapes, new Map(this.facts), new Map(this.loads));
  }
  /** What holds both here and in `o` (where two paths join). */
  meet(o: Env): Env {
    const facts = new Map<VReg, Fact>();
    for (const [k, f] of this.facts) if (sameFact(f, o.facts.get(k))) facts.set(k, f);
    const loads = new Map<string, Avail>();
    for (const [k, l] of this.loads) if (o.loads.get(k)?.dst === l.dst) loads.set(k, l);
    return new Env(this.stackEscapes, facts, loads);
  }
  /** Makes this environment hold exactly what `o` holds. */
  assign(o: Env): void {
    this.facts.clear();
    this.loads.clear();
    for (const [k, f] of o.facts) this.facts.set(k, f);
    for (const [k, l] of o.loads) this.loads.set(k, l);
  }
  /** `v` gets a new value: forget what was known about it and everything derived from it. */
  kill(v: VReg): void {
    this.facts.delete(v);
    for (const [k, f] of this.facts) if (f.a === v) this.facts.delete(k);
    for (const [k, l] of this.loads) if (l.dst === v || l.base === v) this.loads.delete(k);
  }
  /** Memory may have changed (`range`: only these stack bytes were written, through r10). */
  clobber(range?: { off: number; size: number }): void {
    for (const [k, l] of this.loads) {
      if (!range || (l.base !== 'fp' && this.stackEscapes)) this.loads.delete(k);
      else if (l.base === 'fp' && l.off < range.off + range.size && range.off < l.off + l.size) this.loads.delete(k);
    }
  }
}

function sameFact(f: Fact, g: Fact | undefined): boolean {
  if (!g || f.k !== g.k || f.a !== g.a) return false;
  if (f.k === 'add') return f.c === (g as typeof f).c;
  if (f.k === 'swap' || f.k === 'low') return f.bits === (g as typeof f).bits;
  return true;
}

/** The meet of two optional environments (`null`: no path gets there). */
const meetOf = (a: Env | null, b: Env | null): Env | null => (a && b ? a.meet(b) : (a ?? b));

/**
 * Loaded values kept for reuse at once. Each is a register live until its last
 * reuse; many of them (say an address's words read again in a long chain of
 * comparisons) outnumber the registers, and a spill costs more than the load it
 * saves, or the stack it needs is not there.
 */
const MAX_KEPT_LOADS = 12;

const S16_MIN = -32768;
const S16_MAX = 32767;

/** Registers a node writes. */
function defOf(n: Node): VReg | undefined {
  switch (n.op) {
    case 'mov':
    case 'alu':
    case 'neg':
    case 'swap':
    case 'sext':
    case 'load':
    case 'frameaddr':
    case 'mapref':
    case 'globaladdr':
      return n.dst;
    case 'atomic':
    case 'call':
    case 'callfn':
      return n.dst;
    default:
      return undefined;
  }
}

/** Every register defined anywhere in `nodes` (recursively) and whether memory may change there. */
function effects(nodes: readonly Node[], defs: Set<VReg>): boolean {
  let memory = false;
  for (const n of nodes) {
    const d = defOf(n);
    if (d !== undefined) defs.add(d);
    if (n.op === 'store' || n.op === 'atomic' || n.op === 'call' || n.op === 'callfn') memory = true;
    if (n.op === 'loop') defs.add(n.iv);
    // A condition's lazy parts count too: they may have run.
    for (const body of nestedBodies(n)) memory = effects(body, defs) || memory;
  }
  return memory;
}

function fallsThrough(nodes: readonly Node[]): boolean {
  const last = nodes[nodes.length - 1];
  if (!last) return true;
  if (last.op === 'return' || last.op === 'break' || last.op === 'continue') return false;
  if (last.op === 'if') return fallsThrough(last.then) || fallsThrough(last.else);
  return true;
}

const isVReg = (o: Operand): o is VReg => typeof o === 'number';

/** `n` reading the originals of registers that are plain copies. */
function propagateCopies(n: Node, env: Env): Node {
  const r = <T extends Operand | Base>(o: T): T => {
    if (typeof o !== 'number') return o;
    const f = env.facts.get(o);
    return (f?.k === 'copy' ? f.a : o) as T;
  };
  switch (n.op) {
    case 'mov':
      return { ...n, a: r(n.a) };
    case 'neg':
    case 'swap':
    case 'sext':
      return { ...n, a: r(n.a) };
    case 'alu':
      return { ...n, a: r(n.a), b: r(n.b) };
    case 'load':
      return { ...n, base: r(n.base) };
    case 'store':
      return { ...n, base: r(n.base), value: r(n.value) };
    case 'atomic':
      return { ...n, base: r(n.base), value: r(n.value) };
    case 'call':
    case 'callfn':
      return { ...n, args: n.args.map(r) };
    case 'return':
      return { ...n, value: r(n.value) };
    default:
      // An `if` reads its comparisons at different points: see forwardCond.
      return n;
  }
}

const copyOf = <T extends Operand>(o: T, env: Env): T => {
  if (typeof o !== 'number') return o;
  const f = env.facts.get(o);
  return (f?.k === 'copy' ? f.a : o) as T;
};

/** A condition after {@link forwardCond}, with what is known where it decides true (`t`) or false (`f`); `null` where it never does. */
interface CondFlow {
  readonly e: CondExpr;
  readonly t: Env | null;
  readonly f: Env | null;
}

/**
 * Forwards through a condition in evaluation order, starting from `env` (not
 * changed): each comparison reads copies' originals as known at that point, each
 * lazy `before` part is forwarded from what holds where it starts. The result
 * says what holds at the true and at the false exit: the meet over the paths
 * that leave there (a part skipped on some of them adds nothing).
 */
function forwardCond(e: CondExpr, env: Env): CondFlow {
  if ('cmp' in e) return { e: { ...e, a: copyOf(e.a, env), b: copyOf(e.b, env) }, t: env.copy(), f: env.copy() };
  if ('not' in e) {
    const r = forwardCond(e.not, env);
    return { e: { not: r.e }, t: r.f, f: r.t };
  }
  if ('before' in e) {
    const inner = env.copy();
    const before = forward(e.before, inner);
    const r = forwardCond(e.cond, inner);
    return { e: { before, cond: r.e }, t: r.t, f: r.f };
  }
  // all(...) is decided false by the first false part, any(...) true by the first true one.
  const all = 'all' in e;
  const parts: CondExpr[] = [];
  let cur: Env | null = env;
  let early: Env | null = null;
  for (const p of all ? e.all : e.any) {
    if (cur === null) {
      parts.push(p); // never evaluated
      continue;
    }
    const r = forwardCond(p, cur);
    parts.push(r.e);
    early = meetOf(early, all ? r.f : r.t);
    cur = all ? r.t : r.f;
  }
  return all ? { e: { all: parts }, t: cur, f: early } : { e: { any: parts }, t: early, f: cur };
}

function forward(nodes: readonly Node[], env: Env): Node[] {
  const out: Node[] = [];
  for (const n0 of nodes) {
    let n: Node = propagateCopies(n0, env);
    switch (n.op) {
      case 'alu': {
        const { a, b } = n;
        if (n.width === 64 && (n.alu === 'add' || n.alu === 'sub') && isVReg(a) && typeof b === 'bigint') {
          const c = n.alu === 'add' ? b : -b;
          const f = env.facts.get(a);
          const folded = f?.k === 'add' ? { a: f.a, c: BigInt.asIntN(64, f.c + c) } : { a, c };
          if (folded.c >= -(1n << 31n) && folded.c < 1n << 31n) {
            n = { ...n, alu: 'add', a: folded.a, b: folded.c };
            env.kill(n.dst);
            if (folded.a !== n.dst) env.facts.set(n.dst, { k: 'add', ...folded });
            out.push(n);
            continue;
          }
        }
        env.kill(n.dst);
        if (n.alu === 'and' && isVReg(a) && a !== n.dst && typeof b === 'bigint') {
          const mask = BigInt.asUintN(n.width, b);
          const low = mask === 0xffn ? 8 : mask === 0xffffn ? 16 : mask === 0xffffffffn ? 32 : 0;
          if (low) env.facts.set(n.dst, { k: 'low', a, bits: low });
        }
        out.push(n);
        continue;
      }
      case 'mov': {
        env.kill(n.dst);
        if (n.width === 64 && isVReg(n.a) && n.a !== n.dst) {
          // What is known about the original holds for the copy.
          env.facts.set(n.dst, { k: 'copy', a: n.a });
        }
        if (n.width === 32 && isVReg(n.a) && n.a !== n.dst) env.facts.set(n.dst, { k: 'low', a: n.a, bits: 32 });
        out.push(n);
        continue;
      }
      case 'swap': {
        // The swap reads only the low `bits`: a truncation just before it is not needed.
        const low = env.facts.get(n.a);
        if (low?.k === 'low' && low.bits >= n.bits) n = { ...n, a: low.a };
        const f = env.facts.get(n.a);
        env.kill(n.dst);
        if (f?.k === 'swap' && f.bits === n.bits) {
          // Swapping twice leaves the low `bits` of the original, zero-extended.
          const a = f.a;
          const replaced: Node =
            n.bits === 16 ? { op: 'alu', alu: 'and', dst: n.dst, a, b: 0xffffn, width: 64, src: n.src } : { op: 'mov', dst: n.dst, a, width: n.bits === 32 ? 32 : 64, src: n.src };
          if (a !== n.dst && n.bits !== 64) env.facts.set(n.dst, { k: 'low', a, bits: n.bits });
          out.push(replaced);
          continue;
        }
        if (n.a !== n.dst) env.facts.set(n.dst, { k: 'swap', a: n.a, bits: n.bits });
        out.push(n);
        continue;
      }
      case 'load': {
        let { base, off } = n;
        const f = base !== 'fp' ? env.facts.get(base) : undefined;
        if (f?.k === 'add' && off + Number(f.c) >= S16_MIN && off + Number(f.c) <= S16_MAX) {
          base = f.a;
          off += Number(f.c);
        }
        const key = `${base}:${off}:${n.size}`;
        const prev = env.loads.get(key);
        env.kill(n.dst);
        if (prev && prev.dst !== n.dst) {
          // Most recently used last: the oldest kept value is forgotten first.
          env.loads.delete(key);
          env.loads.set(key, prev);
          env.facts.set(n.dst, { k: 'copy', a: prev.dst });
          out.push({ op: 'mov', dst: n.dst, a: prev.dst, width: 64, src: n.src });
          continue;
        }
        n = { ...n, base, off };
        if (base !== n.dst) env.loads.set(key, { dst: n.dst, base, off, size: n.size });
        while (env.loads.size > MAX_KEPT_LOADS) env.loads.delete(env.loads.keys().next().value!);
        out.push(n);
        continue;
      }
      case 'store': {
        let { base, off, value } = n;
        const f = base !== 'fp' ? env.facts.get(base) : undefined;
        if (f?.k === 'add' && off + Number(f.c) >= S16_MIN && off + Number(f.c) <= S16_MAX) {
          base = f.a;
          off += Number(f.c);
        }
        const v = isVReg(value) ? env.facts.get(value) : undefined;
        if (v?.k === 'low' && n.size * 8 <= v.bits) value = v.a;
        env.clobber(base === 'fp' ? { off, size: n.size } : undefined);
        out.push({ ...n, base, off, value });
        continue;
      }
      case 'atomic':
      case 'call':
      case 'callfn': {
        env.clobber();
        const d = defOf(n);
        if (d !== undefined) env.kill(d);
        out.push(n);
        continue;
      }
      case 'neg':
      case 'sext':
      case 'frameaddr':
      case 'mapref':
      case 'globaladdr':
        env.kill(n.dst);
        out.push(n);
        continue;
      case 'if': {
        const c = forwardCond(n.cond, env);
        // After the if: what held at both exits of the condition and survives the arms that fall through.
        const joined = meetOf(c.t, c.f) ?? env.copy();
        const then = forward(n.then, c.t ?? env.copy());
        const els = forward(n.else, c.f ?? env.copy());
        env.assign(joined);
        const defs = new Set<VReg>();
        let memory = false;
        if (fallsThrough(n.then)) memory = effects(n.then, defs) || memory;
        if (fallsThrough(n.else)) memory = effects(n.else, defs) || memory;
        for (const d of defs) env.kill(d);
        if (memory) env.clobber();
        out.push({ ...n, cond: c.e, then, else: els });
        continue;
      }
      case 'loop': {
        const defs = new Set<VReg>([n.iv]);
        const memory = effects(n.body, defs);
        for (const d of defs) env.kill(d);
        if (memory) env.clobber();
        const body = forward(n.body, env.copy());
        out.push({ ...n, body });
        continue;
      }
      default:
        out.push(n);
    }
  }
  return out;
}

/** Registers a node reads (nested node lists included). */
function usesOf(n: Node, out: Set<VReg>): void {
  for (const r of registersRead(n)) out.add(r);
  for (const body of nestedBodies(n)) for (const m of body) usesOf(m, out);
}

const PURE = new Set(['mov', 'alu', 'neg', 'swap', 'sext', 'load', 'frameaddr', 'mapref', 'globaladdr']);

function dropDead(nodes: readonly Node[], used: ReadonlySet<VReg>): Node[] {
  const out: Node[] = [];
  for (const n of nodes) {
    if (PURE.has(n.op) && !used.has(defOf(n)!)) continue;
    out.push(mapBodies(n, (body) => dropDead(body, used)));
  }
  return out;
}

/** Removes pure operations whose results are never read (repeated until nothing changes). */
function deadCode(body: Node[], params: readonly VReg[]): Node[] {
  for (let round = 0; round < 16; round++) {
    const used = new Set<VReg>(params);
    for (const n of body) usesOf(n, used);
    // Loop counters are read by the loop itself.
    const ivs = (ns: readonly Node[]): void => {
      for (const n of ns) {
        if (n.op === 'loop') used.add(n.iv);
        for (const body of nestedBodies(n)) ivs(body);
      }
    };
    ivs(body);
    const next = dropDead(body, used);
    const size = (ns: readonly Node[]): number => ns.reduce((k, n) => k + 1 + nestedBodies(n).reduce((j, b) => j + size(b), 0), 0);
    if (size(next) === size(body)) return next;
    body = next;
  }
  return body;
}

/** Whether stack addresses (`frameaddr`) only ever flow into helper call arguments. */
function stackAddressesOnlyInCalls(body: readonly Node[]): boolean {
  const addrs = new Set<VReg>();
  const walk = (ns: readonly Node[], f: (n: Node) => void) => {
    for (const n of ns) {
      f(n);
      for (const nested of nestedBodies(n)) walk(nested, f);
    }
  };
  walk(body, (n) => {
    if (n.op === 'frameaddr') addrs.add(n.dst);
  });
  let ok = true;
  walk(body, (n) => {
    // A subfunction given a stack address could hand it back: then it is a pointer like any other.
    if (n.op === 'callfn' && n.args.some((a) => isVReg(a) && addrs.has(a))) ok = false;
    if (n.op === 'call' || n.op === 'callfn') return;
    // Only the node's own operands (an if's comparisons): nested nodes are visited by the walk.
    for (const r of registersRead(n)) if (addrs.has(r)) ok = false;
    // A redefined stack address could be anything afterwards.
    const d = defOf(n);
    if (d !== undefined && addrs.has(d) && n.op !== 'frameaddr') ok = false;
  });
  return ok;
}

/**
 * Drops stack stores that nothing can observe: each byte is either outside every
 * local's real extent and never loaded, or overwritten by a later store of the same
 * straight-line block before any load, call or branch.
 */
function deadStores(body: readonly Node[], objects: readonly FrameObject[]): Node[] {
  if (!stackAddressesOnlyInCalls(body)) return [...body];
  const loaded = new Set<number>();
  const walk = (ns: readonly Node[]) => {
    for (const n of ns) {
      if (n.op === 'load' && n.base === 'fp') for (let b = n.off; b < n.off + n.size; b++) loaded.add(b);
      for (const nested of nestedBodies(n)) walk(nested);
    }
  };
  walk(body);
  const inObject = (b: number) => objects.some((o) => b >= o.off && b < o.off + o.size);
  const neverRead = (b: number) => !inObject(b) && !loaded.has(b);
  // Stack addresses handed to calls: a call reads (and may write) the whole local they point into.
  const addrOff = new Map<VReg, number | undefined>();
  const collect = (ns: readonly Node[]) => {
    for (const n of ns) {
      if (n.op === 'frameaddr') addrOff.set(n.dst, addrOff.has(n.dst) && addrOff.get(n.dst) !== n.off ? undefined : n.off);
      for (const nested of nestedBodies(n)) collect(nested);
    }
  };
  collect(body);
  const callTouches = (args: readonly Operand[], lo: number, hi: number): boolean =>
    args.some((a) => {
      if (!isVReg(a) || !addrOff.has(a)) return false;
      const off = addrOff.get(a);
      // Locals of disjoint scopes may share bytes: the call may touch any local at that address.
      const os = off === undefined ? [] : objects.filter((x) => off >= x.off && off < x.off + Math.max(x.size, 1));
      return os.length === 0 || os.some((o) => o.off < hi && lo < o.off + o.size);
    });
  /**
   * From `ns[from]` on: the bytes surely overwritten before anything may read [lo, hi),
   * whether that search stopped (a possible read, or control flow it does not follow),
   * and whether every path returned first (then the stack is dead anyway).
   */
  interface Scan { readonly written: Set<number> | null; readonly stopped: boolean }
  const scan = (ns: readonly Node[], from: number, lo: number, hi: number): Scan => {
    const written = new Set<number>();
    for (let j = from; j < ns.length; j++) {
      const m = ns[j]!;
      switch (m.op) {
        case 'store':
          if (m.base === 'fp') for (let b = m.off; b < m.off + m.size; b++) written.add(b);
          continue;
        case 'load':
          if (m.base === 'fp' && m.off < hi && lo < m.off + m.size) return { written, stopped: true };
          continue;
        case 'mov':
        case 'alu':
        case 'neg':
        case 'swap':
        case 'sext':
        case 'frameaddr':
        case 'mapref':
        case 'globaladdr':
        case 'atomic':
          continue;
        case 'call':
        case 'callfn':
          if (callTouches(m.args, lo, hi)) return { written, stopped: true };
          continue;
        case 'return':
          return { written: null, stopped: false };
        case 'if': {
          // The condition's lazy parts may run (their reads count) or not (their writes do not).
          for (const part of condParts(m.cond).blocks) if (scan(part, 0, lo, hi).stopped) return { written, stopped: true };
          const a = scan(m.then, 0, lo, hi);
          const b = scan(m.else, 0, lo, hi);
          const ga = a.written === null ? null : new Set([...a.written, ...written]);
          const gb = b.written === null ? null : new Set([...b.written, ...written]);
          if (ga === null && gb === null) return { written: null, stopped: false };
          const both = ga === null ? gb! : gb === null ? ga : new Set([...ga].filter((x) => gb.has(x)));
          // A branch that breaks or continues leaves this block: stop there.
          const leaves = (branch: readonly Node[], r: Scan) => r.written !== null && !fallsThrough(branch);
          if (a.stopped || b.stopped || leaves(m.then, a) || leaves(m.else, b)) return { written: both, stopped: true };
          for (const x of both) written.add(x);
          continue;
        }
        default:
          return { written, stopped: true };
      }
    }
    return { written, stopped: false };
  };
  const block = (ns: readonly Node[]): Node[] => {
    const out: Node[] = [];
    ns.forEach((n, k) => {
      if (n.op !== 'store' || n.base !== 'fp') return out.push(mapBodies(n, block));
      const { written } = scan(ns, k + 1, n.off, n.off + n.size);
      if (written === null) return;
      for (let b = n.off; b < n.off + n.size; b++) if (!written.has(b) && !neverRead(b)) return out.push(n);
      return;
    });
    return out;
  };
  return block(body);
}

/** Runs the clean-ups over one function. */
export function optimize(fn: IrFunction): IrFunction {
  let body = forward(fn.body, new Env(!stackAddressesOnlyInCalls(fn.body)));
  body = deadCode(body, fn.params);
  body = deadStores(body, fn.objects);
  return { ...fn, body };
}
