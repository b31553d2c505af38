/**
 * Lowering: IR → (profile-driven IR passes) → MIR (linearise) → register
 * allocation → Instructions, checked against the target profile. Passes are plain
 * functions so later stages (tail-call splitting, unroll policies) can be added to
 * the pipeline without touching the rest.
 */
import { assemble, slots, type Instruction } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { IrFunction, LoopNode } from '../ir/index.js';
import { MAX_STACK_BYTES, type TargetProfile } from '../kernel/index.js';
import { lowerBpfLoops } from './bpf-loop.js';
import { emit } from './emit.js';
import { linearize } from './linearize.js';
import { optimize } from './optimize.js';
import { allocate } from './regalloc.js';

export { linearize, prune, fitsImm64, type LinearizeOptions } from './linearize.js';
export { allocate, liveness, type Allocation } from './regalloc.js';
export { emit } from './emit.js';
export { lowerBpfLoops, wantsBpfLoop, BPF_LOOP_HELPER, type BpfLoopResult } from './bpf-loop.js';
export { optimize } from './optimize.js';
export * from './mir.js';

/** The kernel's per-function stack limit. */
export const MAX_STACK = MAX_STACK_BYTES;

/** An IR → IR pass run before linearisation. */
export type IrPass = (fn: IrFunction, profile: TargetProfile) => IrFunction;

/** Options of {@link lowerFunction}. */
export interface LowerOptions {
  readonly profile: TargetProfile;
  /** IR passes, in order. */
  readonly passes?: readonly IrPass[];
  /** Per-loop unroll decision (default: unroll when the profile has no bounded loops). */
  readonly unroll?: (loop: LoopNode, profile: TargetProfile) => boolean;
  /** Run the IR clean-ups and argument rematerialisation (default true; false shows what they save). */
  readonly optimize?: boolean;
  /** Skip the instruction-count check (a splitting pass checks pieces itself). */
  readonly skipSizeCheck?: boolean;
}

/** A lowered function. */
export interface LoweredFunction {
  readonly name: string;
  /** Instructions with jump labels resolved; bpf-to-bpf calls and map/global refs stay symbolic. */
  readonly instructions: Instruction[];
  /** Bytes of stack used (locals and spills). */
  readonly stackSize: number;
  /** Static callback subprograms its `bpf_loop` loops call (see bpf-loop.ts), nested ones included. */
  readonly callbacks?: readonly LoweredFunction[];
}

/** Lowers one function for a target profile. */
export function lowerFunction(input: IrFunction, options: LowerOptions): LoweredFunction {
  let fn = input;
  for (const pass of options.passes ?? []) fn = pass(fn, options.profile);
  const loops = lowerBpfLoops(fn, options.profile);
  fn = loops.fn;
  const callbacks = loops.callbacks.flatMap((c) => {
    const low = lowerFunction(c, { ...options, passes: [] });
    return [{ ...low, callbacks: [] }, ...(low.callbacks ?? [])];
  });
  for (const o of fn.objects) {
    if (-o.off > MAX_STACK)
      throw new DslError('DSL_STACK_OVERFLOW', `stack frame of ${fn.name} exceeds ${MAX_STACK} bytes: this local ends at ${-o.off} bytes`, o.src);
  }
  const tidy = options.optimize ?? true;
  if (tidy) fn = optimize(fn);
  const { code, nextVReg } = linearize(fn, { profile: options.profile, unroll: options.unroll, rematerialise: tidy });
  const spillBase = Math.ceil(fn.frameSize / 8) * 8;
  const alloc = allocate(code, nextVReg, spillBase, MAX_STACK);
  const raw = emit(alloc.code, fn.kind === 'subprogram' ? fn.name : undefined);
  let instructions: Instruction[];
  try {
    instructions = assemble(raw, { isa: options.profile.isa });
  } catch (e) {
    throw new DslError('DSL_ASSEMBLE', `${fn.name}: ${(e as Error).message}`, fn.src);
  }
  const count = instructions.reduce((n, i) => n + slots(i), 0);
  if (!options.skipSizeCheck && count > options.profile.maxInsns)
    throw new DslError('DSL_TOO_BIG', `${fn.name} has ${count} instruction slots, above the ${options.profile.maxInsns} target ${options.profile.name} allows`, fn.src);
  return { name: fn.name, instructions, stackSize: spillBase + alloc.spillSlots * 8, ...(callbacks.length ? { callbacks } : {}) };
}
