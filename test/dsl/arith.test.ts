/**
 * Arithmetic, comparisons, shifts and conversions of every host integer type, run
 * in the kernel (XDP, BPF_PROG_TEST_RUN) on inputs taken from the packet — so the
 * program computes them at run time — and compared with an independent BigInt
 * model of BPF semantics over seeded fast-check inputs, on a v4 target (native
 * sdiv, JMP32) and on 4.19 (ISA v2: software signed division, 64-bit compares).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { arrayMap, buildObject, program, type B, type Int, type HostIntName } from '../../dsl/program/index.js';
import { struct, u8, u16, u32, u64, s8, s16, s32, s64, be16, be32, be64, type IntSchema } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec } from './support.js';

const TYPES = { u8, u16, u32, u64, s8, s16, s32, s64 } as const;
type TName = keyof typeof TYPES;
const BITS: Record<TName, number> = { u8: 8, u16: 16, u32: 32, u64: 64, s8: 8, s16: 16, s32: 32, s64: 64 };

// ---- the oracle: BPF semantics on BigInt, written independently of the DSL ----
const wrap = (t: TName, v: bigint) => (t.startsWith('s') ? BigInt.asIntN(BITS[t], v) : BigInt.asUintN(BITS[t], v));
function oracle(t: TName, a: bigint, b: bigint) {
  const bits = BigInt(BITS[t]);
  const sh = ((b % bits) + bits) % bits;
  const signed = t.startsWith('s');
  const div = b === 0n ? 0n : wrap(t, a / b); // BigInt division truncates toward zero like sdiv
  const mod = b === 0n ? a : wrap(t, a % b);
  let flags = 0;
  if (a < b) flags |= 1;
  if (a <= b) flags |= 2;
  if (a > b) flags |= 4;
  if (a >= b) flags |= 8;
  if (a === b) flags |= 16;
  if (a !== b) flags |= 32;
  const ua = BigInt.asUintN(BITS[t], a);
  return {
    add: wrap(t, a + b), sub: wrap(t, a - b), mul: wrap(t, a * b), div, mod,
    and: wrap(t, a & b), or: wrap(t, a | b), xor: wrap(t, a ^ b),
    shl: wrap(t, a << sh), shr: signed ? wrap(t, a >> sh) : wrap(t, ua >> sh),
    neg: wrap(t, -a), not: wrap(t, ~a), flags,
    to_u8: BigInt.asUintN(8, a), to_s16: BigInt.asIntN(16, a), to_u32: BigInt.asUintN(32, a), to_s64: BigInt.asIntN(64, a), to_u64: BigInt.asUintN(64, a),
    addc: wrap(t, a + 77n), mulc: wrap(t, a * -3n), divc: wrap(t, signed ? a / -7n : a / 7n),
  };
}

function ioSchemas(t: TName) {
  const T = TYPES[t] as IntSchema<string, unknown, unknown>;
  const In = struct(`in_${t}`, { a: T, b: T });
  const Out = struct(`out_${t}`, {
    add: T, sub: T, mul: T, div: T, mod: T, and: T, or: T, xor: T, shl: T, shr: T, neg: T, not: T, flags: u32,
    to_u8: u8, to_s16: s16, to_u32: u32, to_s64: s64, to_u64: u64, addc: T, mulc: T, divc: T,
  });
  return { In, Out };
}

function arithProgram(t: TName) {
  const { In, Out } = ioSchemas(t);
  const out = arrayMap(`out_${t}`, Out, { maxEntries: 1 });
  const prog = program('xdp', `arith_${t}`, (b: B) => {
    const input = b.parse(In, 0).orReturn(1);
    const slot = b.lookup(out, 0).orReturn(2);
    const x = input.a as unknown as Int<'u32'>;
    const y = input.b as unknown as Int<'u32'>;
    const o = slot as unknown as Record<string, { set(v: unknown): void }>;
    o.add!.set(x.add(y));
    o.sub!.set(x.sub(y));
    o.mul!.set(x.mul(y));
    o.div!.set(x.div(y));
    o.mod!.set(x.mod(y));
    o.and!.set(x.and(y));
    o.or!.set(x.or(y));
    o.xor!.set(x.xor(y));
    o.shl!.set(x.shl(y));
    o.shr!.set(x.shr(y));
    o.neg!.set(x.neg());
    o.not!.set(x.not());
    const flags = b.let(u32, 0);
    b.if(x.lt(y), () => flags.set(flags.or(1)));
    b.if(x.le(y), () => flags.set(flags.or(2)));
    b.if(x.gt(y), () => flags.set(flags.or(4)));
    b.if(x.ge(y), () => flags.set(flags.or(8)));
    b.if(x.eq(y), () => flags.set(flags.or(16)));
    b.if(x.ne(y), () => flags.set(flags.or(32)));
    o.flags!.set(flags);
    o.to_u8!.set(x.to(u8));
    o.to_s16!.set(x.to(s16));
    o.to_u32!.set(x.to(u32));
    o.to_s64!.set(x.to(s64));
    o.to_u64!.set(x.to(u64));
    o.addc!.set(x.add(77));
    const signed = t.startsWith('s');
    const m3 = BigInt.asUintN(BITS[t], -3n);
    o.mulc!.set(x.mul(signed ? -3 : BITS[t] === 64 ? m3 : Number(m3)));
    o.divc!.set(x.div(signed ? -7 : 7));
    b.return(0);
  });
  return { prog, In, Out };
}

function arbitraryOf(t: TName): fc.Arbitrary<bigint> {
  const bits = BITS[t];
  const signed = t.startsWith('s');
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const edges = [min, max, 0n, 1n, -1n, 2n, BigInt(bits), BigInt(bits - 1), BigInt(bits + 1)].filter((v) => v >= min && v <= max);
  return fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min, max }), fc.bigInt({ min: -64n > min ? -64n : min, max: 64n }));
}

const hostValue = (t: TName, v: bigint): number | bigint => (BITS[t] === 64 ? v : Number(v));

describe.each(['6.6', '4.19'])('arithmetic on target %s', (target) => {
  it.skipIf(!need({ kernel: true }))('matches the BigInt model for every type', () => {
    for (const t of Object.keys(TYPES) as TName[]) {
      const { prog, In, Out } = arithProgram(t);
      const spec = buildObject([prog], { target });
      using obj = loadSpec(spec);
      const run = obj.programs.get(`arith_${t}`)!;
      const outMap = obj.maps.get(`out_${t}`)!;
      fc.assert(
        fc.property(arbitraryOf(t), arbitraryOf(t), (a, bv) => {
          const bytes = new Uint8Array(64);
          bytes.set(In.encode({ a: hostValue(t, a), b: hostValue(t, bv) } as never));
          const r = run.run({ data: bytes });
          expect(r.retval).toBe(0);
          const got = outMap.get(0) as Record<string, number | bigint>;
          const want = oracle(t, a, bv);
          for (const [k, v] of Object.entries(want)) {
            const g = got[k];
            expect(typeof g === 'bigint' ? g : BigInt(g as number), `${t} ${k}(${a}, ${bv})`).toBe(BigInt(v as bigint | number));
          }
        }),
        { seed: 0x5eed + BITS[t], numRuns: 300 },
      );
      void Out;
    }
  });
});

describe.each(['6.6', '4.19'])('byte orders on target %s', (target) => {
  it.skipIf(!need({ kernel: true }))('be16/be32/be64 load, convert and compare like the host model', () => {
    const In = struct('bo_in', { p16: be16, p32: be32, p64: be64, h16: u16, h32: u32 });
    const Out = struct('bo_out', { h16: u16, h32: u32, h64: u64, b16: be16, b32: be32, eq80: u8, low: be16 });
    const out = arrayMap('bo_out', Out, { maxEntries: 1 });
    const prog = program('xdp', 'byteorder', (b) => {
      const i = b.parse(In, 0).orReturn(1);
      const o = b.lookup(out, 0).orReturn(2);
      o.h16.set(i.p16.to(u16));
      o.h32.set(i.p32.to(u32));
      o.h64.set(i.p64.to(u64));
      o.b16.set(i.h16.to(be16));
      o.b32.set(i.h32.to(be32));
      o.eq80.set(0);
      b.if(i.p16.eq(80), () => o.eq80.set(1));
      o.low.set(i.p32.to(be16));
      b.return(0);
    });
    using obj = loadSpec(buildObject([prog], { target }));
    const run = obj.programs.get('byteorder')!;
    const m = obj.maps.get('bo_out')!;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (p16, p32, p64) => {
        const bytes = new Uint8Array(64);
        bytes.set(In.encode({ p16, p32, p64, h16: p16, h32: p32 }));
        // The raw packet bytes are network order: check the encoding first, independently.
        expect((bytes[0]! << 8) | bytes[1]!).toBe(p16);
        expect(run.run({ data: bytes }).retval).toBe(0);
        const g = m.get(0) as Record<string, number | bigint>;
        expect(g.h16).toBe(p16);
        expect(g.h32).toBe(p32);
        expect(g.h64).toBe(p64);
        expect(g.b16).toBe(p16);
        expect(g.b32).toBe(p32);
        expect(g.eq80).toBe(p16 === 80 ? 1 : 0);
        expect(g.low).toBe(p32 & 0xffff);
      }),
      { seed: 4242, numRuns: 300 },
    );
  });
});

describe('constant folding', () => {
  it('folds constant operands at build time (no ALU instructions emitted)', () => {
    const out = arrayMap('fold_out', u64, { maxEntries: 1 });
    const prog = program('xdp', 'fold', (b) => {
      const c = b.val(u64, 6).mul(7).add(b.val(u64, 100).div(3)).shl(2);
      b.lookup(out, 0).orReturn(0).set(c);
      b.return(0);
    });
    const spec = buildObject([prog], { target: '6.6' });
    const alu = spec.programs[0]!.instructions.filter((i) => (i.opcode & 7) === 7 && (i.opcode & 0xf0) !== 0xb0);
    // Only the stack-address arithmetic for the key (r10 + off) remains.
    expect(alu.every((i) => (i.opcode & 0xf0) === 0x00 && i.imm < 0)).toBe(true);
    const stores = spec.programs[0]!.instructions.filter((i) => i.imm === (6 * 7 + 33) * 4);
    expect(stores.length).toBe(1);
  });
});
