/**
 * A small abstract interpretation of one program, instruction by instruction:
 * the kind of every register and 8-byte stack slot on entry to each instruction
 * (with which stack bytes are initialised on all paths / on some path), then
 * liveness of registers and stack slots. Splitting uses both to decide where a
 * program can be cut and what must be carried to the next piece.
 */
import { AluOp, AtomicOp, CallKind, Class, JmpOp, LDDW, Mode, PseudoSource, sizeBytes, type Instruction, type Size, type SourceLocation } from '../isa/index.js';
import { BpfFunc, PACKET_CHANGING_HELPER_IDS, ctxFields, ctxKindOf, helperById, MAX_STACK_BYTES, type AttachTypeName, type ProgTypeName } from '../kernel/index.js';
import type { Flow } from './flow.js';
import { CTX, MIXED, PKT_END, SCALAR, UNINIT, constant, frame, joinKind, packet, pointer, sameKind, type Kind } from './kinds.js';

/** Stack bytes the kernel gives a function. */
export const STACK_BYTES = MAX_STACK_BYTES;
/** Number of 8-byte stack slots; slot `s` covers `r10 - 512 + 8s` up to 8 bytes further. */
export const STACK_SLOTS = STACK_BYTES / 8;
/** The helper id of `bpf_tail_call`. */
export const TAIL_CALL_HELPER = BpfFunc.tail_call;

/** Frame offset (negative) of the start of slot `s`. */
export function slotOffset(s: number): number {
  return -STACK_BYTES + 8 * s;
}

/** Abstract machine state on entry to an instruction. */
export interface State {
  readonly regs: Kind[];
  readonly slots: Kind[];
  /** Per slot, bit b set: byte b is written on every path. */
  readonly mustInit: Uint8Array;
  /** Per slot, bit b set: byte b is written on some path. */
  readonly mayInit: Uint8Array;
  /** Bytes from `ctx->data` that a bounds check against `data_end` proved on every path here. */
  pktRange: number;
}

function entryState(): State {
  const regs: Kind[] = new Array(11).fill(UNINIT);
  regs[1] = CTX;
  regs[10] = frame(0);
  return { regs, slots: new Array(STACK_SLOTS).fill(UNINIT), mustInit: new Uint8Array(STACK_SLOTS), mayInit: new Uint8Array(STACK_SLOTS), pktRange: 0 };
}

function copyState(s: State): State {
  return { regs: [...s.regs], slots: [...s.slots], mustInit: new Uint8Array(s.mustInit), mayInit: new Uint8Array(s.mayInit), pktRange: s.pktRange };
}

/** Joins `b` into `a` in place; returns whether `a` changed. */
function joinInto(a: State, b: State): boolean {
  let changed = false;
  if (b.pktRange < a.pktRange) (a.pktRange = b.pktRange), (changed = true);
  for (let r = 0; r < 11; r++) {
    const j = joinKind(a.regs[r]!, b.regs[r]!);
    if (!sameKind(j, a.regs[r]!)) (a.regs[r] = j), (changed = true);
  }
  for (let s = 0; s < STACK_SLOTS; s++) {
    const j = joinKind(a.slots[s]!, b.slots[s]!);
    if (!sameKind(j, a.slots[s]!)) (a.slots[s] = j), (changed = true);
    const must = a.mustInit[s]! & b.mustInit[s]!;
    const may = a.mayInit[s]! | b.mayInit[s]!;
    if (must !== a.mustInit[s] || may !== a.mayInit[s]) (a.mustInit[s] = must), (a.mayInit[s] = may), (changed = true);
  }
  return changed;
}

/** Byte range `[lo, hi)` of the frame (offsets relative to r10), clipped to the stack. */
interface FrameRange {
  readonly lo: number;
  readonly hi: number;
}

function clip(lo: number, hi: number): FrameRange | undefined {
  const l = Math.max(lo, -STACK_BYTES);
  const h = Math.min(hi, 0);
  return l < h ? { lo: l, hi: h } : undefined;
}

