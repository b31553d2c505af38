/**
 * Splitting carries what it can recompute: a program that parses
 * Ethernet+IPv4+TCP, does ~6,000 instructions of work (unrolled on 4.19) and
 * then writes through the parsed header pointers is split for 4.19 — the next
 * piece re-derives `data + 14` / `data + 34` from the context and redoes the
 * bounds check — and its PROG_TEST_RUN output matches a reference computed here
 * and the unsplit 6.6 build. A pointer that cannot be recomputed (a map value, a
 * packet pointer with a variable offset) blocks every cut, and the error names
 * the TypeScript line that produced it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FitError, fitObject, splitProgram } from '../../dsl/fit/index.js';
import { profileByName, type TargetProfile } from '../../dsl/kernel/index.js';
import { arrayMap, buildObject, fn, program, ptrParam, type ProgramDef } from '../../dsl/program/index.js';
import { asm, slots } from '../../dsl/isa/index.js';
import type { ObjectSpec, ProgramSpec } from '../../dsl/object/index.js';
import { array, be16, be32, struct, u8, u16, u32 } from '../../dsl/types/index.js';
import { loadObject } from '../../loader/object/index.js';
import { need } from '../support/env.js';
import { compile } from '../../dsl/compile/index.js';

const kernel = need({ kernel: true });
const file = fileURLToPath(import.meta.url);
const lines = readFileSync(file, 'utf8').split('\n');
const lineOf = (name: string) => lines.findIndex((l) => l.includes(`// @mark:${name}`)) + 1;

const Eth = struct('sp_eth', { dst: array(u8, 6), src: array(u8, 6), proto: be16 });
const Ip = struct('sp_ip', { vihl: u8, tos: u8, len: be16, id: be16, frag: be16, ttl: u8, proto: u8, csum: be16, saddr: be32, daddr: be32 });
const Tcp = struct('sp_tcp', { sport: be16, dport: be16, seq: be32, ack: be32, off: u8, flags: u8, win: be16, csum: be16, urg: be16 });
const ROUNDS = 1200;

const hdr = program('tc', 'sp_hdr', (b) => {
  const eth = b.parse(Eth, 0).orReturn(2);
  b.if(eth.proto.ne(0x0800), () => b.return(3));
  const ip = b.parse(Ip, 14).orReturn(2);
  const tcp = b.parse(Tcp, 34).orReturn(2);
  const acc = b.let(u32, tcp.seq.to(u32));
  b.loop(ROUNDS, (i) => acc.set(acc.mul(2654435761).xor(acc.shr(13)).add(i)));
  tcp.ack.set(acc.to(be32));
  ip.ttl.set(ip.ttl.sub(1));
  b.return(acc.and(0xff).add(tcp.dport.to(be16).to(u32).and(0)));
});

function reference(p: Uint8Array): { retval: number; packet: Uint8Array } {
  let acc = ((p[38]! << 24) | (p[39]! << 16) | (p[40]! << 8) | p[41]!) >>> 0;
  for (let i = 0; i < ROUNDS; i++) acc = ((Math.imul(acc, 2654435761) ^ (acc >>> 13)) + i) >>> 0;
  const q = Uint8Array.from(p);
  q.set([acc >>> 24, (acc >>> 16) & 0xff, (acc >>> 8) & 0xff, acc & 0xff], 42);
  q[22] = (q[22]! - 1) & 0xff;
  return { retval: acc & 0xff, packet: q };
}

function tcpPacket(seed: number): Uint8Array {
  const p = new Uint8Array(70);
  for (let k = 0; k < p.length; k++) p[k] = (seed * 31 + k * 7) & 0xff;
  p.set([0x08, 0x00], 12);
  p[14] = 0x45;
  p[22] = 64;
  p[23] = 6;
  return p;
}

/** Builds with the size check relaxed (fitting splits afterwards), as the CLI does. */
function buildFor(prog: ProgramDef<string>, target: string, carrier: 'auto' | 'map' | 'cb' = 'auto') {
  const profile = profileByName(target);
  const relaxed: TargetProfile = { ...profile, maxInsns: Math.max(profile.maxInsns, 1 << 30) };
  return fitObject(buildObject([prog], { target: relaxed }), profile, { split: () => ({ carrier }) });
}

