/**
 * The `bpf_loop` loop strategy: huge loops on >= 5.17 profiles (and loops marked
 * `{ strategy: 'bpf_loop' }`) become a static callback called through helper 181,
 * referenced by `lddw src=BPF_PSEUDO_FUNC`; run for real with BPF_PROG_TEST_RUN.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeObject } from '../../dsl/elf/index.js';
import { fitObject, formatFitReports } from '../../dsl/fit/index.js';
import { targetProfile } from '../../dsl/program/build.js';
import { DslError } from '../../dsl/ir/errors.js';
import { CallKind, Class, JmpOp, LDDW, PseudoSource, type Instruction } from '../../dsl/isa/index.js';
import { buildObject, progArray, program } from '../../dsl/program/index.js';
import type { ObjectSpec } from '../../dsl/object/index.js';
import { struct, u32, u64, u8 } from '../../dsl/types/index.js';
import { loadObject } from '../../loader/index.js';
import { need } from '../support/env.js';

const kernel = need({ kernel: true });
const thisFile = fileURLToPath(import.meta.url);
const lineOf = (mark: string) => readFileSync(thisFile, 'utf8').split('\n').findIndex((l) => l.includes(`// @mark:${mark}`)) + 1;

const N = 1_000_000;
/** Sum of 0..N-1, shifted right by 8 and truncated to 32 bits (the return value). */
const expectedSum = Number(((BigInt(N) * BigInt(N - 1)) / 2n >> 8n) & 0xffffffffn);

const sumLoop = program('tc', 'bl_sum', (b) => {
  const sum = b.let(u64, 0);
  b.loop(N, (i) => sum.set(sum.add(i.to(u64))));
  b.return(sum.shr(8).to(u32));
});

// Explicit strategy; break() stops the loop (the callback returns 1); a b.local
// of the caller is read and written from the callback; continue() skips odd i.
const breakLoop = program('tc', 'bl_break', (b, ctx) => {
  const acc = b.local(u64, 0);
  const seen = b.let(u32, 0);
  b.loop(
    100,
    (i) => {
      b.if(i.eq(ctx.mark), () => b.break());
      seen.set(seen.add(1));
      b.if(i.and(1).ne(0), () => b.continue());
      acc.set(acc.add(i.to(u64)));
    },
    { strategy: 'bpf_loop' },
  );
  b.return(acc.to(u32).mul(1000).add(seen));
});

// A lazy and() right-hand side inside a bpf_loop body reads a caller stack local:
// its load must go through the callback's context struct like the body's own.
const condLoop = program('tc', 'bl_cond', (b) => {
  const acc = b.local(u64, 0);
  const hits = b.let(u32, 0);
  b.loop(
    50,
    (i) => {
      b.if(i.ge(10).and(() => acc.get().lt(100)), () => hits.set(hits.add(1)));
      acc.set(acc.add(i.to(u64)));
    },
    { strategy: 'bpf_loop' },
  );
  b.return(hits);
});

const isCall = (i: Instruction, helper: number) => i.opcode === (Class.JMP | JmpOp.CALL) && i.src === CallKind.HELPER && i.imm === helper;
const isFuncRef = (i: Instruction) => i.opcode === LDDW && i.src === PseudoSource.FUNC;

function run(spec: ObjectSpec, name: string, ctx?: { mark: number }): number {
  using obj = loadObject(writeObject(spec));
  const skb = new Uint8Array(192); // struct __sk_buff
  if (ctx) new DataView(skb.buffer).setUint32(8, ctx.mark, true);
  return obj.programs.get(name)!.run({ data: new Uint8Array(64), ctx: skb }).retval;
}

