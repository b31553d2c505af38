/**
 * Splitting as a program transformation, checked on the kernel: seeded random
 * straight-line-with-branches programs (scalar ALU in 64 and 32 bits, stack
 * slots written whole and in parts, a stack pointer kept in a register, forward
 * branches, early returns) are split for 4.19 with small forced piece limits, so
 * cuts land everywhere; each chain must compute exactly what the unsplit program
 * computes (return value and packet bytes) on several packets. The peepholes are
 * checked the same way (tightened vs original).
 */
import { describe, expect, it } from 'vitest';
import { asm, isaRank, requiredIsa, slots, type Asm, type Instruction, type Register, type WritableRegister } from '../../dsl/isa/index.js';
import { profileByName } from '../../dsl/kernel/index.js';
import { analyze, buildFlow, splitProgram, tighten, uninitialisedReads } from '../../dsl/fit/index.js';
import type { ObjectSpec, ProgramSpec } from '../../dsl/object/index.js';
import { loadObject } from '../../loader/object/index.js';
import { need } from '../support/env.js';

const ok = need({ kernel: true });
const FULL_POOL: WritableRegister[] = ['r0', 'r2', 'r3', 'r4', 'r7', 'r8', 'r9'];
const FULL_SLOTS = [-8, -16, -24, -32, -40, -48];

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/**
 * A random tc program of about `ops` operations. `few` keeps at most two scalars
 * live (r0, r7) and no stack state, so splits can carry them in skb->cb.
 */
function randomProgram(seed: number, ops: number, few = false): ProgramSpec {
  const POOL: WritableRegister[] = few ? ['r0', 'r7'] : FULL_POOL;
  const SLOTS = few ? [] : FULL_SLOTS;
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[r(xs.length)]!;
  const a: Asm = asm();
  a.mov64('r6', 'r1').ldxw('r2', 'r6', 76).ldxw('r3', 'r6', 80).mov64('r4', 'r2').add64('r4', 64).jgt('r4', 'r3', 'short');
  a.ldxdw('r7', 'r2', 0).ldxdw('r8', 'r2', 8).ldxdw('r9', 'r2', 16).ldxdw('r0', 'r2', 24);
  a.ldxdw('r3', 'r2', 32).ldxw('r4', 'r2', 40);
  a.mov64('r2', r(1000));
  if (few) a.mov64('r8', 0).mov64('r9', 0);
  for (const s of SLOTS) a.stxdw('r10', s, pick(POOL));
  if (!few) a.mov64('r5', 'r10').add64('r5', -24);
  let label = 0;
  const pending: { at: number; name: string }[] = [];
  for (let i = 0; i < ops; i++) {
    for (const p of pending.filter((p) => p.at === i)) a.label(p.name);
    const dst = pick(POOL);
    const src: Register = pick(POOL);
    let choice = r(12);
    // few: no stack state, and 64-bit ALU only so the carried values use their high halves.
    if (few && ((choice >= 5 && choice <= 8) || choice === 2 || choice === 3)) choice = 0;
    switch (choice) {
      case 0:
      case 1:
        // few: only bijective steps, so two registers do not collapse to 0 or ~0.
        if (few) a[pick(['add64', 'sub64', 'xor64'] as const)](dst, dst === src ? (dst === 'r0' ? 'r7' : 'r0') : src);
        else a[pick(['add64', 'sub64', 'xor64', 'or64', 'and64', 'mul64'] as const)](dst, src);
        break;
      case 2:
        a[pick(['add32', 'sub32', 'xor32', 'mul32'] as const)](dst, src);
        break;
      case 3:
        a[pick(['lsh64', 'rsh64', 'arsh64', 'lsh32', 'rsh32'] as const)](dst, 1 + r(30));
        break;
      case 4:
        if (few) a[pick(['add64', 'xor64', 'mul64'] as const)](dst, (r(1 << 20) - (1 << 19)) | 1);
        else a[pick(['add64', 'xor64', 'mul64', 'add32'] as const)](dst, r(1 << 20) - (1 << 19));
        break;
      case 5:
        a.stxdw('r10', pick(SLOTS), src);
        break;
      case 6: {
        const s = pick(SLOTS);
        const k = r(3);
        if (k === 0) a.stxw('r10', s + 4 * r(2), src);
        else if (k === 1) a.stxh('r10', s + 2 * r(4), src);
        else a.stxb('r10', s + r(8), src);
        break;
      }
      case 7:
        a.ldxdw(dst, 'r10', pick(SLOTS));
        break;
      case 8:
        // Through the stack pointer kept in r5 (r10 - 24).
        if (r(2)) a.ldxdw(dst, 'r5', pick([0, -8, 8]));
        else a.stxdw('r5', pick([0, -8, 8]), src);
        break;
      case 9:
      case 10: {
        const name = `f${label++}`;
        pending.push({ at: i + 1 + r(6), name });
        const j = pick(['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jslt'] as const);
        if (r(2)) a[j](dst, src, name);
        else a[j](dst, r(64), name);
        break;
      }
      default: {
        // Early return on a rare condition.
        const name = `e${label++}`;
        // Rare on random data: all 16 bits clear, or equal to one 20-bit constant.
        if (r(2)) a.jset(dst, 0xffff << r(16), name).mov64('r0', dst).and64('r0', 0xffff).exit().label(name).mov64(dst, src);
        else a.jne(dst, r(1 << 20), name).mov64('r0', pick([3, 5])).exit().label(name).mov64(dst, src);
      }
    }
  }
  for (const p of pending.filter((p) => p.at >= ops)) a.label(p.name);
  a.mov64('r1', 'r0');
  a.ldxw('r2', 'r6', 76).ldxw('r3', 'r6', 80).mov64('r4', 'r2').add64('r4', 64).jgt('r4', 'r3', 'short');
  if (few) a.stxdw('r2', 0, 'r7').stxdw('r2', 24, 'r1');
  else {
    a.stxdw('r2', 0, 'r7').stxdw('r2', 8, 'r8').stxdw('r2', 16, 'r9').stxdw('r2', 24, 'r1');
    SLOTS.forEach((s, k) => a.ldxdw('r3', 'r10', s).stxdw('r2', 32 + 4 * k, 'r3'));
    a.ldxdw('r3', 'r5', 0).xor64('r1', 'r3');
  }
  a.mov64('r0', 'r1').and64('r0', 0xffff).exit();
  a.label('short').mov64('r0', 1).exit();
  return { name: 'rnd', section: 'tc', instructions: a.build() };
}

