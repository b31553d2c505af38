/**
 * A loop-heavy program: 64 rounds of an FNV-1a style hash that mixes the loop
 * counter with four words read from the packet, then 32 rounds of xorshift; the
 * result goes to a map. `loop(n, …)` is a
 * real bounded loop on kernels that have them (5.3+) and fully unrolled on older
 * ones — same source, compare `--target 6.6 --explain` with `--target 4.19 --explain`.
 */
import { arrayMap, program } from '../dsl/program/index.js';
import { array, struct, u32, u64 } from '../dsl/types/index.js';

/** The bytes the hash reads. */
export const Payload = struct('loops_payload', { words: array(u32, 4) });
/** Result slot 0: the hash. */
export const results = arrayMap('loops_results', u64, { maxEntries: 1 });

/** TC_ACT_OK */
const OK = 0;

export const hashLoop = program('tc', 'hash_loop', (b) => {
  const p = b.parse(Payload, 0).orReturn(OK);
  const w0 = p.words.at(0);
  const w1 = p.words.at(1);
  const w2 = p.words.at(2);
  const w3 = p.words.at(3);
  const h = b.let(u32, 0x811c9dc5);
  b.loop(64, (i) => {
    h.set(h.xor(i).mul(0x01000193));
    b.if(i.and(1).eq(0), () => h.set(h.xor(w0).add(w1)), () => h.set(h.xor(w2).add(w3)));
  });
  const x = b.let(u32, h);
  b.loop(32, () => {
    x.set(x.xor(x.shl(13)));
    x.set(x.xor(x.shr(17)));
    x.set(x.xor(x.shl(5)));
  });
  const out = b.lookup(results, 0).orReturn(OK);
  out.set(x.to(u64).shl(32).or(h.to(u64)));
  b.return(OK);
});
