/**
 * Loops: the same loop-heavy program is a real bounded loop (a backward jump) on
 * the 6.6 profile and fully unrolled (no backward jump, ISA v2 only) on 4.19, and
 * both compute the same results in the kernel on the same seeded inputs, which
 * also match a TypeScript model. break/continue inside if/else inside loops.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { arrayMap, build, program } from '../../dsl/program/index.js';
import { Class, JmpOp, requiredIsa, isaRank, type Instruction } from '../../dsl/isa/index.js';
import { array, struct, u32, u64 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec } from './support.js';

const In = struct('loop_in', { seed: u32, limit: u32, skip: u32, words: array(u32, 16) });
const Out = struct('loop_out', { sum: u64, iterations: u32, maxWord: u32, nested: u32 });
const out = arrayMap('loop_out', Out, { maxEntries: 1 });

const loopy = program('xdp', 'loopy', (b) => {
  const input = b.parse(In, 0).orReturn(1);
  const o = b.lookup(out, 0).orReturn(2);
  const sum = b.let(u64, 0);
  const iterations = b.let(u32, 0);
  const x = b.let(u32, input.seed);
  b.loop(48, (i) => {
    // xorshift32
    x.set(x.xor(x.shl(13)));
    x.set(x.xor(x.shr(17)));
    x.set(x.xor(x.shl(5)));
    b.if(i.and(3).eq(input.skip.and(3)), () => b.continue());
    sum.set(sum.add(x.to(u64)));
    iterations.set(iterations.add(1));
    b.if(sum.shr(32).to(u32).ge(input.limit), () => b.break());
  });
  const maxWord = b.let(u32, 0);
  b.loop(16, (i) => {
    const w = input.words.at(0); // constant index
    void w;
    b.if(i.eq(0), () => maxWord.set(input.words.at(0)));
  });
  // Max over the words with constant indices inside an unrolled-by-hand JS loop.
  for (let k = 1; k < 16; k++) b.if(input.words.at(k).gt(maxWord), () => maxWord.set(input.words.at(k)));
  const nested = b.let(u32, 0);
  b.loop(6, (i) => {
    b.loop(5, (j) => {
      b.if(j.gt(i), () => b.break());
      nested.set(nested.add(i.mul(j)).add(1));
    });
  });
  o.sum.set(sum);
  o.iterations.set(iterations);
  o.maxWord.set(maxWord);
  o.nested.set(nested);
  b.return(0);
});

function model(seed: number, limit: number, skip: number, words: number[]) {
  let x = seed >>> 0;
  let sum = 0n;
  let iterations = 0;
  for (let i = 0; i < 48; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    if ((i & 3) === (skip & 3)) continue;
    sum = BigInt.asUintN(64, sum + BigInt(x));
    iterations++;
    if (Number(sum >> 32n) >= limit) break;
  }
  let nested = 0;
  for (let i = 0; i < 6; i++) for (let j = 0; j < 5; j++) {
    if (j > i) break;
    nested = (nested + i * j + 1) >>> 0;
  }
  return { sum, iterations, maxWord: Math.max(...words), nested };
}

const hasBackEdge = (insns: readonly Instruction[]) =>
  insns.some((i) => {
    const cls = i.opcode & 7;
    const op = i.opcode & 0xf0;
    return (cls === Class.JMP || cls === Class.JMP32) && op !== JmpOp.CALL && op !== JmpOp.EXIT && i.off < 0;
  });

describe('loops per target', () => {
  const real = build([loopy], { target: '6.6' });
  const unrolled = build([loopy], { target: '4.19' });

  it('6.6 keeps real loops; 4.19 unrolls them with no backward jump and nothing above ISA v2', () => {
    const r = real.object.programs[0]!.instructions;
    const u = unrolled.object.programs[0]!.instructions;
    expect(hasBackEdge(r)).toBe(true);
    expect(hasBackEdge(u)).toBe(false);
    expect(u.length).toBeGreaterThan(r.length * 3);
    expect(u.length).toBeLessThanOrEqual(4096);
    for (const i of u) expect(isaRank(requiredIsa(i))).toBeLessThanOrEqual(2);
  });

  it.skipIf(!need({ kernel: true }))('both load and compute identical results matching the model', () => {
    using a = loadSpec(real.object, { log: true });
    using b = loadSpec(unrolled.object, { log: true });
    // 4.19's limit on processed instructions holds for the unrolled program.
    const processed = b.programs.get('loopy')!.verifierStats?.processedInsns;
    expect(processed).toBeGreaterThan(0);
    expect(processed!).toBeLessThanOrEqual(131072);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 16, maxLength: 16 }),
        (seed, limit, skip, words) => {
          const bytes = In.encode({ seed, limit, skip, words });
          const want = model(seed, limit, skip, words);
          for (const obj of [a, b]) {
            expect(obj.programs.get('loopy')!.run({ data: new Uint8Array([...bytes, ...new Uint8Array(64)]) }).retval).toBe(0);
            const got = obj.maps.get('loop_out')!.get(0) as { sum: bigint; iterations: number; maxWord: number; nested: number };
            expect(got).toEqual(want);
          }
        },
      ),
      { seed: 77, numRuns: 200 },
    );
  });
});
