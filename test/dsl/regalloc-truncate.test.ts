/**
 * A 32-bit truncation (`x.to(u32)` of a u64, a `w_d = w_s` move) is not a copy:
 * the register allocator must not give it the source's register while the 64-bit
 * source is still needed, or the source loses its upper half. (Found in the
 * socket LB, where the socket cookie is hashed as a u32 and then used whole as a key.)
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, build, program } from '../../dsl/program/index.js';
import { Class, describeInsn } from '../../dsl/isa/index.js';
import { struct, u32, u64 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec } from './support.js';

const Io = struct('rt_io', { wide: u64, low: u32, hash: u32, again: u64 });
const io = arrayMap('rt_io', Io, { maxEntries: 1 });

const prog = program('xdp', 'rt_trunc', (b) => {
  const p = b.lookup(io, 0).orReturn(1);
  const wide = p.wide.get();
  const low = wide.to(u32);
  p.low.set(low);
  p.hash.set(low.mul(0x9e3779b1));
  // The whole 64-bit value again, after its truncation was computed.
  p.again.set(wide);
  b.return(2);
});

describe('register allocation of 32-bit truncations', () => {
  it('keeps the 64-bit source in its own register while it is still live', () => {
    const insns = build([prog], { target: '6.6' }).object.programs[0]!.instructions;
    // The store of `again` (the u64 at offset 16) must not read a register a `w = w` truncation wrote since the load.
    const text = insns.map((i, k) => describeInsn(i, k));
    const movs32 = insns.filter((i) => i.opcode === (Class.ALU | 0xb0 | 0x08));
    for (const m of movs32) expect(m.dst, `in-place truncation of a live value: ${text.join(' | ')}`).not.toBe(m.src);
  });

  it.skipIf(!need({ kernel: true }))('computes the truncation and keeps the whole value (kernel)', () => {
    const { object } = build([prog], { target: '6.6' });
    using obj = loadSpec(object);
    const wide = 0x1234_5678_9abc_def0n;
    obj.maps.get('rt_io')!.set(0, { wide, low: 0, hash: 0, again: 0n });
    expect(obj.programs.get('rt_trunc')!.run({ data: new Uint8Array(64) }).retval).toBe(2);
    const out = obj.maps.get('rt_io')!.get(0) as { wide: bigint; low: number; hash: number; again: bigint };
    expect(BigInt(out.again)).toBe(wide);
    expect(out.low).toBe(0x9abc_def0);
    expect(out.hash).toBe(Number(BigInt.asUintN(32, 0x9abc_def0n * 0x9e3779b1n)));
  });
});
