/**
 * IR → MIR: structured control flow becomes labels and jumps, three-address
 * operations become BPF two-address form, constants that do not fit an immediate
 * are materialised, and the target profile picks the instruction forms (JMP32 on
 * ISA v3+, native signed division on v4 or a software fallback, a real bounded
 * loop or a full unroll).
 */
import { assertUnrollable } from './bpf-loop.js';
import { isaRank } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { CmpKind, Cond, CondExpr, FrameAddrNode, IrFunction, LoopNode, MapRefNode, Node, Operand, VReg, Width } from '../ir/index.js';
import { nestedBodies, operandsRead } from '../ir/index.js';
import type { TargetProfile } from '../kernel/index.js';
import { FP, type MInsn, type MOperand, type Reg } from './mir.js';

/** Decisions a pass pipeline may override per loop. */
export interface LinearizeOptions {
  readonly profile: TargetProfile;
  /** Whether to unroll a loop; default: unroll exactly when the profile has no bounded loops. */
  readonly unroll?: ((loop: LoopNode, profile: TargetProfile) => boolean) | undefined;
  /** Make map/stack addresses read only by calls right in the argument register (default true). */
  readonly rematerialise?: boolean | undefined;
}

const INVERSE: Record<Exclude<CmpKind, 'set'>, CmpKind> = {
  eq: 'ne', ne: 'eq', gt: 'le', le: 'gt', ge: 'lt', lt: 'ge', sgt: 'sle', sle: 'sgt', sge: 'slt', slt: 'sge',
};

/** Whether a constant is what a 64-bit operation sees from a sign-extended imm32. */
export function fitsImm64(v: bigint): boolean {
  const s = BigInt.asIntN(64, v);
  return s >= -(1n << 31n) && s < 1n << 31n;
}

interface LoopLabels {
  readonly id: number;
  readonly breakTo: string;
  readonly continueTo: string;
}

