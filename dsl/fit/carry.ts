/**
 * What has to cross a tail call at a cut: for an instruction `t` where the next
 * piece resumes, the live registers and stack bytes and how each comes back —
 * stored in the scratch map (scalars), recomputed (constants, the context from
 * r1, `r10 + k` addresses, packet pointers `data + k` and `data_end` re-derived
 * from the context with the bounds check proven here redone) — and where the
 * context can be found before the jump. A cut is impossible at `t` when a live
 * value is a pointer that cannot be recreated (map value, variable-offset packet
 * pointer, socket…; the reason names the TypeScript line that produced it) or
 * was initialised on some paths only.
 */
import type { SourceLocation } from '../isa/index.js';
import { STACK_SLOTS, slotOffset, type Analysis } from './analysis.js';
import { describeKind, type Kind } from './kinds.js';

/** How one live value comes back in the next piece. */
export type Carried =
  /** A register stored at `at` in the scratch value. */
  | { readonly how: 'reg'; readonly reg: number; readonly at: number }
  /** A register set to a known constant. */
  | { readonly how: 'const'; readonly reg: number; readonly value: bigint }
  /** A register set to the context. */
  | { readonly how: 'ctx'; readonly reg: number }
  /** A register set to `r10 + off`. */
  | { readonly how: 'fp'; readonly reg: number; readonly off: number }
  /** Initialised bytes of a stack slot (frame offset `off`, byte mask) stored at `at`. */
  | { readonly how: 'stack'; readonly off: number; readonly mask: number; readonly at: number }
  /** A stack slot holding a spilled context pointer. */
  | { readonly how: 'stackCtx'; readonly off: number }
  /** A stack slot holding a spilled `r10 + k`. */
  | { readonly how: 'stackFp'; readonly off: number; readonly value: number }
  /** A register set to `ctx->data + off` (or `ctx->data_end`). */
  | { readonly how: 'pkt'; readonly reg: number; readonly off: number | 'end' }
  /** A stack slot holding a spilled `ctx->data + value` (or `ctx->data_end`). */
  | { readonly how: 'stackPkt'; readonly off: number; readonly value: number | 'end' }
  /**
   * Re-derivation of packet pointers: load `data`/`data_end` from the context (offsets
   * `data`, `end`), prove `range` bytes again (always true at run time: the original
   * path proved them), using scratch registers `regs` (data, end, check).
   */
  | { readonly how: 'pktCheck'; readonly range: number; readonly data: number; readonly end: number; readonly regs: readonly [number, number, number] };

/** Where the exit code finds the context pointer: a register or a spilled stack slot. */
export type CtxHome = { readonly reg: number } | { readonly off: number };

/** Result of examining one resume point. */
export type ResumePoint =
  | {
      readonly ok: true;
      readonly carried: readonly Carried[];
      /** Bytes of scratch value this point needs (8 for the resume id + stored values). */
      readonly scratchBytes: number;
      readonly ctxHome: CtxHome;
      /** Stack slots that are live here (the exit code must not use them). */
      readonly busySlots: bigint;
    }
  | { readonly ok: false; readonly reason: string };

const reg = (r: number) => `r${r}`;
const frameText = (off: number) => `[r10${off}]`;

