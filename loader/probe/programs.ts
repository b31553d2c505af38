/**
 * The small programs the prober loads, as Instruction values encoded by
 * dsl/isa. Each builder returns bytes ready for BPF_PROG_LOAD; map fds are
 * patched in by the caller-supplied arguments.
 */
import { encode } from '../../dsl/isa/codec.js';
import type { Instruction } from '../../dsl/isa/instruction.js';
import { AluOp, CallKind, Class, JmpOp, LDDW, Mode, PseudoSource, Size, Source } from '../../dsl/isa/opcodes.js';

const i = (opcode: number, dst = 0, src = 0, off = 0, imm = 0): Instruction => ({ opcode, dst, src, off, imm });

/** `rD = imm` (64-bit move). */
export const movImm = (dst: number, imm: number) => i(Class.ALU64 | AluOp.MOV | Source.K, dst, 0, 0, imm);
/** `rD = rS`. */
export const movReg = (dst: number, src: number) => i(Class.ALU64 | AluOp.MOV | Source.X, dst, src);
/** `exit`. */
export const exit = () => i(Class.JMP | JmpOp.EXIT);
/** `call helper#id`. */
export const callHelper = (id: number) => i(Class.JMP | JmpOp.CALL, 0, CallKind.HELPER, 0, id);
/** `call pc+rel` (bpf-to-bpf). */
export const callLocal = (rel: number) => i(Class.JMP | JmpOp.CALL, 0, CallKind.PSEUDO_CALL, 0, rel);
/** `lddw rD, map_fd`. */
export const ldMapFd = (dst: number, fd: number): Instruction => ({ ...i(LDDW, dst, PseudoSource.MAP_FD, 0, fd), imm64: BigInt(fd) });
/** `lddw rD, map_value(fd) + off`: the second slot's imm carries the offset. */
export const ldMapValue = (dst: number, fd: number, off: number): Instruction => ({
  ...i(LDDW, dst, PseudoSource.MAP_VALUE, 0, fd),
  imm64: (BigInt(off) << 32n) | BigInt(fd),
});
/** `lddw rD, func(pc+rel)` (callback address for bpf_loop). */
export const ldFunc = (dst: number, rel: number): Instruction => ({ ...i(LDDW, dst, PseudoSource.FUNC, 0, rel), imm64: BigInt(rel) });

/** `r0 = 0; exit` — the program-type probe. */
export function returnZero(): Uint8Array {
  return encode([movImm(0, 0), exit()]);
}

/** `call <id>; r0 = 0; exit` — the helper probe. The call is instruction 0 (imm at byte 4). */
export function helperCall(id: number): Uint8Array {
  return encode([callHelper(id), movImm(0, 0), exit()]);
}

/** `n - 1` times `r0 = 0`, then `exit`: a straight-line program of exactly `n` instructions. */
export function straightLine(n: number): Uint8Array {
  const out = new Uint8Array(n * 8);
  const mov = encode([movImm(0, 0)]);
  for (let k = 0; k < n - 1; k++) out.set(mov, k * 8);
  out.set(encode([exit()]), (n - 1) * 8);
  return out;
}

/** `r0 = 10; loop: r0 -= 1; if r0 != 0 goto loop; exit` — a real bounded loop (back-edge). */
export function boundedLoop(): Uint8Array {
  return encode([
    movImm(0, 10),
    i(Class.ALU64 | AluOp.SUB | Source.K, 0, 0, 0, 1),
    i(Class.JMP | JmpOp.JNE | Source.K, 0, 0, -2, 0),
    exit(),
  ]);
}

/** ISA v2: `if r0 < 1 goto +0` (JLT). */
export function isaV2(): Uint8Array {
  return encode([movImm(0, 0), i(Class.JMP | JmpOp.JLT | Source.K, 0, 0, 0, 1), exit()]);
}

/** ISA v3: `if w0 < 1 goto +0` (JMP32). */
export function isaV3(): Uint8Array {
  return encode([movImm(0, 0), i(Class.JMP32 | JmpOp.JLT | Source.K, 0, 0, 0, 1), exit()]);
}

/** ISA v4: `gotol +0` (JMP32 | JA with a 32-bit imm offset). */
export function isaV4Gotol(): Uint8Array {
  return encode([movImm(0, 0), i(Class.JMP32 | JmpOp.JA, 0, 0, 0, 0), exit()]);
}

/** ISA v4: `r0 = (s8) r1` (MOVSX: off = 8), `r0 s/= 3` (SDIV: off = 1). */
export function isaV4SignExt(): Uint8Array {
  return encode([
    movImm(1, -5),
    i(Class.ALU64 | AluOp.MOV | Source.X, 0, 1, 8, 0),
    i(Class.ALU64 | AluOp.DIV | Source.K, 0, 0, 1, 3),
    movImm(0, 0),
    exit(),
  ]);
}

/** ISA v4 memory: `r0 = *(s8 *)(r10 - 8)` after storing there (LDX | MEMSX). */
export function isaV4Ldsx(): Uint8Array {
  return encode([
    i(Class.ST | Size.DW | Mode.MEM, 10, 0, -8, 0),
    i(Class.LDX | Size.B | Mode.MEMSX, 0, 10, -8, 0),
    movImm(0, 0),
    exit(),
  ]);
}

/** bpf-to-bpf call: `call sub; exit; sub: r0 = 0; exit`. */
export function localCall(): Uint8Array {
  return encode([callLocal(1), exit(), movImm(0, 0), exit()]);
}

/**
 * Tail call from a subprogram: `call sub; exit; sub: r2 = prog_array; r3 = 0;
 * call tail_call; r0 = 0; exit` (r1 still holds the context inside sub).
 */
export function tailCallInSubprog(progArrayFd: number, tailCallId: number): Uint8Array {
  return encode([
    callLocal(1),
    exit(),
    ldMapFd(2, progArrayFd),
    movImm(3, 0),
    callHelper(tailCallId),
    movImm(0, 0),
    exit(),
  ]);
}

/** Plain tail call: `r2 = prog_array; r3 = 0; call tail_call; r0 = 0; exit`. */
export function tailCall(progArrayFd: number, tailCallId: number): Uint8Array {
  return encode([ldMapFd(2, progArrayFd), movImm(3, 0), callHelper(tailCallId), movImm(0, 0), exit()]);
}

/** `bpf_loop(1, cb, 0, 0); r0 = 0; exit; cb: r0 = 0; exit`. */
export function bpfLoop(bpfLoopId: number): Uint8Array {
  return encode([
    movImm(1, 1),
    ldFunc(2, 6),
    movImm(3, 0),
    movImm(4, 0),
    callHelper(bpfLoopId),
    movImm(0, 0),
    exit(),
    movImm(0, 0),
    exit(),
  ]);
}

/** Global data: `r1 = &map_value[0]; r0 = *(u32 *)(r1 + 0); r0 = 0; exit`. */
export function globalData(mapFd: number): Uint8Array {
  return encode([ldMapValue(1, mapFd, 0), i(Class.LDX | Size.W | Mode.MEM, 0, 1, 0, 0), movImm(0, 0), exit()]);
}

/** A program with one subprogram, for func_info/line_info: `call sub; exit; sub: r0 = 0; exit`. */
export function twoFunctions(): Uint8Array {
  return localCall();
}