/** Linearises one IR function; returns MIR and the next free virtual register. */
export function linearize(fn: IrFunction, options: LinearizeOptions): { code: MInsn[]; nextVReg: number } {
  const profile = options.profile;
  const rank = isaRank(profile.isa);
  const unroll = options.unroll ?? ((_l: LoopNode, p: TargetProfile) => !p.boundedLoops);
  const out: MInsn[] = [];
  let next = fn.nextVReg;
  let labelNo = 0;
  const vreg = () => next++;
  const label = (hint: string) => `.L${hint}${labelNo++}`;
  const loops: LoopLabels[] = [];
  let src = fn.src;
  const emit = (i: MInsn) => out.push(src ? { ...i, src } : i);
  const remat = options.rematerialise === false ? new Map<VReg, MapRefNode | FrameAddrNode>() : rematerialisable(fn.body);

  /** A register holding `op` (constants are materialised into a fresh register). */
  const inReg = (op: Operand, w: Width): Reg => {
    if (typeof op === 'number') return op;
    const t = vreg();
    movConst(t, op, w);
    return t;
  };
  const movConst = (d: Reg, v: bigint, w: Width) => {
    if (w === 32) emit({ k: 'mov', d, s: BigInt.asUintN(32, v), w: 32 });
    else if (fitsImm64(v)) emit({ k: 'mov', d, s: v, w: 64 });
    else emit({ k: 'lddw', d, ref: 'imm', value: BigInt.asIntN(64, v), name: '', offset: 0 });
  };
  /** An ALU source operand: constants that do not fit become registers. */
  const aluSrc = (op: Operand, w: Width): MOperand => (typeof op === 'bigint' && w === 64 && !fitsImm64(op) ? inReg(op, 64) : op);
  const mov = (d: Reg, a: Operand, w: Width) => {
    if (typeof a === 'bigint') movConst(d, a, w);
    else if (a !== d) emit({ k: 'mov', d, s: a, w });
  };
  const sext = (d: Reg, a: Reg, from: 8 | 16 | 32) => {
    mov(d, a, 64);
    emit({ k: 'alu', op: 'lsh', d, s: BigInt(64 - from), w: 64 });
    emit({ k: 'alu', op: 'arsh', d, s: BigInt(64 - from), w: 64 });
  };

  const signedDivision = (op: 'sdiv' | 'smod', d: VReg, a: Operand, b: Operand, w: Width) => {
    if (rank >= 4) {
      mov(d, a, w);
      if (typeof b === 'bigint' && BigInt.asUintN(w, b) === 0n) throw new DslError('DSL_DIV_ZERO', 'division by the constant 0', src);
      emit({ k: 'alu', op, d, s: aluSrc(b, w), w });
      return;
    }
    // Software fallback with BPF's semantics (x/0 = 0, x%0 = x): divide magnitudes, fix the sign.
    const ua = vreg();
    const ub = vreg();
    const neg = vreg();
    if (w === 32) {
      sext(ua, inReg(a, 32), 32);
      sext(ub, inReg(b, 32), 32);
    } else {
      mov(ua, a, 64);
      mov(ub, b, 64);
    }
    emit({ k: 'mov', d: neg, s: 0n, w: 64 });
    const l1 = label('sa');
    emit({ k: 'jcc', cmp: 'sge', a: ua, b: 0n, w: 64, target: l1 });
    emit({ k: 'neg', d: ua, w: 64 });
    emit({ k: 'mov', d: neg, s: 1n, w: 64 });
    emit({ k: 'label', name: l1 });
    const l2 = label('sb');
    emit({ k: 'jcc', cmp: 'sge', a: ub, b: 0n, w: 64, target: l2 });
    emit({ k: 'neg', d: ub, w: 64 });
    if (op === 'sdiv') emit({ k: 'alu', op: 'xor', d: neg, s: 1n, w: 64 });
    emit({ k: 'label', name: l2 });
    emit({ k: 'mov', d, s: ua, w: 64 });
    emit({ k: 'alu', op: op === 'sdiv' ? 'div' : 'mod', d, s: ub, w: 64 });
    const l3 = label('sr');
    emit({ k: 'jcc', cmp: 'eq', a: neg, b: 0n, w: 64, target: l3 });
    emit({ k: 'neg', d, w: 64 });
    emit({ k: 'label', name: l3 });
    if (w === 32) emit({ k: 'mov', d, s: d, w: 32 });
  };

  /** Emits a jump to `target` taken when `c` holds. */
  const jumpIf = (c: Cond, target: string) => {
    const signed = c.cmp.startsWith('s') && c.cmp !== 'set';
    if (c.width === 32 && rank < 3) {
      // No JMP32: compare 64-bit registers. Unsigned values are kept zero-extended,
      // signed ones are sign-extended first.
      if (signed) {
        const a = vreg();
        sext(a, c.a, 32);
        let b: MOperand;
        if (typeof c.b === 'bigint') b = aluSrc(BigInt.asIntN(32, c.b), 64);
        else {
          const t = vreg();
          sext(t, c.b, 32);
          b = t;
        }
        emit({ k: 'jcc', cmp: c.cmp, a, b, w: 64, target });
        return;
      }
      const b = typeof c.b === 'bigint' ? aluSrc(BigInt.asUintN(32, c.b), 64) : c.b;
      emit({ k: 'jcc', cmp: c.cmp, a: c.a, b, w: 64, target });
      return;
    }
    const b = typeof c.b === 'bigint' ? (c.width === 32 ? BigInt.asUintN(32, c.b) : aluSrc(c.b, 64)) : c.b;
    emit({ k: 'jcc', cmp: c.cmp, a: c.a, b, w: c.width, target });
  };

  /** Jumps to `target` when `e` evaluates to `sense`, falls through otherwise (short-circuit jump chains). */
  const jumpWhen = (e: CondExpr, sense: boolean, target: string): void => {
    if ('cmp' in e) {
      if (sense) return jumpIf(e, target);
      if (e.cmp !== 'set') return jumpIf({ ...e, cmp: INVERSE[e.cmp] }, target);
      const skip = label('cskip');
      jumpIf(e, skip);
      emit({ k: 'ja', target });
      emit({ k: 'label', name: skip });
      return;
    }
    if ('not' in e) return jumpWhen(e.not, !sense, target);
    if ('before' in e) {
      block(e.before);
      return jumpWhen(e.cond, sense, target);
    }
    const parts = 'all' in e ? e.all : e.any;
    // all(...) is false as soon as one part is false; any(...) is true as soon as one part is true.
    const decisive = !('all' in e);
    if (parts.length === 0) {
      if (sense === !decisive) emit({ k: 'ja', target });
      return;
    }
    if (sense === decisive) {
      for (const p of parts) jumpWhen(p, sense, target);
      return;
    }
    const skip = label('cskip');
    parts.slice(0, -1).forEach((p) => jumpWhen(p, decisive, skip));
    jumpWhen(parts[parts.length - 1]!, sense, target);
    emit({ k: 'label', name: skip });
  };

  const block = (nodes: readonly Node[]) => {
    for (const n of nodes) node(n);
  };

  const node = (n: Node): void => {
    const saved = src;
    if (n.src) src = n.src;
    try {
      nodeAt(n);
    } finally {
      src = saved;
    }
  };

  const nodeAt = (n: Node): void => {
    switch (n.op) {
      case 'mov':
        mov(n.dst, n.a, n.width);
        return;
      case 'alu': {
        if (n.alu === 'sdiv' || n.alu === 'smod') return signedDivision(n.alu, n.dst, n.a, n.b, n.width);
        if ((n.alu === 'div' || n.alu === 'mod') && typeof n.b === 'bigint' && BigInt.asUintN(n.width, n.b) === 0n)
          throw new DslError('DSL_DIV_ZERO', 'division by the constant 0', src);
        let b: MOperand = aluSrc(n.b, n.width);
        if (b === n.dst && n.a !== n.dst) {
          const t = vreg();
          mov(t, b as Reg, 64);
          b = t;
        }
        // Registers hold canonical (zero-extended) values, so copying one is a 64-bit move
        // (which vanishes when both get the same register); constants keep the op's width.
        mov(n.dst, n.a, typeof n.a === 'bigint' ? n.width : 64);
        emit({ k: 'alu', op: n.alu, d: n.dst, s: b, w: n.width });
        return;
      }
      case 'neg':
        mov(n.dst, n.a, 64);
        emit({ k: 'neg', d: n.dst, w: n.width });
        return;
      case 'swap':
        mov(n.dst, n.a, 64);
        emit({ k: 'end', d: n.dst, bits: n.bits });
        return;
      case 'sext':
        sext(n.dst, n.a, n.from);
        return;
      case 'load':
        emit({ k: 'ld', d: n.dst, base: n.base === 'fp' ? FP : n.base, off: n.off, size: n.size });
        return;
      case 'store': {
        let s: MOperand = n.value;
        if (typeof s === 'bigint') s = n.size === 8 ? aluSrc(s, 64) : BigInt.asIntN(32, BigInt.asUintN(n.size * 8, s));
        emit({ k: 'st', base: n.base === 'fp' ? FP : n.base, off: n.off, size: n.size, s });
        return;
      }
      case 'atomic': {
        if (n.dst !== undefined && rank < 3)
          throw new DslError('DSL_ISA', `fetching atomic ${n.aop} needs ISA v3 (kernel 5.12); target ${profile.name} has ${profile.isa}`, src);
        if (n.aop !== 'add' && rank < 3)
          throw new DslError('DSL_ISA', `atomic ${n.aop} needs ISA v3 (kernel 5.12); target ${profile.name} has ${profile.isa}`, src);
        const t = vreg();
        mov(t, n.value, 64);
        emit({ k: 'atomic', aop: n.aop, fetch: n.dst !== undefined, base: n.base, off: n.off, size: n.size, s: t });
        if (n.dst !== undefined) emit({ k: 'mov', d: n.dst, s: t, w: 64 });
        return;
      }
      case 'frameaddr':
        if (remat.has(n.dst)) return;
        emit({ k: 'mov', d: n.dst, s: FP, w: 64 });
        emit({ k: 'alu', op: 'add', d: n.dst, s: BigInt(n.off), w: 64 });
        return;
      case 'mapref':
        if (remat.has(n.dst)) return;
        emit({ k: 'lddw', d: n.dst, ref: 'map', value: 0n, name: n.map, offset: 0 });
        return;
      case 'globaladdr':
        emit({ k: 'lddw', d: n.dst, ref: 'global', value: 0n, name: n.name, offset: n.offset });
        return;
      case 'funcaddr':
        emit({ k: 'lddw', d: n.dst, ref: 'func', value: 0n, name: n.fn, offset: 0 });
        return;
      case 'call':
      case 'callfn': {
        if (n.args.length > 5) throw new DslError('DSL_ARGS', `${n.op === 'call' ? `helper ${n.name}` : `function ${n.fn}`} takes at most 5 arguments`, src);
        n.args.forEach((a, k) => {
          const def = typeof a === 'number' ? remat.get(a) : undefined;
          // A map or stack address is made right in its argument register (no copy, nothing kept live).
          if (def?.op === 'mapref') emit({ k: 'lddw', d: k + 1, ref: 'map', value: 0n, name: def.map, offset: 0 });
          else if (def?.op === 'frameaddr') {
            emit({ k: 'mov', d: k + 1, s: FP, w: 64 });
            emit({ k: 'alu', op: 'add', d: k + 1, s: BigInt(def.off), w: 64 });
          } else mov(k + 1, a, 64);
        });
        emit({ k: 'call', helper: n.op === 'call' ? n.helper : 0, fn: n.op === 'callfn' ? n.fn : undefined, nargs: n.args.length });
        if (n.dst !== undefined) emit({ k: 'mov', d: n.dst, s: 0, w: 64 });
        return;
      }
      case 'if': {
        const end = label('end');
        if (!('cmp' in n.cond)) {
          if (n.else.length === 0) {
            jumpWhen(n.cond, false, end);
            block(n.then);
          } else {
            const other = label('else');
            jumpWhen(n.cond, false, other);
            block(n.then);
            emit({ k: 'ja', target: end });
            emit({ k: 'label', name: other });
            block(n.else);
          }
        } else if (n.cond.cmp === 'set') {
          const then = label('then');
          jumpIf(n.cond, then);
          block(n.else);
          emit({ k: 'ja', target: end });
          emit({ k: 'label', name: then });
          block(n.then);
        } else {
          const inverse = { ...n.cond, cmp: INVERSE[n.cond.cmp] };
          if (n.else.length === 0) {
            jumpIf(inverse, end);
            block(n.then);
          } else {
            const other = label('else');
            jumpIf(inverse, other);
            block(n.then);
            emit({ k: 'ja', target: end });
            emit({ k: 'label', name: other });
            block(n.else);
          }
        }
        emit({ k: 'label', name: end });
        return;
      }
      case 'loop': {
        if (n.count <= 0) return;
        const end = label('lend');
        if (unroll(n, profile)) {
          assertUnrollable(n, profile);
          for (let k = 0; k < n.count; k++) {
            const nextIter = label('lnext');
            emit({ k: 'mov', d: n.iv, s: BigInt(k), w: 32 });
            loops.push({ id: n.id, breakTo: end, continueTo: nextIter });
            block(n.body);
            loops.pop();
            emit({ k: 'label', name: nextIter });
          }
        } else {
          if (!profile.boundedLoops)
            throw new DslError('DSL_LOOP', `target ${profile.name} has no bounded loops; this loop must be unrolled`, src);
          const head = label('lbody');
          const cont = label('lcont');
          emit({ k: 'mov', d: n.iv, s: 0n, w: 32 });
          emit({ k: 'label', name: head });
          loops.push({ id: n.id, breakTo: end, continueTo: cont });
          block(n.body);
          loops.pop();
          emit({ k: 'label', name: cont });
          emit({ k: 'alu', op: 'add', d: n.iv, s: 1n, w: 32 });
          jumpIf({ cmp: 'lt', a: n.iv, b: BigInt(n.count), width: 32 }, head);
        }
        emit({ k: 'label', name: end });
        return;
      }
      case 'break':
      case 'continue': {
        const l = loops.find((x) => x.id === n.loop);
        if (!l) throw new DslError('DSL_SCOPE', `${n.op} outside its loop`, src);
        emit({ k: 'ja', target: n.op === 'break' ? l.breakTo : l.continueTo });
        return;
      }
      case 'return':
        mov(0, n.value, 64);
        emit({ k: 'exit' });
        return;
    }
  };

  fn.params.forEach((p, k) => emit({ k: 'mov', d: p, s: k + 1, w: 64 }));
  block(fn.body);
  // Falling off the end returns 0 (removed again when unreachable).
  emit({ k: 'mov', d: 0, s: 0n, w: 64 });
  emit({ k: 'exit' });
  return { code: prune(out), nextVReg: next };
}