/** Slots overlapping a frame range, as a bit set. */
export function slotsOf(r: FrameRange): bigint {
  let set = 0n;
  for (let s = (r.lo + STACK_BYTES) >> 3; s <= (r.hi - 1 + STACK_BYTES) >> 3; s++) set |= 1n << BigInt(s);
  return set;
}

/** Marks bytes of a frame range as written with kind `k` for whole slots, scalar for partial ones. */
function writeFrame(st: State, r: FrameRange, whole: Kind | undefined, may = false): void {
  for (let b = r.lo; b < r.hi; ) {
    const s = (b + STACK_BYTES) >> 3;
    const start = slotOffset(s);
    const end = Math.min(start + 8, r.hi);
    let mask = 0;
    for (let x = b; x < end; x++) mask |= 1 << (x - start);
    if (!may) st.mustInit[s] = st.mustInit[s]! | mask;
    st.mayInit[s] = st.mayInit[s]! | mask;
    if (whole && mask === 0xff && !may) st.slots[s] = whole;
    else st.slots[s] = may ? joinKind(st.slots[s]!, SCALAR) : SCALAR;
    b = end;
  }
}

/** What one helper call reads and writes through pointer arguments. */
interface HelperMemory {
  readonly argCount: number;
  /** For each argument index: 'read', 'write' or undefined (not memory). */
  readonly access: readonly ('read' | 'write' | undefined)[];
  /** For each memory argument: index of the size argument, if any. */
  readonly sizeArg: readonly (number | undefined)[];
  readonly returnsPointer: boolean;
}

const helperMemoryCache = new Map<number, HelperMemory>();

function helperMemory(id: number): HelperMemory {
  const hit = helperMemoryCache.get(id);
  if (hit) return hit;
  const h = helperById(id);
  let out: HelperMemory;
  if (!h || h.args.length === 0 && h.signature === '') {
    out = { argCount: 5, access: new Array(5).fill('write'), sizeArg: new Array(5).fill(undefined), returnsPointer: h?.ret.kind === 'ptr' };
  } else {
    const access: ('read' | 'write' | undefined)[] = [];
    const sizeArg: (number | undefined)[] = [];
    let argCount = Math.min(h.args.length, 5);
    for (const a of h.args) {
      const t = a.type;
      if (t.kind === 'mem') access.push(t.access), sizeArg.push(t.sizeArg);
      else if (t.kind === 'ptr') access.push(t.access), sizeArg.push(undefined);
      else if (t.kind === 'mapKey' || t.kind === 'mapValue') access.push('read'), sizeArg.push(undefined);
      else if (t.kind === 'unknown') access.push('write'), sizeArg.push(undefined);
      else if (t.kind === 'varargs') (argCount = 5), access.push(undefined), sizeArg.push(undefined);
      else access.push(undefined), sizeArg.push(undefined);
    }
    out = { argCount, access, sizeArg, returnsPointer: h.ret.kind === 'ptr' };
  }
  helperMemoryCache.set(id, out);
  return out;
}

/** Context fields that load as pointers: offset → what. */
function ctxPointerFields(progType: ProgTypeName | undefined, attach: AttachTypeName | undefined): Map<number, string> {
  const m = new Map<number, string>();
  const kind = progType ? ctxKindOf(progType) : undefined;
  if (!kind) return m;
  try {
    for (const f of ctxFields(kind, attach)) if (f.pointer) m.set(f.offset, f.pointer);
  } catch {
    // A hook without field rules: no pointer fields known.
  }
  return m;
}

/** Results of {@link analyze}. */
export interface Analysis {
  /** State on entry to each instruction (undefined: unreachable). */
  readonly states: readonly (State | undefined)[];
  /** Registers live on entry to each instruction (bit r). */
  readonly liveRegs: readonly number[];
  /** Stack slots live on entry to each instruction (bit s). */
  readonly liveSlots: readonly bigint[];
  /** Context offsets of `data` and `data_end` (where the program type has direct packet access). */
  readonly packetFields?: { readonly data: number; readonly end: number } | undefined;
}

