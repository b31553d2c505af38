/**
 * The IR clean-ups of dsl/lower/optimize.ts and the argument rematerialisation of
 * the linearizer: for each pattern a program where it occurs, the instruction
 * sequence with the clean-ups is shorter than without them (`optimize: false`),
 * and the optimised program still loads and computes the right result under
 * BPF_PROG_TEST_RUN.
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, build, program } from '../../dsl/program/index.js';
import { AluOp, Class, Source, type Instruction } from '../../dsl/isa/index.js';
import { lowerFunction } from '../../dsl/lower/index.js';
import { array, be16, be32, struct, u16, u32, u64, u8 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec } from './support.js';

const Eth = struct('opt_eth', { dst: array(u8, 6), src: array(u8, 6), proto: be16 });
const Ip4 = struct('opt_ip4', { verIhl: u8, tos: u8, totLen: be16, id: be16, frag: be16, ttl: u8, proto: u8, check: be16, saddr: be32, daddr: be32 });
const byProto = arrayMap('opt_by_proto', u32, { maxEntries: 256 });

/** Two parses (data/data_end read once), a header pointer at data + 14, a u32 map key local. */
const twoParses = program('xdp', 'opt_parse', (b) => {
  const eth = b.parse(Eth, 0).orReturn(1);
  b.if(eth.proto.ne(0x0800), () => b.return(2));
  const ip = b.parse(Ip4, 14).orReturn(3);
  const slot = b.lookup(byProto, ip.proto.to(u32)).orReturn(4);
  slot.set(ip.daddr.to(u32));
  b.return(ip.ttl.to(u32));
});

const Ports = struct('opt_ports', { port: be16, n: u16 });
const out = arrayMap('opt_out', Ports, { maxEntries: 1 });

/** A network-order field converted to host order and back; a u16 sum stored in a u16 field. */
const swaps = program('xdp', 'opt_swap', (b) => {
  const h = b.parse(Ports, 0).orReturn(1);
  const port = h.port.get().to(u16).to(be16);
  const n = h.n.get().add(1);
  const slot = b.lookup(out, 0).orReturn(2);
  slot.port.set(port);
  slot.n.set(n);
  b.return(0);
});

function both(p: typeof twoParses | typeof swaps): { opt: readonly Instruction[]; plain: readonly Instruction[] } {
  const r = build([p], { target: '6.6' });
  const plain = lowerFunction(r.ir.get(p.name)!, { profile: r.profile, optimize: false }).instructions;
  return { opt: r.object.programs[0]!.instructions, plain };
}
const count = (insns: readonly Instruction[], f: (i: Instruction) => boolean) => insns.filter(f).length;
const isLdxw = (i: Instruction) => i.opcode === (Class.LDX | 0x60 | 0x00);
const isCtxWordLoad = (i: Instruction) => isLdxw(i) && (i.off === 0 || i.off === 4);
const isAddImm = (k: number) => (i: Instruction) => i.opcode === (Class.ALU64 | AluOp.ADD | Source.K) && i.imm === k;
const isStackStore = (i: Instruction) => ((i.opcode & 7) === Class.ST || (i.opcode & 7) === Class.STX) && i.dst === 10;
const isRegMove = (i: Instruction) => i.opcode === (Class.ALU64 | AluOp.MOV | Source.X) && i.src !== 10;
const isSwap = (i: Instruction) => (i.opcode & 0xf0) === AluOp.END && (i.opcode & 7) === Class.ALU;
const isMask16 = (i: Instruction) => (i.opcode & 0xf7) === (AluOp.AND | Source.K | Class.ALU) && i.imm === 0xffff;

function packet(proto: number, ttl: number, daddr: number, etherType = 0x0800): Uint8Array {
  const p = new Uint8Array(64);
  const dv = new DataView(p.buffer);
  dv.setUint16(12, etherType);
  p[14] = 0x45;
  p[22] = ttl;
  p[23] = proto;
  dv.setUint32(30, daddr);
  return p;
}

