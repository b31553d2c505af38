/**
 * What an IR node reads, and the node lists nested in it: the one place passes
 * (lowering, clean-ups, the bpf_loop rewrite) learn a node's operands, so a new
 * node kind or a new condition form is taught to all of them at once.
 */
import { condParts, type Base, type CondExpr, type Node, type Operand, type VReg } from './nodes.js';

/**
 * The operands `n` itself reads: for an `if`, those of every comparison in its
 * condition (combined ones included). Nested node lists are not walked; see
 * {@link nestedBodies}. Constants and `'fp'` are included as they are.
 */
export function operandsRead(n: Node): readonly (Operand | Base)[] {
  switch (n.op) {
    case 'mov':
    case 'neg':
    case 'swap':
    case 'sext':
      return [n.a];
    case 'alu':
      return [n.a, n.b];
    case 'load':
      return [n.base];
    case 'store':
    case 'atomic':
      return [n.base, n.value];
    case 'call':
    case 'callfn':
      return n.args;
    case 'return':
      return [n.value];
    case 'if':
      return condParts(n.cond).cmps.flatMap((c) => [c.a, c.b]);
    default:
      return [];
  }
}

/** The registers among `n`'s own operands ({@link operandsRead} without constants and `'fp'`). */
export function registersRead(n: Node): VReg[] {
  return operandsRead(n).filter((o): o is VReg => typeof o === 'number');
}

/** Node lists nested in `n`: a condition's lazily run parts, then the arms, or a loop's body. */
export function nestedBodies(n: Node): readonly (readonly Node[])[] {
  if (n.op === 'if') return [...condParts(n.cond).blocks, n.then, n.else];
  if (n.op === 'loop') return [n.body];
  return [];
}

/** `e` with every node list it runs lazily (the `before` parts of and/or) passed through `f`. */
export function mapCondBlocks(e: CondExpr, f: (nodes: readonly Node[]) => Node[]): CondExpr {
  if ('cmp' in e) return e;
  if ('not' in e) return { not: mapCondBlocks(e.not, f) };
  if ('before' in e) return { before: f(e.before), cond: mapCondBlocks(e.cond, f) };
  return 'all' in e ? { all: e.all.map((x) => mapCondBlocks(x, f)) } : { any: e.any.map((x) => mapCondBlocks(x, f)) };
}

/** `n` with each node list nested in it ({@link nestedBodies}: condition parts, arms, loop body) passed through `f`. */
export function mapBodies(n: Node, f: (nodes: readonly Node[]) => Node[]): Node {
  if (n.op === 'if') return { ...n, cond: mapCondBlocks(n.cond, f), then: f(n.then), else: f(n.else) };
  if (n.op === 'loop') return { ...n, body: f(n.body) };
  return n;
}
