/**
 * Pure constructors for every instruction of RFC 9669 plus the kernel's
 * extensions. Each returns one `Instruction` value (with the caller's source
 * location) and throws `IsaError` synchronously on misuse: bad register names,
 * writes to r10, out-of-range immediates/offsets, unsupported widths.
 *
 * Naming follows the usual BPF mnemonics: `add64`/`add32` (ALU64/ALU), `jeq`
 * (64-bit compare) / `jeq32` (JMP32), `ldxw` (load word), `stxdw` (store dword
 * from register), `stw` (store word immediate), `ldxsh` (sign-extending load).
 */
import { IsaError } from './errors.js';
import type { Instruction, InstructionMeta, Reference, Register, WritableRegister } from './instruction.js';
import { ADDR_SPACE_CAST_OFF, AluOp, AtomicOp, CallKind, Class, JmpOp, LDDW, Mode, PseudoSource, Size, Source } from './opcodes.js';
import { callerLocation } from './source.js';

/** A register or a 32-bit immediate (values up to 0xffffffff wrap to their signed form). */
export type Operand = Register | number;
/** A jump target: a label name (resolved by `assemble()`) or a raw slot offset. */
export type JumpTarget = string | number;

const registerNames = new Set(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10']);
const labelPattern = /^[A-Za-z_.$][\w.$]*$/;

/** Checks a register name; returns its number. */
function reg(r: unknown, role: string): number {
  if (typeof r !== 'string' || !registerNames.has(r)) throw new IsaError('ISA_REGISTER', `${role}: '${String(r)}' is not a register (r0–r10)`);
  return Number(r.slice(1));
}

/** Checks a register the instruction writes; r10 is the read-only frame pointer. */
function wreg(r: unknown, role: string): number {
  const n = reg(r, role);
  if (n === 10) throw new IsaError('ISA_WRITE_R10', `${role}: r10 is the read-only frame pointer and cannot be written`);
  return n;
}

/** Checks a 32-bit immediate; accepts signed or unsigned 32-bit values, returns the signed form. */
function imm32(v: unknown, role: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff)
    throw new IsaError('ISA_IMMEDIATE', `${role}: ${String(v)} is not a 32-bit integer`);
  return v | 0;
}

/** Checks a signed 16-bit offset. */
function off16(v: unknown, role: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -32768 || v > 32767)
    throw new IsaError('ISA_OFFSET', `${role}: ${String(v)} is not a signed 16-bit offset`);
  return v;
}

/** Checks a label name (the assembly-text identifier syntax). */
export function checkLabel(name: unknown, role = 'label'): string {
  if (typeof name !== 'string' || !labelPattern.test(name))
    throw new IsaError('ISA_LABEL', `${role}: '${String(name)}' is not a valid label name`);
  return name;
}

function make(
  opcode: number,
  dst: number,
  src: number,
  off: number,
  imm: number,
  extra?: { imm64?: bigint; ref?: Reference },
): Instruction {
  const meta: InstructionMeta = {};
  const source = callerLocation();
  if (extra?.ref) (meta as { ref?: Reference }).ref = extra.ref;
  if (source) (meta as { source?: typeof source }).source = source;
  const insn: { -readonly [K in keyof Instruction]: Instruction[K] } = { opcode, dst, src, off, imm };
  if (extra?.imm64 !== undefined) insn.imm64 = extra.imm64;
  if (meta.ref || meta.source) insn.meta = meta;
  return insn;
}

// ---- ALU -------------------------------------------------------------------

function alu(cls: number, op: number, name: string, offField = 0) {
  return (dst: WritableRegister, src: Operand): Instruction => {
    const d = wreg(dst, `${name} destination`);
    if (typeof src === 'string') return make(cls | op | Source.X, d, reg(src, `${name} source`), offField, 0);
    return make(cls | op | Source.K, d, 0, offField, imm32(src, `${name} immediate`));
  };
}

function neg(cls: number, name: string) {
  return (dst: WritableRegister): Instruction => make(cls | AluOp.NEG, wreg(dst, `${name} destination`), 0, 0, 0);
}