/**
 * Map and stack addresses defined once and read only as call arguments: they are
 * computed at each call instead of being kept in a register (like clang does).
 */
function rematerialisable(body: readonly Node[]): Map<VReg, MapRefNode | FrameAddrNode> {
  const defs = new Map<VReg, Node[]>();
  const otherUse = new Set<VReg>();
  const use = (o: Operand | 'fp' | undefined) => {
    if (typeof o === 'number') otherUse.add(o);
  };
  const walk = (ns: readonly Node[]) => {
    for (const n of ns) {
      if ('dst' in n && n.dst !== undefined) (defs.get(n.dst) ?? defs.set(n.dst, []).get(n.dst)!).push(n);
      // Call arguments are not "other" uses: an address read only by calls is made in its argument register.
      if (n.op !== 'call' && n.op !== 'callfn') for (const o of operandsRead(n)) use(o);
      if (n.op === 'loop') use(n.iv);
      for (const nested of nestedBodies(n)) walk(nested);
    }
  };
  walk(body);
  const out = new Map<VReg, MapRefNode | FrameAddrNode>();
  for (const [v, ds] of defs) {
    const d = ds[0]!;
    if (ds.length === 1 && !otherUse.has(v) && (d.op === 'mapref' || d.op === 'frameaddr')) out.set(v, d);
  }
  return out;
}

