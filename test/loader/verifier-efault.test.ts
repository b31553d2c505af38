/**
 * The verifier's own EFAULT refusals ("The sequence of N jumps is too complex")
 * are verifier errors with the log and the TypeScript line, not a bare
 * "bad address" bpf() failure.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { asm } from '../../dsl/isa/index.js';
import { BpfError, Program, VerifierError } from '../../loader/index.js';
import { need } from '../support/env.js';

const kernel = need({ kernel: true });
const thisFile = fileURLToPath(import.meta.url);
const lineOf = (mark: string) => readFileSync(thisFile, 'utf8').split('\n').findIndex((l) => l.includes(`// @mark:${mark}`)) + 1;

/** A chain of `n` branches on an unknown scalar: every one leaves a pending state the verifier must keep. */
function jumpChain(n: number) {
  const a = asm().ldxw('r2', 'r1', 0); // skb->len: a scalar the verifier cannot predict
  for (let i = 0; i < n; i++) a.jeq('r2', i, `l${i}`).label(`l${i}`).mov64('r3', 0); // @mark:chain
  return a.mov64('r0', 0).exit().build();
}

describe.skipIf(!kernel)('verifier EFAULT', () => {
  it('"sequence of N jumps is too complex" is a VerifierError with its log and TS line', () => {
    let err: unknown;
    try {
      Program.load({ section: 'socket', name: 'jmpchain', instructions: jumpChain(9000) }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.errno).toBe('EFAULT');
    expect(v.reason).toMatch(/^The sequence of \d+ jumps is too complex\.$/);
    expect(v.log).toMatch(/The sequence of 8193 jumps is too complex/);
    expect(v.insnIndex).toBe(16385);
    expect(v.source?.file).toBe(thisFile);
    expect(v.source?.line).toBe(lineOf('chain'));
    expect(v.message).not.toMatch(/bug in tsbpf/);
    expect(v.message).toMatch(/too complex/);
  });

  it('a short chain still loads (the test above fails for the chain length, not the shape)', () => {
    using p = Program.load({ section: 'socket', name: 'jmpshort', instructions: jumpChain(100) });
    expect(p.run({ data: new Uint8Array(64) }).retval).toBe(0);
  });

  it('a plain EFAULT with an empty log stays a BpfError without blaming tsbpf', () => {
    expect(new BpfError('BPF_PROG_LOAD', 14).message).not.toMatch(/bug in tsbpf/);
  });
});