describe('IR clean-ups shrink the code', () => {
  it('data/data_end are read once across two parses', () => {
    const { opt, plain } = both(twoParses);
    expect(count(plain, isCtxWordLoad)).toBe(4);
    expect(count(opt, isCtxWordLoad)).toBe(2);
    expect(opt.length).toBeLessThan(plain.length);
  });

  it('the header pointer data + 14 is folded into the bounds check and the field offsets', () => {
    const { opt, plain } = both(twoParses);
    // Without: data + 14 for the Ethernet check, again for the IPv4 header pointer.
    expect(count(plain, isAddImm(14))).toBe(2);
    expect(count(plain, isAddImm(34))).toBe(0);
    // With: one add per bounds check, data + 14 and data + 34; fields are read at data + 23 / + 30.
    expect(count(opt, isAddImm(14))).toBe(1);
    expect(count(opt, isAddImm(34))).toBe(1);
  });

  it('the zero-fill of a u32 key that its store overwrites is dropped', () => {
    const { opt, plain } = both(twoParses);
    expect(count(plain, isStackStore)).toBe(2);
    expect(count(opt, isStackStore)).toBe(1);
  });

  it('the map and key addresses are made in the argument registers (no copies)', () => {
    const { opt, plain } = both(twoParses);
    expect(count(opt, isRegMove)).toBeLessThan(count(plain, isRegMove));
  });

  it('swap(swap(x)) stored as 16 bits needs no swap, and a u16 truncation before a 16-bit store goes', () => {
    const { opt, plain } = both(swaps);
    expect(count(plain, isSwap)).toBe(2);
    expect(count(opt, isSwap)).toBe(0);
    expect(count(plain, isMask16)).toBe(1);
    expect(count(opt, isMask16)).toBe(0);
    expect(opt.length).toBeLessThan(plain.length);
  });

  it.skipIf(!need({ kernel: true }))('the optimised programs load and compute the right results', () => {
    {
      using obj = loadSpec(build([twoParses], { target: '6.6' }).object);
      const prog = obj.programs.get('opt_parse')!;
      expect(prog.run({ data: packet(17, 63, 0x0a000005) }).retval).toBe(63);
      expect(obj.maps.get('opt_by_proto')!.get(17)).toBe(0x0a000005);
      expect(prog.run({ data: packet(6, 9, 0x01020304, 0x86dd) }).retval).toBe(2);
      expect(prog.run({ data: packet(6, 9, 0x01020304).slice(0, 20) }).retval).toBe(3);
    }
    {
      using obj = loadSpec(build([swaps], { target: '6.6' }).object);
      const data = new Uint8Array(64);
      data.set([0x12, 0x34, 0xff, 0xff]);
      expect(obj.programs.get('opt_swap')!.run({ data }).retval).toBe(0);
      expect(obj.maps.get('opt_out')!.get(0)).toEqual({ port: 0x1234, n: 0 });
      data.set([0xab, 0xcd, 0x41, 0x00]);
      obj.programs.get('opt_swap')!.run({ data });
      expect(obj.maps.get('opt_out')!.get(0)).toEqual({ port: 0xabcd, n: 0x42 });
    }
  });
});

const spillOut = arrayMap('opt_spill_out', u64, { maxEntries: 2 });
const Words = struct('opt_words', { w: array(u32, 8) });

/** `phases` times: eight values read, a helper call, all eight used after it (more than r6–r9 hold). */
function spillPhases(name: string, phases: number) {
  return program('xdp', name, (b) => {
    const p = b.parse(Words, 0).orReturn(1);
    for (let phase = 0; phase < phases; phase++) {
      const vals = Array.from({ length: 8 }, (_, k) => p.w.at(k).get().to(u64).mul(k + 1 + phase));
      const t = b.ktimeGetNs();
      let sum = t.sub(t);
      for (const v of vals) sum = sum.add(v);
      const r = b.prandom();
      for (const v of vals) sum = sum.xor(v.shl(3));
      b.lookup(spillOut, phase).orReturn(2).set(sum.add(r.sub(r).to(u64)));
    }
    b.return(0);
  });
}