/** Options of {@link analyze}. */
export interface AnalyzeOptions {
  /** Program type (decides which context fields are pointers). */
  readonly progType?: ProgTypeName | undefined;
  readonly attachType?: AttachTypeName | undefined;
}

const isAlu = (cls: number) => cls === Class.ALU || cls === Class.ALU64;

/** Applies one instruction to a state (in place). */
function transfer(insn: Instruction, st: State, ctxPtrs: Map<number, string>): void {
  const src = insn.meta?.source;
  const cls = insn.opcode & 7;
  const op = insn.opcode & 0xf0;
  const x = (insn.opcode & 0x08) !== 0;
  const regs = st.regs;
  if (isAlu(cls)) {
    const d = insn.dst;
    if (op === AluOp.END || op === AluOp.NEG) {
      regs[d] = SCALAR;
      return;
    }
    const srcKind = x ? regs[insn.src]! : constant(BigInt(insn.imm));
    if (cls === Class.ALU) {
      // 32-bit ALU: pointers turn into scalars (the verifier refuses them anyway).
      const a = regs[d]!;
      if (op === AluOp.MOV) regs[d] = srcKind.t === 'scalar' && srcKind.c !== undefined && insn.off === 0 ? constant(BigInt.asUintN(32, srcKind.c)) : SCALAR;
      else if (a.t === 'scalar' && a.c !== undefined && srcKind.t === 'scalar' && srcKind.c !== undefined) {
        const v = fold(op, BigInt.asUintN(32, a.c), BigInt.asUintN(32, srcKind.c));
        regs[d] = v === undefined ? SCALAR : constant(BigInt.asUintN(32, v));
      } else regs[d] = SCALAR;
      return;
    }
    if (op === AluOp.MOV) {
      regs[d] = insn.off !== 0 ? SCALAR : srcKind.t === 'uninit' ? UNINIT : srcKind;
      return;
    }
    const a = regs[d]!;
    if (a.t === 'fp' && srcKind.t === 'scalar' && srcKind.c !== undefined && (op === AluOp.ADD || op === AluOp.SUB)) {
      const delta = Number(srcKind.c);
      regs[d] = frame(op === AluOp.ADD ? a.off + delta : a.off - delta);
      return;
    }
    if (a.t === 'pkt' && srcKind.t === 'scalar' && srcKind.c !== undefined && (op === AluOp.ADD || op === AluOp.SUB) && srcKind.c >= -0x10000n && srcKind.c <= 0x10000n) {
      const delta = Number(srcKind.c);
      regs[d] = packet(op === AluOp.ADD ? a.off + delta : a.off - delta);
      return;
    }
    if (a.t === 'fp' || a.t === 'ctx' || a.t === 'ptr' || a.t === 'pkt' || a.t === 'pktEnd') {
      regs[d] = a.t === 'ptr' ? pointer(a.what, a.src ?? src) : pointer(a.t === 'fp' ? 'variable stack' : a.t === 'ctx' ? 'modified context' : 'packet (variable offset)', src);
      return;
    }
    if (srcKind.t === 'fp' || srcKind.t === 'ptr' || srcKind.t === 'ctx' || srcKind.t === 'pkt' || srcKind.t === 'pktEnd') {
      const what = srcKind.t === 'ptr' ? srcKind.what : srcKind.t === 'pkt' || srcKind.t === 'pktEnd' ? 'packet (variable offset)' : 'derived';
      regs[d] = op === AluOp.ADD ? pointer(what, (srcKind.t === 'ptr' ? srcKind.src : undefined) ?? src) : SCALAR;
      return;
    }
    if (a.t === 'scalar' && a.c !== undefined && srcKind.t === 'scalar' && srcKind.c !== undefined) {
      const v = fold(op, a.c, srcKind.c);
      regs[d] = v === undefined ? SCALAR : constant(v);
      return;
    }
    regs[d] = a.t === 'mixed' || a.t === 'maybe' ? a : SCALAR;
    return;
  }
  if (insn.opcode === LDDW) {
    const s = insn.src;
    regs[insn.dst] =
      s === PseudoSource.IMM64
        ? constant(insn.imm64 ?? BigInt(insn.imm))
        : s === PseudoSource.MAP_FD || s === PseudoSource.MAP_IDX
          ? pointer('map', src)
          : s === PseudoSource.FUNC
            ? pointer('function', src)
            : s === PseudoSource.BTF_ID
              ? pointer('kernel object', src)
              : pointer('map value', src);
    return;
  }
  if (cls === Class.LD) {
    // Legacy packet loads: r0 result, r1–r5 clobbered.
    for (let r = 1; r <= 5; r++) regs[r] = UNINIT;
    regs[0] = SCALAR;
    return;
  }
  if (cls === Class.LDX) {
    const base = regs[insn.src]!;
    const size = sizeBytes[(insn.opcode & 0x18) as Size];
    let k: Kind = SCALAR;
    if (base.t === 'fp') {
      const off = base.off + insn.off;
      if (size === 8 && (off & 7) === 0 && off >= -STACK_BYTES && off < 0) {
        const s = (off + STACK_BYTES) >> 3;
        const slotKind = st.slots[s]!;
        if (slotKind.t !== 'uninit' && slotKind.t !== 'maybe' && st.mustInit[s] === 0xff && (insn.opcode & 0xe0) === Mode.MEM) k = slotKind;
      }
    } else if (base.t === 'ctx') {
      const what = ctxPtrs.get(insn.off);
      if (what === 'packet') k = packet(0);
      else if (what === 'packet_end') k = PKT_END;
      else if (what !== undefined) k = pointer(what, src);
    } else if (base.t === 'mixed' || base.t === 'maybe') k = MIXED;
    regs[insn.dst] = k;
    return;
  }
  if (cls === Class.ST || cls === Class.STX) {
    const base = regs[insn.dst]!;
    const size = sizeBytes[(insn.opcode & 0x18) as Size];
    const atomic = (insn.opcode & 0xe0) === Mode.ATOMIC;
    if (atomic) {
      if (insn.imm === AtomicOp.CMPXCHG) regs[0] = SCALAR;
      else if (insn.imm & AtomicOp.FETCH) regs[insn.src] = SCALAR;
    }
    if (base.t === 'fp') {
      const off = base.off + insn.off;
      const r = clip(off, off + size);
      if (!r) return;
      let whole: Kind | undefined;
      if (!atomic && size === 8) whole = cls === Class.ST ? constant(BigInt(insn.imm)) : regs[insn.src]!;
      if (whole && whole.t === 'uninit') whole = SCALAR;
      writeFrame(st, r, whole);
    }
    return;
  }
  if (cls === Class.JMP && op === JmpOp.CALL) {
    if (insn.src === CallKind.HELPER) {
      const mem = helperMemory(insn.imm);
      for (let a = 0; a < mem.argCount; a++) {
        const k = regs[a + 1]!;
        if (k.t !== 'fp' || mem.access[a] !== 'write') continue;
        const r = helperRange(k.off, mem.sizeArg[a], regs);
        if (r.exact && r.range) writeFrame(st, r.range, undefined);
        else if (r.range) writeFrame(st, r.range, undefined, true);
      }
      for (let r = 1; r <= 5; r++) regs[r] = UNINIT;
      if (PACKET_CHANGING_HELPER_IDS.has(insn.imm)) forgetPacket(st, src);
      regs[0] = mem.returnsPointer ? pointer(`${helperById(insn.imm)?.name ?? 'helper'} result`, src) : SCALAR;
      return;
    }
    // bpf-to-bpf call or kfunc: the callee may write any stack memory it is given.
    for (let a = 1; a <= 5; a++) {
      const k = regs[a]!;
      if (k.t === 'fp') {
        const r = clip(k.off, 0);
        if (r) writeFrame(st, r, undefined, true);
      }
    }
    for (let r = 1; r <= 5; r++) regs[r] = UNINIT;
    // The callee may change the packet: its pointers are as good as gone.
    forgetPacket(st, src);
    regs[0] = insn.src === CallKind.KFUNC ? pointer('kfunc result', src) : SCALAR;
  }
}