function fitError(f: () => unknown): FitError {
  try {
    f();
  } catch (e) {
    if (e instanceof FitError) return e;
    throw e;
  }
  throw new Error('expected a FitError');
}

describe('splitting carries packet pointers (pure)', () => {
  it('4.19: split into pieces under 4,096 instructions, the header pointers re-derived at the cut', () => {
    const { spec, reports } = buildFor(hdr, '4.19');
    const split = reports[0]!.split;
    expect(split.pieces.length).toBeGreaterThanOrEqual(2);
    for (const p of spec.programs) expect(p.instructions.reduce((n, i) => n + slots(i), 0)).toBeLessThanOrEqual(4096);
    const carried = split.cuts.flatMap((c) => c.carried).join('\n');
    // The header pointers are data + constant; lowering folds the constants into the
    // accesses, so what crosses the cut is data itself, re-derived from the context.
    expect(carried).toMatch(/r\d = ctx->data \+ \d+ \(recomputed\)/);
    expect(carried).toMatch(/packet bounds check data \+ 54 <= data_end \(redone\)/);
  });

  it('a live map-value pointer blocks the cut; the error names the line of the lookup', () => {
    const m = arrayMap('sp_vals', u32, { maxEntries: 1 });
    const p = program('tc', 'sp_mapval', (b, ctx) => {
      const v = b.lookup(m, 0).orReturn(1); // @mark:lookup
      const acc = b.let(u32, ctx.len);
      b.loop(ROUNDS, (i) => acc.set(acc.mul(2654435761).xor(acc.shr(13)).add(i)));
      v.set(acc);
      b.return(0);
    });
    const e = fitError(() => buildFor(p, '4.19'));
    expect(e.code).toBe('FIT_NO_CUT');
    expect(e.message).toContain(`map_lookup_elem result pointer (produced at ${file}:${lineOf('lookup')}:`);
  });

  it('a live packet pointer with a variable offset blocks the cut; the error names the line of the parse', () => {
    const p = program('tc', 'sp_varpkt', (b) => {
      const ip = b.parse(Ip, 14).orReturn(1);
      const tcp = b.parse(Tcp, ip.vihl.and(0x0f).to(u32).mul(4).add(14)).orReturn(1); // @mark:varparse
      const acc = b.let(u32, tcp.seq.to(u32));
      b.loop(ROUNDS, (i) => acc.set(acc.mul(2654435761).xor(acc.shr(13)).add(i)));
      tcp.ack.set(acc.to(be32));
      b.return(0);
    });
    const e = fitError(() => buildFor(p, '4.19'));
    expect(e.code).toBe('FIT_NO_CUT');
    expect(e.message).toContain(`packet (variable offset) pointer (produced at ${file}:${lineOf('varparse')}:`);
  });
});

describe.skipIf(!kernel)('splitting carries packet pointers (kernel)', () => {
  it.each(['map', 'cb'] as const)('4.19 pieces (%s carrier) and the 6.6 program load and agree with the reference', (carrier) => {
    const fitted = buildFor(hdr, '4.19', carrier);
    expect(fitted.reports[0]!.split.carrier).toBe(carrier);
    const split = fitted.spec;
    const whole = buildFor(hdr, '6.6').spec;
    expect(whole.programs).toHaveLength(1);
    using a = loadObject(split, { logLevel: 4 });
    using b = loadObject(whole, { logLevel: 4 });
    for (const p of split.programs) expect(a.program(p.name).verifierStats?.processedInsns ?? 0, p.name).toBeLessThanOrEqual(131_072);
    for (const seed of [1, 2, 3, 4]) {
      const pkt = tcpPacket(seed);
      const ref = reference(pkt);
      const ra = a.program('sp_hdr').run({ data: pkt });
      const rb = b.program('sp_hdr').run({ data: pkt });
      expect(ra.retval).toBe(ref.retval);
      expect(rb.retval).toBe(ref.retval);
      expect([...ra.data]).toEqual([...ref.packet]);
      expect([...rb.data]).toEqual([...ref.packet]);
    }
    // Too short for the TCP header: the first piece returns 2 before any cut.
    expect(a.program('sp_hdr').run({ data: tcpPacket(5).subarray(0, 40) }).retval).toBe(2);
  });
});

