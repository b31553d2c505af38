/**
 * The `bpf_loop` loop strategy (helper 181, kernel 5.17): a loop whose trip
 * count is too large for the verifier to walk as a bounded loop (or one the user
 * marks `{ strategy: 'bpf_loop' }`) becomes
 *
 *     static long cb(u64 index, void *ctx) { <body>; return 0; }   // 1 = break
 *     ... store captured values to a stack struct S ...
 *     bpf_loop(count, &cb, &S, 0);          // &cb: lddw src=BPF_PSEUDO_FUNC
 *     ... reload the values the body wrote ...
 *
 * The verifier checks the callback once (not once per iteration), so the cost no
 * longer grows with the count. The callback sees the caller's values through
 * the struct pointer (`ctx`), and the caller's stack objects (`b.local`s) through
 * the same pointer at their offset relative to the struct; `break` returns 1,
 * `continue` and the end of the body return 0 (after writing back).
 *
 * What the body may not do (build-time errors naming the TypeScript line):
 * `return` from the program (a callback can only stop the loop) and tail calls
 * (not allowed in callbacks). Pointers (context, map values, packet) do cross:
 * they travel as spilled registers in the caller's stack, which the verifier
 * tracks across frames, and a packet-changing helper in the body invalidates
 * packet pointers in every frame, as it would in a bounded loop.
 */
import { DslError } from '../ir/errors.js';
import type { FrameObject, IrFunction, LoopNode, Node, Operand, VReg } from '../ir/index.js';
import { mapCondBlocks, nestedBodies, registersRead } from '../ir/index.js';
import { BpfFunc, type TargetProfile } from '../kernel/index.js';

/** `bpf_loop`'s helper id (181). */
export const BPF_LOOP_HELPER: number = BpfFunc.loop;
const TAIL_CALL_HELPER: number = BpfFunc.tail_call;

/**
 * The auto strategy picks `bpf_loop` when walking the loop as a bounded loop
 * would cost the verifier more than half of its processed-instruction budget
 * (`maxProcessedInsns`, 1,000,000 since 5.2): it walks a bounded loop once per
 * iteration, at least (body nodes + 2 for the increment and the compare) insns
 * each time, and the rest of the program needs the other half.
 */
export function wantsBpfLoop(loop: LoopNode, profile: TargetProfile): boolean {
  if (loop.strategy === 'bpf_loop') return true;
  if (!profile.bpfLoopHelper || !profile.boundedLoops) return false;
  return loop.count * (countNodes(loop.body) + 2) > profile.maxProcessedInsns / 2;
}

/**
 * Refuses, before emitting anything, a loop that cannot fit once unrolled: each
 * iteration is at least one instruction per body node, and a program split into
 * tail calls holds at most `maxInsns` per piece times the chain limit. Unrolling
 * such a loop would only exhaust memory.
 */
export function assertUnrollable(loop: LoopNode, profile: TargetProfile): void {
  const least = loop.count * Math.max(1, countNodes(loop.body));
  const most = profile.maxInsns * profile.tailCallChainLimit;
  if (least > most) {
    const hint = profile.bpfLoopHelper ? '' : ' (bpf_loop needs kernel 5.17)';
    throw new DslError('DSL_TOO_BIG', `loop of ${loop.count} iterations: target ${profile.name} has no bounded loops, and unrolled it needs at least ${least} instruction slots, above the ${most} that ${profile.tailCallChainLimit} tail-call pieces of ${profile.maxInsns} can hold${hint}; make the count smaller`, loop.src);
  }
}

function countNodes(body: readonly Node[]): number {
  let n = 0;
  for (const x of body) {
    n++;
    if (x.op === 'if') n += countNodes(x.then) + countNodes(x.else);
    else if (x.op === 'loop') n += x.count * countNodes(x.body);
  }
  return n;
}

/** A function with its `bpf_loop` loops turned into callbacks, plus those callbacks. */
export interface BpfLoopResult {
  readonly fn: IrFunction;
  readonly callbacks: readonly IrFunction[];
}

/** Virtual registers nodes read and write (nested bodies included). */
function regsOf(nodes: readonly Node[], reads: Set<VReg>, writes: Set<VReg>): void {
  for (const n of nodes) {
    for (const r of registersRead(n)) reads.add(r);
    if ('dst' in n && n.dst !== undefined) writes.add(n.dst);
    if (n.op === 'loop') writes.add(n.iv);
    for (const body of nestedBodies(n)) regsOf(body, reads, writes);
  }
}