/** Removes unreachable instructions, jumps to the next instruction, and unused labels. */
export function prune(code: MInsn[]): MInsn[] {
  let cur = code;
  for (let round = 0; round < 8; round++) {
    const labelAt = new Map<string, number>();
    cur.forEach((i, k) => {
      if (i.k === 'label') labelAt.set(i.name, k);
    });
    const seen = new Uint8Array(cur.length);
    const stack = [0];
    while (stack.length) {
      const k = stack.pop()!;
      if (k >= cur.length || seen[k]) continue;
      seen[k] = 1;
      const i = cur[k]!;
      if (i.k === 'ja' || i.k === 'jcc') stack.push(labelAt.get(i.target)!);
      if (i.k !== 'ja' && i.k !== 'exit') stack.push(k + 1);
    }
    const kept = cur.filter((_, k) => seen[k]);
    // Jumps to a label that follows directly (only labels in between) are dropped.
    const out: MInsn[] = [];
    for (let k = 0; k < kept.length; k++) {
      const i = kept[k]!;
      if (i.k === 'ja') {
        let j = k + 1;
        let direct = false;
        while (j < kept.length && kept[j]!.k === 'label') {
          if ((kept[j] as { name: string }).name === i.target) direct = true;
          j++;
        }
        if (direct) continue;
      }
      out.push(i);
    }
    const targets = new Set(out.flatMap((i) => (i.k === 'ja' || i.k === 'jcc' ? [i.target] : [])));
    const final = out.filter((i) => i.k !== 'label' || targets.has(i.name));
    const changed = final.length !== cur.length;
    cur = final;
    if (!changed) break;
  }
  return cur;
}
