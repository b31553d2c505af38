/**
 * The code a split adds around the original instructions: the exit stub that
 * saves live values to the per-CPU scratch map and tail-calls the next piece, the
 * prologue of a piece (look up the scratch value, dispatch on the resume id) and
 * the restore block of each resume point. Built as plain Instruction values with
 * label references, the source location of the cut attached to every one.
 */
import { AluOp, Class, JmpOp, LDDW, Mode, PseudoSource, Size, Source, type Instruction, type InstructionMeta, type SourceLocation } from '../isa/index.js';
import type { Carried, CtxHome } from './carry.js';
import { STACK_SLOTS, slotOffset, TAIL_CALL_HELPER } from './analysis.js';

const MAP_LOOKUP_ELEM = 1;

/** Emits instructions with a shared source location. */
export class StubWriter {
  readonly out: Instruction[] = [];
  #labels: string[] = [];
  constructor(private readonly source: SourceLocation | undefined) {}

  private push(opcode: number, dst: number, src: number, off: number, imm: number, extra: Partial<Instruction> = {}, ref?: InstructionMeta['ref']): this {
    const meta: { labels?: string[]; ref?: InstructionMeta['ref']; source?: SourceLocation } = {};
    if (this.#labels.length) (meta.labels = this.#labels), (this.#labels = []);
    if (ref) meta.ref = ref;
    if (this.source) meta.source = this.source;
    this.out.push({ opcode, dst, src, off, imm, ...extra, meta });
    return this;
  }
  label(name: string): this {
    this.#labels.push(name);
    return this;
  }
  movReg(dst: number, src: number): this {
    return dst === src ? this : this.push(Class.ALU64 | AluOp.MOV | Source.X, dst, src, 0, 0);
  }
  movImm(dst: number, value: bigint): this {
    if (value >= -0x80000000n && value <= 0x7fffffffn) return this.push(Class.ALU64 | AluOp.MOV | Source.K, dst, 0, 0, Number(value));
    const v = BigInt.asIntN(64, value);
    return this.push(LDDW, dst, PseudoSource.IMM64, 0, Number(BigInt.asIntN(32, v)), { imm64: v });
  }
  rsh(dst: number, imm: number): this {
    return this.push(Class.ALU64 | AluOp.RSH | Source.K, dst, 0, 0, imm);
  }
  lsh(dst: number, imm: number): this {
    return this.push(Class.ALU64 | AluOp.LSH | Source.K, dst, 0, 0, imm);
  }
  or(dst: number, src: number): this {
    return this.push(Class.ALU64 | AluOp.OR | Source.X, dst, src, 0, 0);
  }
  addImm(dst: number, imm: number): this {
    return imm === 0 ? this : this.push(Class.ALU64 | AluOp.ADD | Source.K, dst, 0, 0, imm);
  }
  frameAddr(dst: number, off: number): this {
    return this.movReg(dst, 10).addImm(dst, off);
  }
  ldx(size: 1 | 2 | 4 | 8, dst: number, base: number, off: number): this {
    return this.push(Class.LDX | sizeCode(size) | Mode.MEM, dst, base, off, 0);
  }
  stx(size: 1 | 2 | 4 | 8, base: number, off: number, src: number): this {
    return this.push(Class.STX | sizeCode(size) | Mode.MEM, base, src, off, 0);
  }
  stImm(size: 4 | 8, base: number, off: number, imm: number): this {
    return this.push(Class.ST | sizeCode(size) | Mode.MEM, base, 0, off, imm);
  }
  mapRef(dst: number, map: string): this {
    return this.push(LDDW, dst, PseudoSource.MAP_FD, 0, 0, { imm64: 0n }, { kind: 'map', name: map });
  }
  call(helper: number): this {
    return this.push(Class.JMP | JmpOp.CALL, 0, 0, 0, helper);
  }
  jgtReg(dst: number, src: number, label: string): this {
    return this.push(Class.JMP | JmpOp.JGT | Source.X, dst, src, 0, 0, {}, { kind: 'label', name: label });
  }
  jeqImm(reg: number, imm: number, label: string): this {
    return this.push(Class.JMP | JmpOp.JEQ | Source.K, reg, 0, 0, imm, {}, { kind: 'label', name: label });
  }
  ja(label: string): this {
    return this.push(Class.JMP | JmpOp.JA, 0, 0, 0, 0, {}, { kind: 'label', name: label });
  }
  exit(): this {
    return this.push(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0);
  }
}

function sizeCode(size: 1 | 2 | 4 | 8): number {
  return size === 8 ? Size.DW : size === 4 ? Size.W : size === 2 ? Size.H : Size.B;
}

/** Splits a byte mask into naturally aligned chunks of set bits: [byte, size]. */
export function maskChunks(mask: number): [number, 1 | 2 | 4 | 8][] {
  if (mask === 0xff) return [[0, 8]];
  const out: [number, 1 | 2 | 4 | 8][] = [];
  let b = 0;
  while (b < 8) {
    if (!(mask & (1 << b))) {
      b++;
      continue;
    }
    let size: 1 | 2 | 4 = 1;
    for (const s of [4, 2] as const) {
      const bits = ((1 << s) - 1) << b;
      if (b % s === 0 && (mask & bits) === bits) {
        size = s;
        break;
      }
    }
    out.push([b, size]);
    b += size;
  }
  return out;
}

/** Names the generated code refers to. */
export interface StubNames {
  readonly scratchMap: string;
  readonly progArray: string;
  /** Label of the piece's shared "tail call failed" block (return the default). */
  readonly fail: string;
}

/** Free 8-byte stack slots (frame offsets), highest first, avoiding `busy`. */
function freeSlots(busy: bigint, count: number): number[] | undefined {
  const out: number[] = [];
  for (let s = STACK_SLOTS - 1; s >= 0 && out.length < count; s--) if (!((busy >> BigInt(s)) & 1n)) out.push(slotOffset(s));
  return out.length === count ? out : undefined;
}

/**
 * The exit stub for resume point `id` in piece `piece`: save, write the id, tail
 * call. Returns undefined when the stack has no room for the key and stashes.
 */
export function exitStub(
  w: StubWriter,
  p: { readonly id: number; readonly piece: number; readonly carried: readonly Carried[]; readonly ctxHome: CtxHome; readonly busySlots: bigint },
  names: StubNames,
): boolean {
  // Values in r0–r5 would be lost to the lookup call: stash them in free slots first.
  const stashRegs = new Set<number>();
  for (const c of p.carried) if (c.how === 'reg' && c.reg <= 5) stashRegs.add(c.reg);
  if ('reg' in p.ctxHome && p.ctxHome.reg <= 5) stashRegs.add(p.ctxHome.reg);
  const slots = freeSlots(p.busySlots, stashRegs.size + 1);
  if (!slots) return false;
  const keyOff = slots[0]!;
  const stash = new Map<number, number>();
  [...stashRegs].sort((a, b) => a - b).forEach((r, i) => stash.set(r, slots[i + 1]!));
  for (const [r, off] of stash) w.stx(8, 10, off, r);
  w.stImm(4, 10, keyOff, 0);
  w.mapRef(1, names.scratchMap).frameAddr(2, keyOff).call(MAP_LOOKUP_ELEM).jeqImm(0, 0, names.fail);
  w.stImm(8, 0, 0, p.id);
  for (const c of p.carried) {
    if (c.how === 'reg') {
      const off = stash.get(c.reg);
      if (off !== undefined) w.ldx(8, 1, 10, off).stx(8, 0, c.at, 1);
      else w.stx(8, 0, c.at, c.reg);
    } else if (c.how === 'stack') {
      for (const [b, size] of maskChunks(c.mask)) w.ldx(size, 1, 10, c.off + b).stx(size, 0, c.at + b, 1);
    }
  }
  if ('reg' in p.ctxHome) {
    const off = stash.get(p.ctxHome.reg);
    if (off !== undefined) w.ldx(8, 1, 10, off);
    else w.movReg(1, p.ctxHome.reg);
  } else w.ldx(8, 1, 10, p.ctxHome.off);
  w.mapRef(2, names.progArray).movImm(3, BigInt(p.piece)).call(TAIL_CALL_HELPER).ja(names.fail);
  return true;
}

/** Register that keeps the context across the prologue's lookup call. */
export const PROLOGUE_CTX = 6;
/** Frame offset of the lookup key in a piece prologue (overwritten later by restores, which is fine). */
const PROLOGUE_KEY = -8;

/** Piece prologue: save ctx, look up the scratch value, dispatch on the id to `restoreLabel(id)`. */
export function prologue(w: StubWriter, ids: readonly number[], restoreLabel: (id: number) => string, names: StubNames): void {
  w.movReg(PROLOGUE_CTX, 1);
  w.stImm(4, 10, PROLOGUE_KEY, 0);
  w.mapRef(1, names.scratchMap).frameAddr(2, PROLOGUE_KEY).call(MAP_LOOKUP_ELEM).jeqImm(0, 0, names.fail);
  w.ldx(8, 1, 0, 0);
  for (const id of ids) w.jeqImm(1, id, restoreLabel(id));
  w.ja(names.fail);
}

/**
 * Re-derives carried packet pointers from the context in `ctx`: loads data and
 * data_end, redoes the bounds check (jumping to `fail` if it does not hold, which
 * cannot happen at run time), then sets each register and stack slot.
 */
function restorePacket(w: StubWriter, carried: readonly Carried[], ctx: number, fail: string): void {
  const check = carried.find((c) => c.how === 'pktCheck') as Extract<Carried, { how: 'pktCheck' }> | undefined;
  if (!check) return;
  const [D, E, C] = check.regs;
  w.ldx(4, D, ctx, check.data).ldx(4, E, ctx, check.end);
  if (check.range > 0) w.movReg(C, D).addImm(C, check.range).jgtReg(C, E, fail);
  for (const c of carried) {
    if (c.how === 'stackPkt') {
      if (c.value === 'end') w.stx(8, 10, c.off, E);
      else w.movReg(C, D).addImm(C, c.value).stx(8, 10, c.off, C);
    } else if (c.how === 'pkt') {
      if (c.off === 'end') w.movReg(c.reg, E);
      else w.movReg(c.reg, D).addImm(c.reg, c.off);
    }
  }
}

/** Restore block of one resume point: values back in place, then jump to `target`. r0 = scratch value, r6 = ctx. */
export function restoreBlock(w: StubWriter, carried: readonly Carried[], target: string, fail = 'f'): void {
  const T = PROLOGUE_CTX;
  for (const c of carried) {
    if (c.how === 'stack') for (const [b, size] of maskChunks(c.mask)) w.ldx(size, 1, 0, c.at + b).stx(size, 10, c.off + b, 1);
    else if (c.how === 'stackCtx') w.stx(8, 10, c.off, T);
    else if (c.how === 'stackFp') w.frameAddr(1, c.value).stx(8, 10, c.off, 1);
  }
  const regs = carried.filter((c) => c.how === 'reg' || c.how === 'const' || c.how === 'ctx' || c.how === 'fp') as Extract<Carried, { reg: number }>[];
  for (const c of regs) if (c.how === 'ctx' && c.reg !== 0) w.movReg(c.reg, T);
  restorePacket(w, carried, T, fail);
  const rest = regs.filter((c) => c.how !== 'ctx');
  for (const c of [...rest.filter((c) => c.reg !== 0), ...rest.filter((c) => c.reg === 0)]) {
    if (c.how === 'reg') w.ldx(8, c.reg, 0, c.at);
    else if (c.how === 'const') w.movImm(c.reg, c.value);
    else if (c.how === 'fp') w.frameAddr(c.reg, c.off);
  }
  w.ja(target);
}

// ---- skb->cb carrier ---------------------------------------------------------
// `__sk_buff.cb[0..4]` (offsets 48..67): cb[0] the resume id, cb[1..4] two 64-bit
// values as (low, high) u32 pairs. Only 32-bit cb accesses are used (what every
// kernel accepts); no map lookup, so pieces are smaller and faster.

/** Offset of cb[0] in `struct __sk_buff`. */
export const CB_OFFSET = 48;
/** 64-bit values cb can carry besides the resume id. */
export const CB_VALUES = 2;
const cbLow = (at: number) => CB_OFFSET + 4 + (at - 8);
const cbHigh = (at: number) => cbLow(at) + 4;

/** Whether the values of a resume point fit skb->cb (at most two, whole stack slots). */
export function fitsCb(carried: readonly Carried[]): boolean {
  let stored = 0;
  for (const c of carried) {
    if (c.how === 'reg') stored++;
    else if (c.how === 'stack') {
      if (c.mask !== 0xff) return false;
      stored++;
    }
  }
  return stored <= CB_VALUES;
}

/** A register in r0–r9 outside `busy`. */
function freeReg(busy: Set<number>): number | undefined {
  for (const r of [1, 2, 3, 4, 5, 0, 7, 8, 9, 6]) if (!busy.has(r)) return r;
  return undefined;
}

/** Exit stub writing to skb->cb; false when no scratch register is free. */
export function exitStubCb(
  w: StubWriter,
  p: { readonly id: number; readonly piece: number; readonly carried: readonly Carried[]; readonly ctxHome: CtxHome },
  names: StubNames,
): boolean {
  const carriedRegs = new Set<number>();
  for (const c of p.carried) if (c.how === 'reg') carriedRegs.add(c.reg);
  let base: number;
  if ('reg' in p.ctxHome) base = p.ctxHome.reg;
  else {
    const b = freeReg(carriedRegs);
    if (b === undefined) return false;
    base = b;
  }
  const tmp = freeReg(new Set([...carriedRegs, base]));
  if (tmp === undefined) return false;
  if (!('reg' in p.ctxHome)) w.ldx(8, base, 10, p.ctxHome.off);
  w.stImm(4, base, CB_OFFSET, p.id);
  for (const c of p.carried) {
    if (c.how === 'reg') {
      w.stx(4, base, cbLow(c.at), c.reg).movReg(tmp, c.reg).rsh(tmp, 32).stx(4, base, cbHigh(c.at), tmp);
    } else if (c.how === 'stack') {
      w.ldx(8, tmp, 10, c.off).stx(4, base, cbLow(c.at), tmp).rsh(tmp, 32).stx(4, base, cbHigh(c.at), tmp);
    }
  }
  w.movReg(1, base).mapRef(2, names.progArray).movImm(3, BigInt(p.piece)).call(TAIL_CALL_HELPER).ja(names.fail);
  return true;
}

/** Piece prologue for the cb carrier: keep ctx in r6, dispatch on cb[0]. */
export function prologueCb(w: StubWriter, ids: readonly number[], restoreLabel: (id: number) => string, names: StubNames): void {
  w.movReg(PROLOGUE_CTX, 1).ldx(4, 1, PROLOGUE_CTX, CB_OFFSET);
  for (const id of ids) w.jeqImm(1, id, restoreLabel(id));
  w.ja(names.fail);
}

/** Restore block for the cb carrier (r6 = ctx); false when no scratch register is free. */
export function restoreBlockCb(w: StubWriter, carried: readonly Carried[], target: string, fail = 'f'): boolean {
  const T = PROLOGUE_CTX;
  const targets = new Set<number>();
  for (const c of carried) if ('reg' in c) targets.add(c.reg);
  const tmp = freeReg(new Set([...targets, T]));
  if (tmp === undefined) return false;
  const load64 = (dst: number, at: number) => {
    // Low half first into tmp, so dst may be the base register itself.
    w.ldx(4, tmp, T, cbLow(at)).ldx(4, dst, T, cbHigh(at)).lsh(dst, 32).or(dst, tmp);
  };
  for (const c of carried) {
    if (c.how === 'stack') {
      const acc = freeReg(new Set([...targets, T, tmp]));
      if (acc === undefined) return false;
      load64(acc, c.at);
      w.stx(8, 10, c.off, acc);
    } else if (c.how === 'stackCtx') w.stx(8, 10, c.off, T);
    else if (c.how === 'stackFp') w.frameAddr(tmp, c.value).stx(8, 10, c.off, tmp);
  }
  const regs = carried.filter((c) => 'reg' in c) as Extract<Carried, { reg: number }>[];
  for (const c of regs) if (c.how === 'ctx') w.movReg(c.reg, T);
  restorePacket(w, carried, T, fail);
  const rest = regs.filter((c) => c.how !== 'ctx' && c.how !== 'pkt');
  for (const c of [...rest.filter((c) => c.reg !== T), ...rest.filter((c) => c.reg === T)]) {
    if (c.how === 'reg') load64(c.reg, c.at);
    else if (c.how === 'const') w.movImm(c.reg, c.value);
    else if (c.how === 'fp') w.frameAddr(c.reg, c.off);
  }
  w.ja(target);
  return true;
}