describe('spill slots', () => {
  it('values spilled in two phases that are never live together share stack slots', () => {
    const spillBytes = (phases: number) => {
      const r = build([spillPhases(`opt_spill${phases}`, phases)], { target: '6.6' });
      // Stack beyond the locals (one 8-byte map key per phase).
      return r.lowered.get(`opt_spill${phases}`)!.stackSize - r.ir.get(`opt_spill${phases}`)!.frameSize;
    };
    const [one, two, three] = [spillBytes(1), spillBytes(2), spillBytes(3)];
    expect(one).toBeGreaterThanOrEqual(4 * 8);
    // Each phase spills as much as the first; the phases reuse the same slots.
    expect(three).toBe(two);
    expect(two).toBeLessThan(2 * one);
  });

  it.skipIf(!need({ kernel: true }))('the program with shared slots computes the right result', () => {
    using obj = loadSpec(build([spillPhases('opt_spill2', 2)], { target: '6.6' }).object);
    const data = new Uint8Array(64);
    const dv = new DataView(data.buffer);
    const words = [0xffffffff, 1, 2, 0x80000000, 12345, 0, 7, 0xdeadbeef];
    words.forEach((w, k) => dv.setUint32(k * 4, w, true));
    expect(obj.programs.get('opt_spill2')!.run({ data }).retval).toBe(0);
    for (const phase of [0, 1]) {
      const vals = words.map((w, k) => BigInt.asUintN(64, BigInt(w) * BigInt(k + 1 + phase)));
      let sum = 0n;
      for (const v of vals) sum = BigInt.asUintN(64, sum + v);
      for (const v of vals) sum ^= BigInt.asUintN(64, v << 3n);
      expect(obj.maps.get('opt_spill_out')!.get(phase)).toBe(sum);
    }
  });
});

const Byte = struct('opt_byte', { b: u8 });
/** A local with no initialiser, written on both paths (`both`) or only on one before it is read. */
function branchLocal(name: string, both: boolean) {
  return program('xdp', name, (b) => {
    const p = b.parse(Byte, 0).orReturn(1);
    const v = b.local(u32);
    b.if(p.b.eq(1), () => v.set(7), both ? () => v.set(9) : undefined);
    b.return(v.get());
  });
}

describe('zero-fill of a local across branches', () => {
  const zeroStores = (insns: readonly Instruction[]) => count(insns, (i) => (i.opcode & 7) === Class.ST && i.dst === 10 && i.imm === 0);

  it('is dropped when both branches write the local before it is read, kept when one does not', () => {
    const full = build([branchLocal('opt_both', true)], { target: '6.6' });
    const plainFull = lowerFunction(full.ir.get('opt_both')!, { profile: full.profile, optimize: false }).instructions;
    expect(zeroStores(plainFull)).toBe(1);
    expect(zeroStores(full.object.programs[0]!.instructions)).toBe(0);
    const half = build([branchLocal('opt_half', false)], { target: '6.6' });
    expect(zeroStores(half.object.programs[0]!.instructions)).toBe(1);
  });

  it.skipIf(!need({ kernel: true }))('both programs return what the local holds', () => {
    using obj = loadSpec(build([branchLocal('opt_both', true), branchLocal('opt_half', false)], { target: '6.6' }).object);
    const data = (x: number) => new Uint8Array([x, ...new Uint8Array(63)]);
    expect(obj.programs.get('opt_both')!.run({ data: data(1) }).retval).toBe(7);
    expect(obj.programs.get('opt_both')!.run({ data: data(2) }).retval).toBe(9);
    expect(obj.programs.get('opt_half')!.run({ data: data(1) }).retval).toBe(7);
    expect(obj.programs.get('opt_half')!.run({ data: data(2) }).retval).toBe(0);
  });
});