function packets(seed: number): Uint8Array[] {
  const r = rng(seed * 7 + 3);
  return Array.from({ length: 6 }, () => Uint8Array.from({ length: 80 }, () => r(256)));
}

const p419 = profileByName('4.19');
const count = (insns: readonly Instruction[]) => insns.reduce((n, i) => n + slots(i), 0);

describe('random programs split into small pieces', () => {
  it('pieces respect the limit, jump only forward, stay within ISA v2', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const prog = randomProgram(seed, 200);
      const limit = 110 + (seed % 5) * 30;
      const { programs, report } = splitProgram(prog, p419, { limit, force: true });
      expect(programs.length, `seed ${seed}`).toBeGreaterThanOrEqual(2);
      expect(programs.length - 1).toBeLessThanOrEqual(p419.tailCallChainLimit);
      expect(report.pieces.map((p) => p.insns).every((n) => n <= limit)).toBe(true);
      const clean = (insns: readonly Instruction[]) => {
        const flow = buildFlow('p', insns);
        return uninitialisedReads(flow, analyze(flow, { progType: 'SCHED_CLS' }));
      };
      expect(clean(prog.instructions)).toEqual([]);
      for (const p of programs) {
        // What a 4.19 verifier demands of every piece: nothing read before it is written.
        expect(clean(p.instructions), `seed ${seed} ${p.name}`).toEqual([]);
        expect(count(p.instructions)).toBeLessThanOrEqual(limit);
        expect(buildFlow(p.name, p.instructions).backEdges).toEqual([]);
        for (const i of p.instructions) expect(isaRank(requiredIsa(i))).toBeLessThanOrEqual(2);
      }
    }
  });
});

describe.skipIf(!ok)('random programs on the kernel', () => {
  it('split chains and tightened code compute what the original computes', () => {
    let shrunk = 0;
    let reachedEnd = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const prog = randomProgram(seed, 200);
      const split = splitProgram(prog, p419, { limit: 110 + (seed % 5) * 30, force: true });
      const tightened0 = tighten('tight', prog.instructions, 'v2');
      expect(count(tightened0)).toBeLessThanOrEqual(count(prog.instructions));
      if (count(tightened0) < count(prog.instructions)) shrunk++;
      const tight: ProgramSpec = { ...prog, name: 'tight', instructions: tighten('tight', prog.instructions, 'v2') };
      const spec: ObjectSpec = { license: 'GPL', programs: [prog] };
      using orig = loadObject(spec, { objectName: 'rorig' });
      using chain = loadObject({ license: 'GPL', programs: split.programs, maps: split.maps }, { objectName: 'rsplit' });
      using tightened = loadObject({ license: 'GPL', programs: [tight] }, { objectName: 'rtight' });
      for (const pkt of packets(seed)) {
        const want = orig.program('rnd').run({ data: pkt });
        const got = chain.program('rnd').run({ data: pkt });
        const t = tightened.program('tight').run({ data: pkt });
        if (!Buffer.from(want.data.subarray(0, 80)).equals(Buffer.from(pkt))) reachedEnd++;
        expect(got.retval, `seed ${seed}`).toBe(want.retval);
        expect([...got.data.subarray(0, 80)], `seed ${seed}`).toEqual([...want.data.subarray(0, 80)]);
        expect(t.retval).toBe(want.retval);
        expect([...t.data.subarray(0, 80)]).toEqual([...want.data.subarray(0, 80)]);
      }
    }
    expect(shrunk).toBeGreaterThan(10);
    expect(reachedEnd).toBeGreaterThan(40);
  });

  it('chains carrying values in skb->cb compute what the original computes', () => {
    let viaCb = 0;
    let reachedEnd = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const prog = randomProgram(seed, 200, true);
      const split = splitProgram(prog, p419, { limit: 100 + (seed % 4) * 30, force: true });
      expect(split.programs.length).toBeGreaterThan(1);
      if (split.report.carrier === 'cb') {
        viaCb++;
        expect(split.maps.map((m) => m.type)).toEqual(['PROG_ARRAY']);
      }
      using orig = loadObject({ license: 'GPL', programs: [prog] }, { objectName: 'corig' });
      using chain = loadObject({ license: 'GPL', programs: split.programs, maps: split.maps }, { objectName: 'csplit' });
      for (const pkt of packets(seed)) {
        const want = orig.program('rnd').run({ data: pkt });
        const got = chain.program('rnd').run({ data: pkt });
        if (!Buffer.from(want.data.subarray(0, 80)).equals(Buffer.from(pkt))) reachedEnd++;
        expect(got.retval, `seed ${seed}`).toBe(want.retval);
        expect([...got.data.subarray(0, 80)], `seed ${seed}`).toEqual([...want.data.subarray(0, 80)]);
      }
    }
    expect(viaCb).toBeGreaterThan(15);
    expect(reachedEnd).toBeGreaterThan(60);
  });
});