/** After a call that may move packet data: packet pointers cannot be recreated any more (nor used). */
function forgetPacket(st: State, src: SourceLocation | undefined): void {
  const stale = pointer('stale packet (from before a packet-changing call)', src);
  for (let r = 0; r < st.regs.length; r++) if (st.regs[r]!.t === 'pkt' || st.regs[r]!.t === 'pktEnd') st.regs[r] = stale;
  for (let s = 0; s < st.slots.length; s++) if (st.slots[s]!.t === 'pkt' || st.slots[s]!.t === 'pktEnd') st.slots[s] = stale;
  st.pktRange = 0;
}

/**
 * The successor of a conditional jump comparing a packet pointer `data + k` with
 * `data_end` on which at least k bytes are proven, and k (the verifier's
 * find_good_pkt_pointers, in the cases it handles).
 */
function packetCheck(insn: Instruction, st: State, i: number, flow: Flow): { succ: number; range: number } | undefined {
  if ((insn.opcode & 7) !== Class.JMP || !(insn.opcode & 0x08)) return undefined;
  const op = insn.opcode & 0xf0;
  const a = st.regs[insn.dst]!;
  const b = st.regs[insn.src]!;
  const fall = i + 1;
  const taken = flow.targets[i];
  if (taken === undefined || taken === fall) return undefined;
  let pktFirst: boolean;
  let k: number;
  if (a.t === 'pkt' && b.t === 'pktEnd') (pktFirst = true), (k = a.off);
  else if (a.t === 'pktEnd' && b.t === 'pkt') (pktFirst = false), (k = b.off);
  else return undefined;
  if (k <= 0) return undefined;
  // pkt > end / pkt >= end: fall-through proven; end > pkt / end >= pkt: taken; and the mirror images for < / <=.
  if (op === JmpOp.JGT || op === JmpOp.JGE) return { succ: pktFirst ? fall : taken, range: k };
  if (op === JmpOp.JLT || op === JmpOp.JLE) return { succ: pktFirst ? taken : fall, range: k };
  return undefined;
}

