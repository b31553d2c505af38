/**
 * Code generation details: register allocation (values live across helper calls
 * in r6–r9, spills to the stack when more are live, and the spilled program still
 * computes the right result in the kernel), ALU32/JMP32 choice per ISA level, no
 * instruction above the target's ISA, and a source location on every instruction.
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, build, program } from '../../dsl/program/index.js';
import { Class, JmpOp, CallKind, isaRank, requiredIsa, type Instruction } from '../../dsl/isa/index.js';
import { array, struct, u32, u64 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec } from './support.js';

const Words = struct('cg_words', { w: array(u32, 8) });
const out = arrayMap('cg_out', u64, { maxEntries: 1 });

const manyLive = program('xdp', 'cg_spill', (b) => {
  const p = b.parse(Words, 0).orReturn(1);
  // Eight values read before a helper call and all used after it: more than r6–r9 hold.
  const vals = Array.from({ length: 8 }, (_, k) => p.w.at(k).get().to(u64).mul(k + 1));
  const t = b.ktimeGetNs();
  let sum = t.sub(t);
  for (const v of vals) sum = sum.add(v);
  const r = b.prandom();
  for (const v of vals) sum = sum.xor(v.shl(3));
  b.lookup(out, 0).orReturn(2).set(sum.add(r.sub(r).to(u64)));
  b.return(0);
});

const isCall = (i: Instruction) => i.opcode === (Class.JMP | JmpOp.CALL) && i.src === CallKind.HELPER;

describe('register allocation', () => {
  it('keeps values live across calls in r6–r9 and spills the rest to the stack', () => {
    const { object, lowered } = build([manyLive], { target: '6.6' });
    const insns = object.programs[0]!.instructions;
    // Stack stores of registers through r10 beyond the map key's slot: spills.
    const spills = insns.filter((i) => (i.opcode & 7) === Class.STX && i.dst === 10);
    expect(spills.length).toBeGreaterThanOrEqual(4);
    expect(lowered.get('cg_spill')!.stackSize).toBeGreaterThanOrEqual(8 * 4);
    // Right after each helper call, nothing reads r1–r5 before writing them.
    insns.forEach((insn, k) => {
      if (!isCall(insn)) return;
      const next = insns[k + 1]!;
      const reads = (next.opcode & 7) === Class.STX || (next.opcode & 7) === Class.LDX ? [next.src] : [];
      for (const r of reads) expect(r === 0 || r >= 6).toBe(true);
    });
  });

  it.skipIf(!need({ kernel: true }))('the spilled program computes the right result in the kernel', () => {
    const { object } = build([manyLive], { target: '6.6' });
    using obj = loadSpec(object);
    const data = new Uint8Array(64);
    const dv = new DataView(data.buffer);
    const words = [0xffffffff, 1, 2, 0x80000000, 12345, 0, 7, 0xdeadbeef];
    words.forEach((w, k) => dv.setUint32(k * 4, w, true));
    expect(obj.programs.get('cg_spill')!.run({ data }).retval).toBe(0);
    let sum = 0n;
    const vals = words.map((w, k) => BigInt(w) * BigInt(k + 1));
    for (const v of vals) sum = BigInt.asUintN(64, sum + v);
    for (const v of vals) sum ^= BigInt.asUintN(64, v << 3n);
    expect(obj.maps.get('cg_out')!.get(0)).toBe(sum);
  });
});

describe('instruction selection per target', () => {
  const cmp = program('tc', 'cg_cmp', (b, ctx) => {
    b.if(ctx.len.gt(100), () => b.return(ctx.mark.add(1)));
    b.return(0);
  });

  it('uses ALU32 for 32-bit types everywhere and JMP32 only from ISA v3', () => {
    for (const [target, jmp32] of [['4.19', false], ['5.4', true], ['6.6', true]] as const) {
      const insns = build([cmp], { target }).object.programs[0]!.instructions;
      expect(insns.some((i) => (i.opcode & 7) === Class.JMP32)).toBe(jmp32);
      expect(insns.some((i) => (i.opcode & 7) === Class.ALU)).toBe(true);
      const rank = isaRank(build([cmp], { target }).profile.isa);
      for (const i of insns) expect(isaRank(requiredIsa(i))).toBeLessThanOrEqual(rank);
    }
  });

  it('gives every instruction the TypeScript source location that produced it', () => {
    const insns = build([manyLive, cmp], { target: '6.6' }).object.programs.flatMap((p) => p.instructions);
    for (const i of insns) expect(i.meta?.source?.file).toMatch(/codegen\.test\.ts$/);
  });
});
