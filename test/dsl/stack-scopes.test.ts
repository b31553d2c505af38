/**
 * Stack locals of disjoint scopes share bytes: a scope's locals cannot be used
 * once it closes (scope checks), so the recorder hands their bytes back when it
 * closes. Two 320-byte locals in the two arms of an if fit one 512-byte frame;
 * the lazy side of a condition, whose nodes run where the condition is used,
 * keeps its bytes, so a local reserved between the condition and its use is not
 * overwritten. Both run in the kernel on 4.19 and 6.6.
 */
import { describe, expect, it } from 'vitest';
import { build, buildObject, DslError, program } from '../../dsl/program/index.js';
import { array, u32 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec, udpPacket } from './support.js';

const kernel = need({ kernel: true });
const Big = array(u32, 80);

const arms = program('tc', 'ss_arms', (b, ctx) => {
  const out = b.let(u32, 0);
  b.if(
    ctx.len.gt(100),
    () => {
      const x = b.local(Big);
      x.at(79).set(ctx.len);
      out.set(x.at(79).add(1));
    },
    () => {
      const y = b.local(Big);
      y.at(0).set(ctx.len);
      out.set(y.at(0).add(2));
    },
  );
  b.return(out);
});

const lazy = program('tc', 'ss_lazy', (b, ctx) => {
  const cond = ctx.len.gt(10).and(() => {
    const l = b.local(array(u32, 4));
    l.at(3).set(ctx.len);
    return l.at(3).gt(20);
  });
  const kept = b.local(array(u32, 4));
  kept.at(3).set(7);
  const out = b.let(u32, 0);
  b.if(cond, () => out.set(kept.at(3).add(100)), () => out.set(kept.at(3)));
  b.return(out);
});

describe('stack reuse across scopes (build)', () => {
  it('sibling arms share bytes; one arm alone over 512 bytes is still refused', () => {
    const r = build([arms], { target: '6.6' });
    expect(r.ir.get('ss_arms')!.frameSize).toBe(320);
    const tooBig = program('tc', 'ss_big', (b, ctx) => {
      b.if(ctx.len.gt(1), () => {
        b.local(Big);
        b.local(Big);
      });
      b.return(0);
    });
    expect(() => build([tooBig], { target: '6.6' })).toThrow(DslError);
  });

  it('a lazy condition keeps its bytes', () => {
    expect(build([lazy], { target: '6.6' }).ir.get('ss_lazy')!.frameSize).toBe(32);
  });
});

describe.skipIf(!kernel)('stack reuse across scopes (kernel)', () => {
  for (const target of ['4.19', '6.6']) {
    it(`${target}: both arms and the lazy condition compute from their own bytes`, () => {
      using obj = loadSpec(buildObject([arms, lazy], { target }));
      const short = udpPacket(new Uint8Array(4));
      const long = udpPacket(new Uint8Array(80));
      expect(obj.programs.get('ss_arms')!.run({ data: short }).retval).toBe(short.length + 2);
      expect(obj.programs.get('ss_arms')!.run({ data: long }).retval).toBe(long.length + 1);
      expect(obj.programs.get('ss_lazy')!.run({ data: short }).retval).toBe(107);
      expect(obj.programs.get('ss_lazy')!.run({ data: udpPacket(new Uint8Array(0)) }).retval).toBe(107);
      expect(obj.programs.get('ss_lazy')!.run({ data: new Uint8Array(16) }).retval).toBe(7);
    });
  }
});
