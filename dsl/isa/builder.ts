/**
 * The chaining assembler builder: `asm().mov64('r1', 'r10').add64('r1', -16)
 * .label('out').exit().build()`. Every method of `insn` exists on it and appends
 * one instruction; `label(name)` names the next instruction. Misuse throws at the
 * call (bad registers, r10 writes, duplicate labels, a dangling label at `build()`).
 */
import { IsaError } from './errors.js';
import type { Instruction } from './instruction.js';
import { checkLabel, insn } from './insn.js';
import { assemble, type AssembleOptions } from './assemble.js';

/** The `insn` constructors as chaining methods that append to the builder. */
export type AsmMethods = {
  [K in keyof typeof insn]: (typeof insn)[K] extends (...args: infer A) => Instruction ? (...args: A) => Asm : never;
};

// Merged with the class below: the methods are installed on the prototype at load time.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Asm extends AsmMethods {}

/** Accumulates instructions and labels; see the module comment. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Asm {
  readonly #insns: Instruction[] = [];
  #pending: string[] = [];
  readonly #labels = new Set<string>();

  /** Appends an already built instruction (pending labels attach to it). */
  emit(i: Instruction): this {
    if (this.#pending.length) {
      const labels = [...(i.meta?.labels ?? []), ...this.#pending];
      i = { ...i, meta: { ...i.meta, labels } };
      this.#pending = [];
    }
    this.#insns.push(i);
    return this;
  }

  /** Names the next instruction emitted; throws if the name is already used. */
  label(name: string): this {
    checkLabel(name);
    if (this.#labels.has(name)) throw new IsaError('ASM_DUPLICATE_LABEL', `label '${name}' is defined twice`);
    this.#labels.add(name);
    this.#pending.push(name);
    return this;
  }

  /** Number of instructions appended so far. */
  get length(): number {
    return this.#insns.length;
  }

  /** The instructions, with labels attached; throws if a label names no instruction. */
  build(): Instruction[] {
    if (this.#pending.length)
      throw new IsaError('ASM_DANGLING_LABEL', `label '${this.#pending[0]}' is not followed by an instruction`);
    return [...this.#insns];
  }

  /** `build()` then `assemble()`: labels resolved, every instruction checked. */
  assemble(options?: AssembleOptions): Instruction[] {
    return assemble(this.build(), options);
  }
}

for (const [name, make] of Object.entries(insn) as [string, (...args: unknown[]) => Instruction][]) {
  Object.defineProperty(Asm.prototype, name, {
    value: function (this: Asm, ...args: unknown[]) {
      return this.emit(make(...args));
    },
    writable: true,
    configurable: true,
  });
}

/** Starts a new builder. */
export function asm(): Asm {
  return new Asm();
}
