/**
 * Opcode field values of the eBPF instruction set (RFC 9669 plus the kernel's
 * extensions). The opcode byte is `class | op | source` for ALU/JMP classes and
 * `class | size | mode` for load/store classes.
 */

/** Instruction classes (low 3 bits of the opcode). */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;
export type Class = (typeof Class)[keyof typeof Class];

/** Operand source bit for ALU/JMP classes: immediate (K) or register (X). */
export const Source = { K: 0x00, X: 0x08 } as const;
export type Source = (typeof Source)[keyof typeof Source];

/** ALU operations (high 4 bits). END is the byte-swap family. */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;
export type AluOp = (typeof AluOp)[keyof typeof AluOp];

/** Jump operations (high 4 bits). */
export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
  /** Conditional pseudo-jump (`may_goto`, kernel 6.9): JMP class, K source, src = 0. */
  JCOND: 0xe0,
} as const;
export type JmpOp = (typeof JmpOp)[keyof typeof JmpOp];

/** Access sizes for load/store classes (bits 3–4). */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;
export type Size = (typeof Size)[keyof typeof Size];

/** Byte width of each access size. */
export const sizeBytes: Record<Size, 1 | 2 | 4 | 8> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };

/** Memory modes for load/store classes (bits 5–7). */
export const Mode = {
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** Atomic operations, carried in `imm` of a `STX | ATOMIC` instruction. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  /** Flag: also return the old value in the source register. */
  FETCH: 0x01,
  XCHG: 0xe1,
  CMPXCHG: 0xf1,
} as const;

/** `src` of `lddw` (BPF_LD | BPF_IMM | BPF_DW): how the kernel interprets imm. */
export const PseudoSource = {
  IMM64: 0,
  MAP_FD: 1,
  MAP_VALUE: 2,
  BTF_ID: 3,
  FUNC: 4,
  MAP_IDX: 5,
  MAP_IDX_VALUE: 6,
} as const;
export type PseudoSource = (typeof PseudoSource)[keyof typeof PseudoSource];

/**
 * `off` of an ALU64 `MOV | X` that is an address-space cast (kernel 6.9, arena
 * pointers): `imm = dst_as << 16 | src_as`. LLVM: `rD = addr_space_cast(rS, dst_as, src_as)`.
 */
export const ADDR_SPACE_CAST_OFF = 1;

/** `src` of a CALL instruction: helper id, relative bpf-to-bpf call, or kfunc BTF id. */
export const CallKind = { HELPER: 0, PSEUDO_CALL: 1, KFUNC: 2 } as const;
export type CallKind = (typeof CallKind)[keyof typeof CallKind];

/** The `lddw` opcode: class LD, size DW, mode IMM. Occupies two slots. */
export const LDDW = Class.LD | Size.DW | Mode.IMM;