/**
 * Hand-written: packet pointers in registers and spilled to the stack, `data_end`
 * in a register and in a slot, all live across every cut of a forced small split
 * (each piece re-derives them; the carried `data_end` is used in a later bounds check).
 */
function spilledPointers(): ProgramSpec {
  const a = asm();
  a.mov64('r6', 'r1').ldxw('r2', 'r6', 76).ldxw('r3', 'r6', 80).mov64('r4', 'r2').add64('r4', 40).jgt('r4', 'r3', 'short');
  a.mov64('r7', 'r2').add64('r7', 8);
  a.mov64('r5', 'r2').add64('r5', 16).stxdw('r10', -16, 'r5');
  a.stxdw('r10', -24, 'r3').mov64('r8', 'r3');
  a.ldxw('r9', 'r2', 20);
  for (let i = 0; i < 120; i++) a.mul64('r9', 2654435761 | 0).add64('r9', i).xor64('r9', 0x5a5a);
  a.ldxdw('r5', 'r10', -16).ldxb('r0', 'r5', 0);
  a.ldxb('r1', 'r7', 0).add64('r0', 'r1');
  a.mov64('r2', 'r7').add64('r2', 40).jgt('r2', 'r8', 'short');
  a.ldxdw('r1', 'r10', -24).jgt('r2', 'r1', 'short');
  a.ldxb('r1', 'r7', 39).add64('r0', 'r1');
  a.stxb('r7', 1, 'r9');
  a.add64('r0', 'r9').and64('r0', 0xffff).exit();
  a.label('short').mov64('r0', 99).exit();
  return { name: 'sp_spill', section: 'tc', instructions: a.build() };
}

function spilledReference(p: Uint8Array): { retval: number; packet: Uint8Array } {
  if (p.length < 40) return { retval: 99, packet: p };
  let r9 = BigInt(p[20]! | (p[21]! << 8) | (p[22]! << 16) | (p[23]! << 24)) & 0xffffffffn;
  for (let i = 0; i < 120; i++) r9 = BigInt.asUintN(64, BigInt.asUintN(64, r9 * BigInt.asUintN(64, BigInt(2654435761 | 0)) + BigInt(i)) ^ 0x5a5an);
  if (p.length < 48) return { retval: 99, packet: p };
  const q = Uint8Array.from(p);
  let r0 = BigInt(p[16]! + p[8]! + p[47]!);
  q[9] = Number(r9 & 0xffn);
  r0 = BigInt.asUintN(64, r0 + r9) & 0xffffn;
  return { retval: Number(r0), packet: q };
}

describe('spilled packet pointers and data_end across forced cuts', () => {
  const prog = spilledPointers();
  const split = splitProgram(prog, profileByName('4.19'), { limit: 150, force: true, carrier: 'map' });

  it('splits into several pieces carrying registers and slots', () => {
    expect(split.report.pieces.length).toBeGreaterThanOrEqual(3);
    const carried = split.report.cuts.flatMap((c) => c.carried).join('\n');
    expect(carried).toMatch(/r7 = ctx->data \+ 8 \(recomputed\)/);
    expect(carried).toMatch(/r8 = ctx->data_end \(recomputed\)/);
    expect(carried).toMatch(/\[r10-16\] = ctx->data \+ 16 \(recomputed\)/);
    expect(carried).toMatch(/\[r10-24\] = ctx->data_end \(recomputed\)/);
    expect(carried).toMatch(/packet bounds check data \+ 40 <= data_end \(redone\)/);
  });

  it.skipIf(!kernel).each(['map', 'cb'] as const)('the chain (%s carrier) loads and computes what the unsplit program computes', (carrier) => {
    const chain = splitProgram(prog, profileByName('4.19'), { limit: 150, force: true, carrier });
    expect(chain.report.carrier).toBe(carrier);
    const spec: ObjectSpec = { license: 'GPL', programs: [...chain.programs], maps: [...chain.maps] };
    using a = loadObject(spec);
    using b = loadObject({ license: 'GPL', programs: [prog] });
    for (const len of [30, 44, 60, 80]) {
      const pkt = Uint8Array.from({ length: len }, (_, k) => (k * 37 + len) & 0xff);
      const ref = spilledReference(pkt);
      const ra = a.program('sp_spill').run({ data: pkt });
      const rb = b.program('sp_spill').run({ data: pkt });
      expect(rb.retval).toBe(ref.retval);
      expect(ra.retval).toBe(ref.retval);
      expect([...ra.data]).toEqual([...ref.packet]);
    }
  });
});