/** The frame range a helper touches through a stack pointer argument at `off`. */
function helperRange(off: number, sizeArg: number | undefined, regs: Kind[]): { exact: boolean; range: FrameRange | undefined } {
  if (sizeArg !== undefined) {
    const k = regs[sizeArg + 1];
    if (k && k.t === 'scalar' && k.c !== undefined && k.c > 0n && k.c <= BigInt(STACK_BYTES)) return { exact: true, range: clip(off, off + Number(k.c)) };
  }
  return { exact: false, range: clip(off, 0) };
}

function fold(op: number, a: bigint, b: bigint): bigint | undefined {
  switch (op) {
    case AluOp.ADD:
      return a + b;
    case AluOp.SUB:
      return a - b;
    case AluOp.MUL:
      return a * b;
    case AluOp.AND:
      return a & b;
    case AluOp.OR:
      return a | b;
    case AluOp.XOR:
      return a ^ b;
    case AluOp.LSH:
      return b >= 0n && b < 64n ? a << b : undefined;
    case AluOp.RSH:
      return b >= 0n && b < 64n ? BigInt.asUintN(64, a) >> b : undefined;
    default:
      return undefined;
  }
}

/** Registers and stack slots an instruction reads (`use`) and fully overwrites (`def`). */
function useDef(insn: Instruction, st: State): { use: number; def: number; useSlots: bigint; defSlots: bigint } {
  const cls = insn.opcode & 7;
  const op = insn.opcode & 0xf0;
  const x = (insn.opcode & 0x08) !== 0;
  const bit = (r: number) => 1 << r;
  let use = 0;
  let def = 0;
  let useSlots = 0n;
  let defSlots = 0n;
  const frameRange = (baseReg: number, off: number, size: number) => {
    const b = st.regs[baseReg]!;
    return b.t === 'fp' ? clip(b.off + off, b.off + off + size) : undefined;
  };
  if (isAlu(cls)) {
    if (op !== AluOp.MOV) use |= bit(insn.dst);
    if (x && op !== AluOp.END && op !== AluOp.NEG) use |= bit(insn.src);
    def |= bit(insn.dst);
  } else if (insn.opcode === LDDW) {
    def |= bit(insn.dst);
  } else if (cls === Class.LD) {
    use |= bit(6);
    if ((insn.opcode & 0xe0) === Mode.IND) use |= bit(insn.src);
    def |= 0b111111;
  } else if (cls === Class.LDX) {
    use |= bit(insn.src);
    def |= bit(insn.dst);
    const r = frameRange(insn.src, insn.off, sizeBytes[(insn.opcode & 0x18) as Size]);
    if (r) useSlots |= slotsOf(r);
  } else if (cls === Class.ST || cls === Class.STX) {
    use |= bit(insn.dst);
    if (cls === Class.STX) use |= bit(insn.src);
    const size = sizeBytes[(insn.opcode & 0x18) as Size];
    const atomic = (insn.opcode & 0xe0) === Mode.ATOMIC;
    if (atomic && insn.imm === AtomicOp.CMPXCHG) (use |= bit(0)), (def |= bit(0));
    else if (atomic && insn.imm & AtomicOp.FETCH) def |= bit(insn.src);
    const r = frameRange(insn.dst, insn.off, size);
    if (r) {
      if (!atomic && r.hi - r.lo === 8 && ((r.lo + STACK_BYTES) & 7) === 0) defSlots |= slotsOf(r);
      else useSlots |= slotsOf(r);
    }
  } else if (cls === Class.JMP || cls === Class.JMP32) {
    if (op === JmpOp.EXIT) use |= bit(0);
    else if (op === JmpOp.CALL) {
      def |= 0b111111;
      if (insn.src === CallKind.HELPER) {
        const mem = helperMemory(insn.imm);
        for (let a = 0; a < mem.argCount; a++) {
          use |= bit(a + 1);
          const k = st.regs[a + 1]!;
          if (k.t !== 'fp') continue;
          // Conservatively, a helper reads what it is given (even "write" buffers may be partly read).
          const r = helperRange(k.off, mem.sizeArg[a], st.regs);
          if (r.range) useSlots |= slotsOf(r.range);
        }
      } else {
        use |= 0b111110;
        for (let a = 1; a <= 5; a++) {
          const k = st.regs[a]!;
          if (k.t === 'fp') {
            const r = clip(k.off, 0);
            if (r) useSlots |= slotsOf(r);
          }
        }
      }
    } else if (op !== JmpOp.JA && op !== JmpOp.JCOND) {
      use |= bit(insn.dst);
      if (x) use |= bit(insn.src);
    }
  }
  return { use: use & ~bit(10), def, useSlots, defSlots };
}