/** Rewrites the `bpf_loop` loops of `fn` (outermost first; nested ones are handled when the callback is lowered). */
export function lowerBpfLoops(fn: IrFunction, profile: TargetProfile): BpfLoopResult {
  const callbacks: IrFunction[] = [];
  let next = fn.nextVReg;
  let frame = fn.frameSize;
  const objects: FrameObject[] = [...fn.objects];
  const vreg = () => next++;

  // Registers defined outside a loop: the function's parameters and every write outside its body.
  const outsideWrites = (loop: LoopNode): Set<VReg> => {
    const all = new Set<VReg>(fn.params);
    const walk = (nodes: readonly Node[]) => {
      for (const n of nodes) {
        if (n === loop) continue;
        const w = new Set<VReg>();
        regsOf([n.op === 'if' ? { ...n, then: [], else: [] } : n.op === 'loop' ? { ...n, body: [] } : n], new Set(), w);
        for (const x of w) all.add(x);
        if (n.op === 'if') {
          walk(n.then);
          walk(n.else);
        } else if (n.op === 'loop') walk(n.body);
      }
    };
    walk(fn.body);
    return all;
  };

  const convert = (loop: LoopNode): Node[] => {
    const src = loop.src;
    if (!profile.bpfLoopHelper)
      throw new DslError('DSL_TARGET', `loop strategy 'bpf_loop' needs the bpf_loop helper (kernel 5.17); target ${profile.name} does not have it`, src);
    const reads = new Set<VReg>();
    const writes = new Set<VReg>();
    regsOf(loop.body, reads, writes);
    const defined = outsideWrites(loop);
    const captured = [...new Set([...reads, ...writes])].filter((v) => v !== loop.iv && defined.has(v)).sort((a, b) => a - b);
    const writtenBack = captured.filter((v) => writes.has(v));
    // The struct sits below the frame's locals; its slots are 8 bytes each.
    const size = Math.max(8, captured.length * 8);
    frame = Math.ceil(frame / 8) * 8 + size;
    const structOff = -frame;
    objects.push({ off: structOff, size, src });
    const slot = (v: VReg) => captured.indexOf(v) * 8;

    const index = vreg();
    const ctx = vreg();
    const storeBack = (): Node[] => writtenBack.map((v) => ({ op: 'store', base: ctx, off: slot(v), size: 8, value: v, src }) as Node);
    const finish = (code: bigint): Node[] => [...storeBack(), { op: 'return', value: code, src }];
    const rewrite = (nodes: readonly Node[], depth: number): Node[] => {
      const out: Node[] = [];
      for (const n of nodes) {
        switch (n.op) {
          case 'return':
            throw new DslError('DSL_LOOP', "return() inside a loop lowered to bpf_loop: the body is a callback and can only stop the loop (use break())", n.src ?? src);
          case 'call':
            if (n.helper === TAIL_CALL_HELPER) throw new DslError('DSL_LOOP', 'tail calls are not allowed inside a loop lowered to bpf_loop (the body is a callback)', n.src ?? src);
            out.push(n);
            break;
          case 'break':
          case 'continue':
            if (n.loop === loop.id) out.push(...finish(n.op === 'break' ? 1n : 0n));
            else out.push(n);
            break;
          case 'load':
            out.push(n.base === 'fp' ? { ...n, base: ctx, off: n.off - structOff } : n);
            break;
          case 'store':
            out.push(n.base === 'fp' ? { ...n, base: ctx, off: n.off - structOff } : n);
            break;
          case 'frameaddr':
            out.push({ op: 'alu', alu: 'add', dst: n.dst, a: ctx, b: BigInt(n.off - structOff), width: 64, src: n.src });
            break;
          case 'if':
            out.push({ ...n, cond: mapCondBlocks(n.cond, (b) => rewrite(b, depth)), then: rewrite(n.then, depth), else: rewrite(n.else, depth) });
            break;
          case 'loop':
            out.push({ ...n, body: rewrite(n.body, depth + 1) });
            break;
          default:
            out.push(n);
        }
      }
      return out;
    };
    const body: Node[] = [
      { op: 'mov', dst: loop.iv, a: index, width: 32, src },
      ...captured.map((v) => ({ op: 'load', dst: v, base: ctx, off: slot(v), size: 8, src }) as Node),
      ...rewrite(loop.body, 0),
      ...finish(0n),
    ];
    const name = `${fn.name}_loop${loop.id}`;
    callbacks.push({ name, kind: 'subprogram', params: [index, ctx], body, frameSize: 0, objects: [], nextVReg: next + 1, src });
    // The callback's registers are its own; numbering on from `next` keeps them apart anyway.
    next += 1;

    const cb = vreg();
    const arg = vreg();
    return [
      ...captured.map((v) => ({ op: 'store', base: 'fp', off: structOff + slot(v), size: 8, value: v, src }) as Node),
      { op: 'funcaddr', dst: cb, fn: name, src },
      { op: 'frameaddr', dst: arg, off: structOff, src },
      { op: 'call', helper: BPF_LOOP_HELPER, name: 'bpf_loop', args: [BigInt(loop.count), cb, arg, 0n], src },
      ...writtenBack.map((v) => ({ op: 'load', dst: v, base: 'fp', off: structOff + slot(v), size: 8, src }) as Node),
    ];
  };

  let changed = false;
  const walk = (nodes: readonly Node[]): Node[] => {
    const out: Node[] = [];
    for (const n of nodes) {
      if (n.op === 'loop' && n.count > 0 && wantsBpfLoop(n, profile) && (n.strategy === 'bpf_loop' || profile.bpfLoopHelper)) {
        changed = true;
        out.push(...convert(n));
      } else if (n.op === 'if') out.push({ ...n, then: walk(n.then), else: walk(n.else) });
      else if (n.op === 'loop') out.push({ ...n, body: walk(n.body) });
      else out.push(n);
    }
    return out;
  };
  const body = walk(fn.body);
  if (!changed) return { fn, callbacks };
  // Callback vregs were numbered while converting; the function continues after all of them.
  const last = Math.max(next, ...callbacks.map((c) => c.nextVReg));
  return { fn: { ...fn, body, frameSize: frame, objects, nextVReg: last }, callbacks };
}