/** Examines instruction `t` as a place where a new piece would resume. */
export function resumePoint(analysis: Analysis, t: number, source?: SourceLocation): ResumePoint {
  void source;
  const st = analysis.states[t];
  if (!st) return { ok: true, carried: [], scratchBytes: 8, ctxHome: { reg: 1 }, busySlots: 0n };
  const carried: Carried[] = [];
  let at = 8;
  const live = analysis.liveRegs[t]!;
  const bad = (what: string, k: Kind) => ({ ok: false as const, reason: `${what} is live and holds a ${describeKind(k)}` });
  for (let r = 0; r <= 9; r++) {
    if (!(live & (1 << r))) continue;
    const k = st.regs[r]!;
    if (k.t === 'uninit') continue;
    if (k.t === 'scalar') {
      if (k.c !== undefined) carried.push({ how: 'const', reg: r, value: k.c });
      else carried.push({ how: 'reg', reg: r, at }), (at += 8);
    } else if (k.t === 'ctx') {
      if (r === 0) return { ok: false, reason: 'r0 is live and holds the context pointer' };
      carried.push({ how: 'ctx', reg: r });
    } else if (k.t === 'fp') carried.push({ how: 'fp', reg: r, off: k.off });
    else if (k.t === 'pkt' || k.t === 'pktEnd') carried.push({ how: 'pkt', reg: r, off: k.t === 'pkt' ? k.off : 'end' });
    else return bad(reg(r), k);
  }
  const liveSlots = analysis.liveSlots[t]!;
  let busy = 0n;
  for (let s = 0; s < STACK_SLOTS; s++) {
    if (!((liveSlots >> BigInt(s)) & 1n)) continue;
    const must = st.mustInit[s]!;
    const may = st.mayInit[s]!;
    const off = slotOffset(s);
    if (may === 0) continue;
    if (must !== may) return { ok: false, reason: `stack bytes at ${frameText(off)} are live but written on some paths only` };
    busy |= 1n << BigInt(s);
    const k = st.slots[s]!;
    if (k.t === 'ctx' && must === 0xff) carried.push({ how: 'stackCtx', off });
    else if (k.t === 'fp' && must === 0xff) carried.push({ how: 'stackFp', off, value: k.off });
    else if ((k.t === 'pkt' || k.t === 'pktEnd') && must === 0xff) carried.push({ how: 'stackPkt', off, value: k.t === 'pkt' ? k.off : 'end' });
    else if (k.t === 'scalar' || k.t === 'maybe') carried.push({ how: 'stack', off, mask: must, at }), (at += 8);
    else return bad(`stack slot ${frameText(off)}`, k);
  }
  // Every place holding the context is restored, live or not: exits later in the
  // next piece look for the context where the original program keeps it.
  for (let r = 1; r <= 9; r++)
    if (st.regs[r]!.t === 'ctx' && !carried.some((c) => 'reg' in c && c.reg === r)) carried.push({ how: 'ctx', reg: r });
  for (let s = 0; s < STACK_SLOTS; s++) {
    const off = slotOffset(s);
    if (st.slots[s]!.t === 'ctx' && st.mustInit[s] === 0xff && !carried.some((c) => c.how === 'stackCtx' && c.off === off)) {
      carried.push({ how: 'stackCtx', off });
      busy |= 1n << BigInt(s);
    }
  }
  if (carried.some((c) => c.how === 'pkt' || c.how === 'stackPkt')) {
    const why = packetCheck(analysis, st.pktRange, carried);
    if (typeof why === 'string') return { ok: false, reason: why };
    carried.push(why);
  }
  let ctxHome: CtxHome | undefined;
  for (const r of [6, 7, 8, 9, 1, 2, 3, 4, 5, 0]) if (st.regs[r]!.t === 'ctx') {
    ctxHome = { reg: r };
    break;
  }
  if (!ctxHome)
    for (let s = STACK_SLOTS - 1; s >= 0; s--)
      if (st.slots[s]!.t === 'ctx' && st.mustInit[s] === 0xff) {
        ctxHome = { off: slotOffset(s) };
        busy |= 1n << BigInt(s);
        break;
      }
  if (!ctxHome) return { ok: false, reason: 'the context pointer is not kept in any register or stack slot here (a tail call needs it)' };
  return { ok: true, carried, scratchBytes: at, ctxHome, busySlots: busy };
}

/** Scratch registers to re-derive packet pointers (not r0: the scratch value; not r6: the context; no target). */
function packetCheck(analysis: Analysis, range: number, carried: readonly Carried[]): Extract<Carried, { how: 'pktCheck' }> | string {
  const f = analysis.packetFields;
  if (!f) return 'a packet pointer is live, but this program type has no ctx->data to re-derive it from';
  const targets = new Set<number>();
  for (const c of carried) if ('reg' in c) targets.add(c.reg);
  if (carried.some((c) => c.how === 'pkt' && c.reg === 6)) return 'r6 holds a packet pointer (the next piece keeps the context there while restoring)';
  const free = [1, 2, 3, 4, 5, 7, 8, 9].filter((r) => !targets.has(r));
  if (free.length < 3) return 'too many registers are live to re-derive the packet pointers';
  return { how: 'pktCheck', range, data: f.data, end: f.end, regs: [free[0]!, free[1]!, free[2]!] };
}

/** One line per carried value, for reports. */
export function describeCarried(c: Carried): string {
  switch (c.how) {
    case 'reg':
      return `${reg(c.reg)} (scalar, scratch+${c.at})`;
    case 'const':
      return `${reg(c.reg)} = ${c.value} (recomputed)`;
    case 'ctx':
      return `${reg(c.reg)} = context (from r1)`;
    case 'fp':
      return `${reg(c.reg)} = r10${c.off} (recomputed)`;
    case 'stack':
      return `${frameText(c.off)} ${c.mask === 0xff ? '8 bytes' : `bytes mask 0x${c.mask.toString(16)}`} (scratch+${c.at})`;
    case 'stackCtx':
      return `${frameText(c.off)} = context`;
    case 'pkt':
      return `${reg(c.reg)} = ${c.off === 'end' ? 'ctx->data_end' : `ctx->data + ${c.off}`} (recomputed)`;
    case 'stackPkt':
      return `${frameText(c.off)} = ${c.value === 'end' ? 'ctx->data_end' : `ctx->data + ${c.value}`} (recomputed)`;
    case 'pktCheck':
      return `packet bounds check data + ${c.range} <= data_end (redone)`;
    default:
      return `${frameText(c.off)} = r10${c.value}`;
  }
}