/** Runs the kind analysis and liveness over a program's flow. */
export function analyze(flow: Flow, options: AnalyzeOptions = {}): Analysis {
  const n = flow.insns.length;
  const ctxPtrs = ctxPointerFields(options.progType, options.attachType);
  const states: (State | undefined)[] = new Array(n).fill(undefined);
  if (n > 0) states[0] = entryState();
  // Forward: in index order (a single pass when there are no back edges), then to a fixpoint.
  const pending = new Set<number>(n > 0 ? [0] : []);
  let cursor = 0;
  while (pending.size) {
    // Lowest pending index first keeps the forward pass near-linear.
    let i = cursor;
    while (!pending.has(i)) i = i + 1 < n ? i + 1 : 0;
    pending.delete(i);
    const out = copyState(states[i]!);
    transfer(flow.insns[i]!, out, ctxPtrs);
    const check = packetCheck(flow.insns[i]!, states[i]!, i, flow);
    for (const s of flow.succ[i]!) {
      let o = out;
      if (check && s === check.succ && check.range > out.pktRange) (o = copyState(out)), (o.pktRange = check.range);
      const cur = states[s];
      if (!cur) {
        states[s] = copyState(o);
        pending.add(s);
      } else if (joinInto(cur, o)) pending.add(s);
    }
    cursor = i;
  }
  // Backward liveness.
  const ud = flow.insns.map((insn, i) => (states[i] ? useDef(insn, states[i]!) : { use: 0, def: 0, useSlots: 0n, defSlots: 0n }));
  const liveRegs: number[] = new Array(n).fill(0);
  const liveSlots: bigint[] = new Array(n).fill(0n);
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      let outR = 0;
      let outS = 0n;
      for (const s of flow.succ[i]!) (outR |= liveRegs[s]!), (outS |= liveSlots[s]!);
      const u = ud[i]!;
      const inR = u.use | (outR & ~u.def);
      const inS = u.useSlots | (outS & ~u.defSlots);
      if (inR !== liveRegs[i] || inS !== liveSlots[i]) (liveRegs[i] = inR), (liveSlots[i] = inS), (changed = true);
    }
  }
  let data: number | undefined;
  let end: number | undefined;
  for (const [off, what] of ctxPtrs) (what === 'packet' ? (data = off) : what === 'packet_end' ? (end = off) : undefined);
  return { states, liveRegs, liveSlots, ...(data !== undefined && end !== undefined ? { packetFields: { data, end } } : {}) };
}