function swap(opcode: number, name: string) {
  return (dst: WritableRegister, bits: 16 | 32 | 64): Instruction => {
    if (bits !== 16 && bits !== 32 && bits !== 64) throw new IsaError('ISA_WIDTH', `${name}: width must be 16, 32 or 64, not ${String(bits)}`);
    return make(opcode, wreg(dst, `${name} destination`), 0, 0, bits);
  };
}

// ---- jumps -----------------------------------------------------------------

function target(t: JumpTarget, name: string): { off: number; ref?: Reference } {
  if (typeof t === 'string') return { off: 0, ref: { kind: 'label', name: checkLabel(t, `${name} target`) } };
  return { off: off16(t, `${name} offset`) };
}

function jcond(cls: number, op: number, name: string) {
  return (dst: Register, src: Operand, to: JumpTarget): Instruction => {
    const d = reg(dst, `${name} left operand`);
    const { off, ref } = target(to, name);
    const extra = ref ? { ref } : undefined;
    if (typeof src === 'string') return make(cls | op | Source.X, d, reg(src, `${name} right operand`), off, 0, extra);
    return make(cls | op | Source.K, d, 0, off, imm32(src, `${name} immediate`), extra);
  };
}

// ---- memory ----------------------------------------------------------------

function ldx(size: number, mode: number, name: string) {
  return (dst: WritableRegister, src: Register, off: number): Instruction =>
    make(Class.LDX | size | mode, wreg(dst, `${name} destination`), reg(src, `${name} base`), off16(off, `${name} offset`), 0);
}

function st(size: number, name: string) {
  return (dst: Register, off: number, imm: number): Instruction =>
    make(Class.ST | size | Mode.MEM, reg(dst, `${name} base`), 0, off16(off, `${name} offset`), imm32(imm, `${name} immediate`));
}

function stx(size: number, name: string) {
  return (dst: Register, off: number, src: Register): Instruction =>
    make(Class.STX | size | Mode.MEM, reg(dst, `${name} base`), reg(src, `${name} source`), off16(off, `${name} offset`), 0);
}

/** Atomic read-modify-write of `*(dst + off)` with `src`; never writes a register. */
function atomic(size: number, op: number, name: string) {
  return (dst: Register, off: number, src: Register): Instruction =>
    make(Class.STX | size | Mode.ATOMIC, reg(dst, `${name} base`), reg(src, `${name} source`), off16(off, `${name} offset`), op);
}

/** Fetching atomics (and xchg) also write the old value into `src`, so it must be writable. */
function atomicFetch(size: number, op: number, name: string) {
  return (dst: Register, off: number, src: WritableRegister): Instruction =>
    make(Class.STX | size | Mode.ATOMIC, reg(dst, `${name} base`), wreg(src, `${name} source (receives the old value)`), off16(off, `${name} offset`), op);
}

function ldabs(size: number, name: string) {
  return (imm: number): Instruction => make(Class.LD | size | Mode.ABS, 0, 0, 0, imm32(imm, `${name} offset`));
}

function ldind(size: number, name: string) {
  return (src: Register, imm: number): Instruction =>
    make(Class.LD | size | Mode.IND, 0, reg(src, `${name} index register`), 0, imm32(imm, `${name} offset`));
}

// ---- lddw ------------------------------------------------------------------

function lddwRaw(dst: number, src: number, value: bigint, ref?: Reference): Instruction {
  const imm64 = BigInt.asIntN(64, value);
  return make(LDDW, dst, src, 0, Number(BigInt.asIntN(32, imm64)), ref ? { imm64, ref } : { imm64 });
}

function u32(v: unknown, role: string): bigint {
  return BigInt(imm32(v, role) >>> 0);
}

