/**
 * A program big enough to need splitting on 4.19: a 512-round mixing loop over
 * four packet words. On 5.3+ kernels it is one small program with a real loop;
 * on 4.19 the loop is unrolled to about 9,000 instructions, beyond the 4,096
 * limit, so `tsbpf build --target 4.19` cuts it into tail-called pieces (see
 * `--explain`: pieces, cut lines, carried values).
 */
import { arrayMap, program } from '../dsl/program/index.js';
import { array, struct, u32, u64 } from '../dsl/types/index.js';

export const Words = struct('big_words', { w: array(u32, 4) });
/** Slot 0: the mixed result. */
export const bigResults = arrayMap('big_results', u64, { maxEntries: 1 });

/** TC_ACT_OK */
const OK = 0;
/** Rounds of the loop. */
export const BIG_ROUNDS = 512;

export const bigLoop = program('tc', 'big_loop', (b) => {
  const p = b.parse(Words, 0).orReturn(OK);
  const a = b.let(u32, p.w.at(0));
  const c = b.let(u32, p.w.at(1));
  const d = b.let(u32, p.w.at(2));
  const e = b.let(u32, p.w.at(3));
  b.loop(BIG_ROUNDS, (i) => {
    a.set(a.add(c).xor(i));
    d.set(d.xor(a));
    d.set(d.shl(7).or(d.shr(25)));
    c.set(c.add(d).mul(0x2545f491));
    b.if(c.gt(e), () => e.set(e.xor(c)), () => e.set(e.add(i)));
  });
  const out = b.lookup(bigResults, 0).orReturn(OK);
  out.set(a.xor(c).to(u64).shl(32).or(d.xor(e).to(u64)));
  b.return(OK);
});

/** The same computation in TypeScript (for tests): the u64 stored in slot 0. */
export function bigLoopReference(w: readonly number[]): bigint {
  let [a, c, d, e] = w.map((x) => x >>> 0) as [number, number, number, number];
  for (let i = 0; i < BIG_ROUNDS; i++) {
    a = ((a + c) >>> 0) ^ i;
    a >>>= 0;
    d = (d ^ a) >>> 0;
    d = ((d << 7) | (d >>> 25)) >>> 0;
    c = Math.imul((c + d) >>> 0, 0x2545f491) >>> 0;
    if (c > e) e = (e ^ c) >>> 0;
    else e = (e + i) >>> 0;
  }
  return (BigInt((a ^ c) >>> 0) << 32n) | BigInt((d ^ e) >>> 0);
}