/** A read the verifier refuses: an uninitialised register, or stack bytes not written on every path. */
export interface UninitRead {
  readonly index: number;
  readonly what: string;
}

/**
 * Reads of uninitialised registers and stack bytes (old kernels refuse both; new
 * ones still refuse the registers). Checks ALU/jump/store operands, the base and
 * bytes of stack loads.
 */
export function uninitialisedReads(flow: Flow, analysis: Analysis): UninitRead[] {
  const out: UninitRead[] = [];
  flow.insns.forEach((insn, index) => {
    const st = analysis.states[index];
    if (!st) return;
    const cls = insn.opcode & 7;
    const op = insn.opcode & 0xf0;
    const x = (insn.opcode & 0x08) !== 0;
    const regs: number[] = [];
    if (isAlu(cls)) {
      if (op !== AluOp.MOV) regs.push(insn.dst);
      if (x && op !== AluOp.END && op !== AluOp.NEG) regs.push(insn.src);
    } else if (cls === Class.LDX) regs.push(insn.src);
    else if (cls === Class.ST) regs.push(insn.dst);
    else if (cls === Class.STX) regs.push(insn.dst, insn.src);
    else if ((cls === Class.JMP || cls === Class.JMP32) && op !== JmpOp.CALL && op !== JmpOp.JA && op !== JmpOp.JCOND) {
      if (op === JmpOp.EXIT) regs.push(0);
      else {
        regs.push(insn.dst);
        if (x) regs.push(insn.src);
      }
    }
    for (const r of regs) {
      const k = st.regs[r]!.t;
      if (k === 'uninit' || k === 'maybe') out.push({ index, what: `r${r} may be uninitialised` });
    }
    if (cls === Class.LDX) {
      const b = st.regs[insn.src]!;
      if (b.t !== 'fp') return;
      const size = sizeBytes[(insn.opcode & 0x18) as Size];
      for (let o = b.off + insn.off; o < b.off + insn.off + size; o++) {
        if (o < -STACK_BYTES || o >= 0) continue;
        const s = (o + STACK_BYTES) >> 3;
        if (!(st.mustInit[s]! & (1 << ((o + STACK_BYTES) & 7)))) {
          out.push({ index, what: `stack byte [r10${o}] may be uninitialised` });
          break;
        }
      }
    }
  });
  return out;
}
