import { LDDW } from './opcodes.js';

/** Register names. `r10` is the read-only frame pointer. */
export type Register = 'r0' | 'r1' | 'r2' | 'r3' | 'r4' | 'r5' | 'r6' | 'r7' | 'r8' | 'r9' | 'r10';
/** Registers an instruction may write. */
export type WritableRegister = Exclude<Register, 'r10'>;

/** Where in the user's source an instruction came from (TypeScript or assembly). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The source line's text, carried into BTF line_info. */
  readonly text?: string;
}

/**
 * A symbolic reference an instruction carries until it is resolved.
 * - `label`: jump target (conditional/unconditional jump) resolved at assembly;
 * - `call`: bpf-to-bpf call or `lddw` function address (src 4), by function name;
 * - `map`: `lddw` of a map (fd or value), by map name; patched by loader/ELF reloc;
 * - `global`: `lddw` of a global variable in `.rodata`/`.data`/`.bss`, by symbol,
 *   `offset` bytes into it;
 * - `kfunc`: kfunc call by kernel function name (BTF id filled by the loader).
 */
export type Reference =
  | { readonly kind: 'label'; readonly name: string }
  | { readonly kind: 'call'; readonly name: string }
  | { readonly kind: 'map'; readonly name: string }
  | { readonly kind: 'global'; readonly name: string; readonly offset: number }
  | { readonly kind: 'kfunc'; readonly name: string };

/** Symbolic metadata riding along with an instruction; none of it is encoded. */
export interface InstructionMeta {
  /** Labels that name this instruction (jump targets, function entry). */
  readonly labels?: readonly string[];
  /** Unresolved target of this instruction. */
  readonly ref?: Reference;
  /** Source location that produced this instruction. */
  readonly source?: SourceLocation;
}

/**
 * One eBPF instruction as a plain immutable value. Field values are the raw
 * encoding (`dst`/`src` register numbers, signed `off` and `imm`), except `lddw`,
 * which is a single value whose 64-bit immediate is `imm64` (two slots when
 * encoded; `imm` then holds the low 32 bits, signed).
 */
export interface Instruction {
  readonly opcode: number;
  readonly dst: number;
  readonly src: number;
  /** Signed 16-bit offset. */
  readonly off: number;
  /** Signed 32-bit immediate. */
  readonly imm: number;
  /** Only for `lddw`: the full 64-bit immediate, signed. */
  readonly imm64?: bigint;
  readonly meta?: InstructionMeta;
}

/** Number of 8-byte slots the instruction occupies (2 for `lddw`). */
export function slots(insn: Instruction): 1 | 2 {
  return insn.opcode === LDDW ? 2 : 1;
}

/** Register number of a register name. */
export function regNumber(reg: Register): number {
  return Number(reg.slice(1));
}

/** Register name of a register number (0–10). */
export function regName(n: number): Register {
  return `r${n}` as Register;
}