describe('a program with subfunction calls that needs splitting before 5.10', () => {
  const mixFn = fn('sp_mix', { tcp: ptrParam(Tcp, 'packet'), x: u32 }, u32, (b, { tcp, x }) => x.mul(2654435761).xor(x.shr(13)).add(tcp.win.to(u16).to(u32)));
  const withCalls = program('tc', 'sp_calls', (b) => {
    const tcp = b.parse(Tcp, 34).orReturn(2);
    const acc = b.let(u32, tcp.seq.to(u32));
    b.loop(ROUNDS, () => acc.set(b.call(mixFn, { tcp, x: acc })));
    tcp.ack.set(acc.to(be32));
    b.return(acc.and(0xff));
  });
  const relaxed = (t: string): TargetProfile => ({ ...profileByName(t), maxInsns: 1 << 30 });
  const reference = (p: Uint8Array) => {
    let acc = ((p[38]! << 24) | (p[39]! << 16) | (p[40]! << 8) | p[41]!) >>> 0;
    const win = (p[48]! << 8) | p[49]!;
    for (let i = 0; i < ROUNDS; i++) acc = ((Math.imul(acc, 2654435761) ^ (acc >>> 13)) + win) >>> 0;
    const q = Uint8Array.from(p);
    q.set([acc >>> 24, (acc >>> 16) & 0xff, (acc >>> 8) & 0xff, acc & 0xff], 42);
    return { retval: acc & 0xff, packet: q };
  };

  it('with calls it cannot be split for 4.19; built with inline: true, the same source splits', () => {
    const e = fitError(() => fitObject(buildObject([withCalls], { target: relaxed('4.19') }), profileByName('4.19')));
    expect(e.code).toBe('FIT_NEEDS_INLINE');
    expect(e.message).toMatch(/splitting needs the subprograms inlined/);
    const { reports } = fitObject(buildObject([withCalls], { target: relaxed('4.19'), inline: true }), profileByName('4.19'));
    expect(reports[0]!.split.pieces.length).toBeGreaterThanOrEqual(2);
  });

  it('compile() and buildObject for 4.19 inline and split it by themselves; an explicit inline: false is refused', () => {
    const viaCompile = compile([withCalls], { target: '4.19' });
    expect(viaCompile.reports[0]!.split.pieces.length).toBeGreaterThanOrEqual(2);
    expect(viaCompile.object.subprograms ?? []).toEqual([]);
    const viaBuild = buildObject([withCalls], { target: '4.19' });
    expect(viaBuild.programs.length).toBe(viaCompile.object.programs.length);
    expect(fitError(() => compile([withCalls], { target: '4.19', inline: false })).code).toBe('FIT_NEEDS_INLINE');
  });

  it.skipIf(!kernel)('4.19 inlined chain and 6.6 calls load and agree with the reference', () => {
    const split = fitObject(buildObject([withCalls], { target: relaxed('4.19'), inline: true }), profileByName('4.19')).spec;
    const whole = fitObject(buildObject([withCalls], { target: relaxed('6.6') }), profileByName('6.6')).spec;
    expect(whole.subprograms?.map((s) => s.name)).toEqual(['sp_mix']);
    using a = loadObject(split);
    using b = loadObject(whole);
    for (const seed of [7, 8]) {
      const pkt = tcpPacket(seed);
      const ref = reference(pkt);
      const ra = a.program('sp_calls').run({ data: pkt });
      const rb = b.program('sp_calls').run({ data: pkt });
      expect(ra.retval).toBe(ref.retval);
      expect(rb.retval).toBe(ref.retval);
      expect([...ra.data]).toEqual([...ref.packet]);
      expect([...rb.data]).toEqual([...ref.packet]);
    }
  });
});