/** Pure instruction constructors; see the module comment for naming. */
export const insn = {
  // ALU64 (64-bit) and ALU (32-bit; writes zero-extend into the 64-bit register)
  add64: alu(Class.ALU64, AluOp.ADD, 'add64'),
  sub64: alu(Class.ALU64, AluOp.SUB, 'sub64'),
  mul64: alu(Class.ALU64, AluOp.MUL, 'mul64'),
  div64: alu(Class.ALU64, AluOp.DIV, 'div64'),
  sdiv64: alu(Class.ALU64, AluOp.DIV, 'sdiv64', 1),
  or64: alu(Class.ALU64, AluOp.OR, 'or64'),
  and64: alu(Class.ALU64, AluOp.AND, 'and64'),
  lsh64: alu(Class.ALU64, AluOp.LSH, 'lsh64'),
  rsh64: alu(Class.ALU64, AluOp.RSH, 'rsh64'),
  arsh64: alu(Class.ALU64, AluOp.ARSH, 'arsh64'),
  mod64: alu(Class.ALU64, AluOp.MOD, 'mod64'),
  smod64: alu(Class.ALU64, AluOp.MOD, 'smod64', 1),
  xor64: alu(Class.ALU64, AluOp.XOR, 'xor64'),
  mov64: alu(Class.ALU64, AluOp.MOV, 'mov64'),
  neg64: neg(Class.ALU64, 'neg64'),
  add32: alu(Class.ALU, AluOp.ADD, 'add32'),
  sub32: alu(Class.ALU, AluOp.SUB, 'sub32'),
  mul32: alu(Class.ALU, AluOp.MUL, 'mul32'),
  div32: alu(Class.ALU, AluOp.DIV, 'div32'),
  sdiv32: alu(Class.ALU, AluOp.DIV, 'sdiv32', 1),
  or32: alu(Class.ALU, AluOp.OR, 'or32'),
  and32: alu(Class.ALU, AluOp.AND, 'and32'),
  lsh32: alu(Class.ALU, AluOp.LSH, 'lsh32'),
  rsh32: alu(Class.ALU, AluOp.RSH, 'rsh32'),
  arsh32: alu(Class.ALU, AluOp.ARSH, 'arsh32'),
  mod32: alu(Class.ALU, AluOp.MOD, 'mod32'),
  smod32: alu(Class.ALU, AluOp.MOD, 'smod32', 1),
  xor32: alu(Class.ALU, AluOp.XOR, 'xor32'),
  mov32: alu(Class.ALU, AluOp.MOV, 'mov32'),
  neg32: neg(Class.ALU, 'neg32'),
  /** Sign-extending 64-bit move from the low 8/16/32 bits of `src` (v4). */
  movsx64(dst: WritableRegister, src: Register, bits: 8 | 16 | 32): Instruction {
    if (bits !== 8 && bits !== 16 && bits !== 32) throw new IsaError('ISA_WIDTH', `movsx64: width must be 8, 16 or 32, not ${String(bits)}`);
    return make(Class.ALU64 | AluOp.MOV | Source.X, wreg(dst, 'movsx64 destination'), reg(src, 'movsx64 source'), bits, 0);
  },
  /** Sign-extending 32-bit move from the low 8/16 bits of `src` (v4). */
  movsx32(dst: WritableRegister, src: Register, bits: 8 | 16): Instruction {
    if (bits !== 8 && bits !== 16) throw new IsaError('ISA_WIDTH', `movsx32: width must be 8 or 16, not ${String(bits)}`);
    return make(Class.ALU | AluOp.MOV | Source.X, wreg(dst, 'movsx32 destination'), reg(src, 'movsx32 source'), bits, 0);
  },
  /** Address-space cast of an arena pointer (kernel 6.9): `dst = (as dstAs)(as srcAs) src`. */
  addrSpaceCast(dst: WritableRegister, src: Register, dstAs: number, srcAs: number): Instruction {
    for (const [v, role] of [[dstAs, 'destination'], [srcAs, 'source']] as const)
      if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new IsaError('ISA_IMMEDIATE', `addrSpaceCast: ${role} address space ${v} is not 0–65535`);
    return make(Class.ALU64 | AluOp.MOV | Source.X, wreg(dst, 'addrSpaceCast destination'), reg(src, 'addrSpaceCast source'), ADDR_SPACE_CAST_OFF, ((dstAs << 16) | srcAs) | 0);
  },
  /** Convert to little endian (no-op on a little-endian machine apart from truncation). */
  le: swap(Class.ALU | AluOp.END | Source.K, 'le'),
  /** Convert to big endian (network byte order). */
  be: swap(Class.ALU | AluOp.END | Source.X, 'be'),
  /** Unconditional byte swap (v4). */
  bswap: swap(Class.ALU64 | AluOp.END | Source.K, 'bswap'),

  // JMP (64-bit compares) and JMP32 (compare low 32 bits)
  jeq: jcond(Class.JMP, JmpOp.JEQ, 'jeq'),
  jgt: jcond(Class.JMP, JmpOp.JGT, 'jgt'),
  jge: jcond(Class.JMP, JmpOp.JGE, 'jge'),
  jset: jcond(Class.JMP, JmpOp.JSET, 'jset'),
  jne: jcond(Class.JMP, JmpOp.JNE, 'jne'),
  jsgt: jcond(Class.JMP, JmpOp.JSGT, 'jsgt'),
  jsge: jcond(Class.JMP, JmpOp.JSGE, 'jsge'),
  jlt: jcond(Class.JMP, JmpOp.JLT, 'jlt'),
  jle: jcond(Class.JMP, JmpOp.JLE, 'jle'),
  jslt: jcond(Class.JMP, JmpOp.JSLT, 'jslt'),
  jsle: jcond(Class.JMP, JmpOp.JSLE, 'jsle'),
  jeq32: jcond(Class.JMP32, JmpOp.JEQ, 'jeq32'),
  jgt32: jcond(Class.JMP32, JmpOp.JGT, 'jgt32'),
  jge32: jcond(Class.JMP32, JmpOp.JGE, 'jge32'),
  jset32: jcond(Class.JMP32, JmpOp.JSET, 'jset32'),
  jne32: jcond(Class.JMP32, JmpOp.JNE, 'jne32'),
  jsgt32: jcond(Class.JMP32, JmpOp.JSGT, 'jsgt32'),
  jsge32: jcond(Class.JMP32, JmpOp.JSGE, 'jsge32'),
  jlt32: jcond(Class.JMP32, JmpOp.JLT, 'jlt32'),
  jle32: jcond(Class.JMP32, JmpOp.JLE, 'jle32'),
  jslt32: jcond(Class.JMP32, JmpOp.JSLT, 'jslt32'),
  jsle32: jcond(Class.JMP32, JmpOp.JSLE, 'jsle32'),
  /** Unconditional jump (16-bit offset; `assemble()` may widen it to `gotol`). */
  ja(to: JumpTarget): Instruction {
    const { off, ref } = target(to, 'ja');
    return make(Class.JMP | JmpOp.JA, 0, 0, off, 0, ref ? { ref } : undefined);
  },
  /** Unconditional jump with a 32-bit offset in `imm` (v4). */
  gotol(to: JumpTarget): Instruction {
    if (typeof to === 'string') return make(Class.JMP32 | JmpOp.JA, 0, 0, 0, 0, { ref: { kind: 'label', name: checkLabel(to, 'gotol target') } });
    return make(Class.JMP32 | JmpOp.JA, 0, 0, 0, imm32(to, 'gotol offset'));
  },
  /** `may_goto` (kernel 6.9): jump unless the verifier-managed loop budget is exhausted. */
  mayGoto(to: JumpTarget): Instruction {
    const { off, ref } = target(to, 'mayGoto');
    return make(Class.JMP | JmpOp.JCOND, 0, 0, off, 0, ref ? { ref } : undefined);
  },
  /** Call a helper function by id. */
  call(helperId: number): Instruction {
    return make(Class.JMP | JmpOp.CALL, 0, CallKind.HELPER, 0, imm32(helperId, 'call helper id'));
  },
  /** Bpf-to-bpf call: by function/label name (resolved later) or raw relative slot offset. */
  callFunc(fn: string | number): Instruction {
    if (typeof fn === 'string')
      return make(Class.JMP | JmpOp.CALL, 0, CallKind.PSEUDO_CALL, 0, -1, { ref: { kind: 'call', name: checkLabel(fn, 'callFunc target') } });
    return make(Class.JMP | JmpOp.CALL, 0, CallKind.PSEUDO_CALL, 0, imm32(fn, 'callFunc offset'));
  },
  /** Kfunc call: by kernel function name (BTF id filled by the loader) or BTF id. */
  kfunc(fn: string | number): Instruction {
    if (typeof fn === 'string') {
      if (fn.length === 0) throw new IsaError('ISA_LABEL', 'kfunc: empty function name');
      return make(Class.JMP | JmpOp.CALL, 0, CallKind.KFUNC, 0, 0, { ref: { kind: 'kfunc', name: fn } });
    }
    return make(Class.JMP | JmpOp.CALL, 0, CallKind.KFUNC, 0, imm32(fn, 'kfunc BTF id'));
  },
  /** Return r0 to the caller. */
  exit(): Instruction {
    return make(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0);
  },

  // loads and stores
  ldxb: ldx(Size.B, Mode.MEM, 'ldxb'),
  ldxh: ldx(Size.H, Mode.MEM, 'ldxh'),
  ldxw: ldx(Size.W, Mode.MEM, 'ldxw'),
  ldxdw: ldx(Size.DW, Mode.MEM, 'ldxdw'),
  /** Sign-extending loads (v4). */
  ldxsb: ldx(Size.B, Mode.MEMSX, 'ldxsb'),
  ldxsh: ldx(Size.H, Mode.MEMSX, 'ldxsh'),
  ldxsw: ldx(Size.W, Mode.MEMSX, 'ldxsw'),
  stb: st(Size.B, 'stb'),
  sth: st(Size.H, 'sth'),
  stw: st(Size.W, 'stw'),
  stdw: st(Size.DW, 'stdw'),
  stxb: stx(Size.B, 'stxb'),
  stxh: stx(Size.H, 'stxh'),
  stxw: stx(Size.W, 'stxw'),
  stxdw: stx(Size.DW, 'stxdw'),

  // atomics: *(dst + off) op= src; fetch forms also put the old value in src;
  // cmpxchg compares with r0 and puts the old value in r0.
  atomicAdd32: atomic(Size.W, AtomicOp.ADD, 'atomicAdd32'),
  atomicOr32: atomic(Size.W, AtomicOp.OR, 'atomicOr32'),
  atomicAnd32: atomic(Size.W, AtomicOp.AND, 'atomicAnd32'),
  atomicXor32: atomic(Size.W, AtomicOp.XOR, 'atomicXor32'),
  atomicFetchAdd32: atomicFetch(Size.W, AtomicOp.ADD | AtomicOp.FETCH, 'atomicFetchAdd32'),
  atomicFetchOr32: atomicFetch(Size.W, AtomicOp.OR | AtomicOp.FETCH, 'atomicFetchOr32'),
  atomicFetchAnd32: atomicFetch(Size.W, AtomicOp.AND | AtomicOp.FETCH, 'atomicFetchAnd32'),
  atomicFetchXor32: atomicFetch(Size.W, AtomicOp.XOR | AtomicOp.FETCH, 'atomicFetchXor32'),
  atomicXchg32: atomicFetch(Size.W, AtomicOp.XCHG, 'atomicXchg32'),
  atomicCmpxchg32: atomic(Size.W, AtomicOp.CMPXCHG, 'atomicCmpxchg32'),
  atomicAdd64: atomic(Size.DW, AtomicOp.ADD, 'atomicAdd64'),
  atomicOr64: atomic(Size.DW, AtomicOp.OR, 'atomicOr64'),
  atomicAnd64: atomic(Size.DW, AtomicOp.AND, 'atomicAnd64'),
  atomicXor64: atomic(Size.DW, AtomicOp.XOR, 'atomicXor64'),
  atomicFetchAdd64: atomicFetch(Size.DW, AtomicOp.ADD | AtomicOp.FETCH, 'atomicFetchAdd64'),
  atomicFetchOr64: atomicFetch(Size.DW, AtomicOp.OR | AtomicOp.FETCH, 'atomicFetchOr64'),
  atomicFetchAnd64: atomicFetch(Size.DW, AtomicOp.AND | AtomicOp.FETCH, 'atomicFetchAnd64'),
  atomicFetchXor64: atomicFetch(Size.DW, AtomicOp.XOR | AtomicOp.FETCH, 'atomicFetchXor64'),
  atomicXchg64: atomicFetch(Size.DW, AtomicOp.XCHG, 'atomicXchg64'),
  atomicCmpxchg64: atomic(Size.DW, AtomicOp.CMPXCHG, 'atomicCmpxchg64'),

  // legacy packet loads (socket filters): r0 = ntoh(*(size *)(skb->data + imm [+ src]))
  ldabsb: ldabs(Size.B, 'ldabsb'),
  ldabsh: ldabs(Size.H, 'ldabsh'),
  ldabsw: ldabs(Size.W, 'ldabsw'),
  ldindb: ldind(Size.B, 'ldindb'),
  ldindh: ldind(Size.H, 'ldindh'),
  ldindw: ldind(Size.W, 'ldindw'),

  // lddw (two slots) with each pseudo source
  /** Load a 64-bit immediate. */
  lddw(dst: WritableRegister, value: bigint | number): Instruction {
    const d = wreg(dst, 'lddw destination');
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new IsaError('ISA_IMMEDIATE', `lddw: ${value} is not a safe integer; pass a bigint`);
    const v = BigInt(value);
    if (v < -(1n << 63n) || v >= 1n << 64n) throw new IsaError('ISA_IMMEDIATE', `lddw: ${v} does not fit in 64 bits`);
    return lddwRaw(d, PseudoSource.IMM64, v);
  },
  /** Load a map pointer: by map name (relocated later) or by raw fd (src 1). */
  ldMapFd(dst: WritableRegister, map: string | number): Instruction {
    const d = wreg(dst, 'ldMapFd destination');
    if (typeof map === 'string') return lddwRaw(d, PseudoSource.MAP_FD, 0n, { kind: 'map', name: checkLabel(map, 'ldMapFd map') });
    return lddwRaw(d, PseudoSource.MAP_FD, u32(map, 'ldMapFd fd'));
  },
  /** Load the address of `offset` bytes into a map's value (src 2; array maps). */
  ldMapValue(dst: WritableRegister, map: string | number, offset: number): Instruction {
    const d = wreg(dst, 'ldMapValue destination');
    const hi = u32(offset, 'ldMapValue offset') << 32n;
    if (typeof map === 'string') return lddwRaw(d, PseudoSource.MAP_VALUE, hi, { kind: 'map', name: checkLabel(map, 'ldMapValue map') });
    return lddwRaw(d, PseudoSource.MAP_VALUE, hi | u32(map, 'ldMapValue fd'));
  },
  /** Load the address of a global variable (`.rodata`/`.data`/`.bss`), as a map value (src 2). */
  ldGlobal(dst: WritableRegister, symbol: string, offset = 0): Instruction {
    const d = wreg(dst, 'ldGlobal destination');
    const off = imm32(offset, 'ldGlobal offset');
    return lddwRaw(d, PseudoSource.MAP_VALUE, BigInt(off >>> 0) << 32n, { kind: 'global', name: checkLabel(symbol, 'ldGlobal symbol'), offset: off });
  },
  /** Load the address of a kernel variable by BTF id (src 3). */
  ldBtfId(dst: WritableRegister, btfId: number): Instruction {
    return lddwRaw(wreg(dst, 'ldBtfId destination'), PseudoSource.BTF_ID, u32(btfId, 'ldBtfId id'));
  },
  /** Load the address of a BPF function (src 4), for callbacks: by name or relative slot offset. */
  ldFunc(dst: WritableRegister, fn: string | number): Instruction {
    const d = wreg(dst, 'ldFunc destination');
    if (typeof fn === 'string') return lddwRaw(d, PseudoSource.FUNC, 0n, { kind: 'call', name: checkLabel(fn, 'ldFunc target') });
    return lddwRaw(d, PseudoSource.FUNC, BigInt(imm32(fn, 'ldFunc offset')) & 0xffffffffn);
  },
  /** Load a map pointer by index into the program's fd array (src 5). */
  ldMapIdx(dst: WritableRegister, index: number): Instruction {
    return lddwRaw(wreg(dst, 'ldMapIdx destination'), PseudoSource.MAP_IDX, u32(index, 'ldMapIdx index'));
  },
  /** Load a map value address by fd-array index plus offset (src 6). */
  ldMapIdxValue(dst: WritableRegister, index: number, offset: number): Instruction {
    return lddwRaw(
      wreg(dst, 'ldMapIdxValue destination'),
      PseudoSource.MAP_IDX_VALUE,
      (u32(offset, 'ldMapIdxValue offset') << 32n) | u32(index, 'ldMapIdxValue index'),
    );
  },
} as const;

/** Names of every instruction constructor. */
export type InsnName = keyof typeof insn;