describe('bpf_loop strategy (lowering)', () => {
  it('a 1,000,000-iteration loop on 6.6 becomes bpf_loop with a static PSEUDO_FUNC callback', () => {
    const spec = buildObject([sumLoop], { target: '6.6' });
    const main = spec.programs[0]!.instructions;
    expect(main.filter((i) => isCall(i, 181))).toHaveLength(1);
    expect(main.filter(isFuncRef).map((i) => i.meta?.ref)).toEqual([{ kind: 'call', name: 'bl_sum_loop0' }]);
    const cb = spec.subprograms?.find((s) => s.name === 'bl_sum_loop0');
    expect(cb).toBeDefined();
    expect(cb!.linkage ?? 'static').toBe('static');
    // No backward jump is left: the verifier checks the callback once.
    expect(main.some((i) => (i.opcode & 7) === Class.JMP && i.off < 0)).toBe(false);
    // The fit report (build --explain / --json) counts it, with the callback linked in.
    const { reports } = fitObject(spec, targetProfile('6.6'));
    expect(reports[0]!.bpfLoops).toBe(1);
    expect(reports[0]!.subprograms).toEqual(['bl_sum_loop0']);
    expect(formatFitReports(reports)).toContain('  loops: 0 real (backward jumps), 1 bpf_loop call');
  });

  it('a short loop stays a bounded loop on 6.6; 5.15 (no bpf_loop) keeps the bounded loop', () => {
    const short = program('tc', 'bl_short', (b) => {
      const s = b.let(u64, 0);
      b.loop(1000, (i) => s.set(s.add(i.to(u64))));
      b.return(s.to(u32));
    });
    for (const [p, target] of [[short, '6.6'], [sumLoop, '5.15']] as const) {
      const spec = buildObject([p], { target });
      expect(spec.programs[0]!.instructions.some((i) => isCall(i, 181)), target).toBe(false);
      expect(spec.subprograms ?? []).toEqual([]);
    }
  });

  it('on 4.19 an explicit bpf_loop is refused, and the auto loop too large to unroll is a clear error', () => {
    const e1 = (() => { try { buildObject([breakLoop], { target: '4.19' }); } catch (e) { return e; } })();
    expect(e1).toBeInstanceOf(DslError);
    expect((e1 as DslError).code).toBe('DSL_TARGET');
    expect((e1 as Error).message).toMatch(/bpf_loop helper \(kernel 5\.17\); target 4\.19/);
    const e2 = (() => { try { buildObject([sumLoop], { target: '4.19' }); } catch (e) { return e; } })();
    expect((e2 as DslError).code).toBe('DSL_TOO_BIG');
    expect((e2 as Error).message).toMatch(/loop of 1000000 iterations: target 4\.19 has no bounded loops/);
  });

  it('return() and tail calls inside a bpf_loop body are build-time errors naming the line', () => {
    const bad = program('tc', 'bl_ret', (b, ctx) => {
      b.loop(10, (i) => {
        b.if(i.eq(ctx.mark), () => b.return(1)); // @mark:ret
      }, { strategy: 'bpf_loop' });
      b.return(0);
    });
    const jmp = progArray('bl_jmp', { maxEntries: 1 });
    const tail = program('tc', 'bl_tail', (b) => {
      b.loop(10, () => b.tailCall(jmp, 0), { strategy: 'bpf_loop' }); // @mark:tail
      b.return(0);
    });
    for (const [p, mark, msg] of [[bad, 'ret', /return\(\) inside a loop lowered to bpf_loop/], [tail, 'tail', /tail calls are not allowed inside a loop lowered to bpf_loop/]] as const) {
      const e = (() => { try { buildObject([p], { target: '6.6' }); } catch (x) { return x; } })();
      expect(e).toBeInstanceOf(DslError);
      expect((e as Error).message).toMatch(msg);
      expect((e as DslError).source?.file).toBe(thisFile);
      expect((e as DslError).source?.line).toBe(lineOf(mark));
    }
  });

  it('an unknown strategy is refused at the builder call', () => {
    const p = program('tc', 'bl_unknown', (b) => {
      b.loop(2, () => {}, { strategy: 'fast' as never });
      b.return(0);
    });
    expect(() => buildObject([p], { target: '6.6' })).toThrow(/unknown strategy "fast"/);
  });
});

const Hdr = struct('bl_hdr', { a: u8, b: u8 });
// A packet pointer checked in the caller and read in the callback.
const packetLoop = program('tc', 'bl_pkt', (b) => {
  const h = b.parse(Hdr, 0).orReturn(0);
  const s = b.let(u32, 0);
  b.loop(10, () => s.set(s.add(h.b.to(u32))), { strategy: 'bpf_loop' });
  b.return(s);
});

describe.skipIf(!kernel)('bpf_loop strategy (kernel)', () => {
  it('a packet pointer checked before the loop is read inside the callback', () => {
    using obj = loadObject(writeObject(buildObject([packetLoop], { target: '6.6' })));
    const data = new Uint8Array(64);
    data[1] = 7;
    expect(obj.programs.get('bl_pkt')!.run({ data }).retval).toBe(70);
  });

  it('sums 0..999,999 through bpf_loop: loads on the 6.6 profile and returns the right value', () => {
    expect(run(buildObject([sumLoop], { target: '6.6' }), 'bl_sum')).toBe(expectedSum);
  });

  it('a lazy condition in the body reads caller locals through the callback context', () => {
    // i >= 10 while acc (sum of 0..i-1) < 100: acc(10) = 45, acc(14) = 91, acc(15) = 105 -> i = 10..14.
    let acc = 0;
    let hits = 0;
    for (let i = 0; i < 50; i++) {
      if (i >= 10 && acc < 100) hits++;
      acc += i;
    }
    expect(run(buildObject([condLoop], { target: '6.6' }), 'bl_cond')).toBe(hits);
  });

  it('break() stops the loop, continue() skips, caller locals are shared', () => {
    const spec = buildObject([breakLoop], { target: '6.6' });
    // Stop at i = 10: seen = 10 iterations, acc = 0+2+4+6+8 = 20.
    expect(run(spec, 'bl_break', { mark: 10 })).toBe(20 * 1000 + 10);
    // Never stop: seen = 100, acc = sum of even i below 100 = 2450.
    expect(run(spec, 'bl_break', { mark: 1000 })).toBe(2450 * 1000 + 100);
  });
});
