/**
 * Kernel tests of combined conditions (`and` / `or` / `not`, short-circuit) and
 * `b.switch`: built for the 4.19 and 6.6 profiles, loaded, and run with
 * BPF_PROG_TEST_RUN over packets whose expected results are computed here.
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, build, buildObject, program } from '../../dsl/program/index.js';
import { be16, be32, struct, u8, u32, u64 } from '../../dsl/types/index.js';
import { condParts, type IfNode } from '../../dsl/ir/index.js';
import { need } from '../support/env.js';
import { loadSpec, udpPacket } from './support.js';

const kernel = need({ kernel: true });
const Ip = struct('c_ip', { vihl: u8, tos: u8, len: be16, id: be16, frag: be16, ttl: u8, proto: u8, csum: be16, saddr: be32, daddr: be32 });
const Udp = struct('c_udp', { sport: be16, dport: be16, len: be16, csum: be16 });
const TARGETS = ['4.19', '6.6'] as const;

/** A UDP packet with the given TTL, protocol, TOS and destination port. */
function packet(ttl: number, proto: number, tos: number, dport: number): Uint8Array {
  const p = udpPacket(new Uint8Array(8));
  p[22] = ttl;
  p[23] = proto;
  p[15] = tos;
  p[36] = dport >> 8;
  p[37] = dport & 0xff;
  return p;
}

describe.skipIf(!kernel)('conditions in the kernel', () => {
  for (const target of TARGETS) {
    it(`and / or / not with short-circuit right-hand sides (${target})`, () => {
      const Counts = struct('c_counts', { andRhs: u64, orRhs: u64 });
      const counts = arrayMap('c_counts', Counts, { maxEntries: 1 });
      const p = program('tc', 'c_andor', (b) => {
        const ip = b.parse(Ip, 14).orReturn(1000);
        const c = b.lookup(counts, 0).orReturn(1001);
        const r = b.let(u32, 0);
        b.if(ip.proto.eq(17).and(ip.ttl.gt(10)), () => r.set(r.or(1)));
        b.if(ip.proto.eq(6).or(ip.ttl.eq(64)), () => r.set(r.or(2)), () => r.set(r.or(4)));
        b.if(ip.tos.eq(1).and(ip.ttl.gt(1)).not(), () => r.set(r.or(8)));
        // Three-way mixes: (proto == 17 || proto == 6) && !(ttl < 5 || tos == 7)
        b.if(ip.proto.eq(17).or(ip.proto.eq(6)).and(ip.ttl.lt(5).or(ip.tos.eq(7)).not()), () => r.set(r.or(16)));
        // The right-hand side runs only when the left decides nothing: its effects count how often.
        b.if(ip.tos.eq(3).and(() => {
          c.andRhs.atomicAdd(1);
          return ip.ttl.eq(9);
        }), () => r.set(r.or(32)));
        b.if(ip.tos.eq(3).or(() => {
          c.orRhs.atomicAdd(1);
          return ip.ttl.eq(9);
        }), () => r.set(r.or(64)));
        // Build-time booleans fold: the right side of `false.and(...)` is never emitted.
        b.if(ip.ttl.eq(0).or(true).and(ip.proto.ne(0)), () => r.set(r.or(128)));
        b.return(r);
      });
      using obj = loadSpec(buildObject([p], { target }));
      const prog = obj.programs.get('c_andor')!;
      let andRhs = 0n;
      let orRhs = 0n;
      for (const [ttl, proto, tos] of [[64, 17, 0], [9, 17, 3], [4, 6, 1], [11, 6, 7], [2, 1, 1], [9, 17, 0], [1, 6, 3]] as [number, number, number][]) {
        let want = 0;
        if (proto === 17 && ttl > 10) want |= 1;
        want |= proto === 6 || ttl === 64 ? 2 : 4;
        if (!(tos === 1 && ttl > 1)) want |= 8;
        if ((proto === 17 || proto === 6) && !(ttl < 5 || tos === 7)) want |= 16;
        if (tos === 3) andRhs++;
        if (tos === 3 && ttl === 9) want |= 32;
        if (tos !== 3) orRhs++;
        if (tos === 3 || ttl === 9) want |= 64;
        if (proto !== 0) want |= 128;
        expect(prog.run({ data: packet(ttl, proto, tos, 80) }).retval, `ttl=${ttl} proto=${proto} tos=${tos}`).toBe(want);
      }
      expect(obj.maps.get('c_counts')!.get(0)).toEqual({ andRhs, orRhs });
    });

    it(`switch on host and network-order scalars, with and without a default (${target})`, () => {
      const p = program('tc', 'c_switch', (b) => {
        const ip = b.parse(Ip, 14).orReturn(1000);
        const udp = b.parse(Udp, 34).orReturn(1001);
        const r = b.let(u32, 0);
        b.switch(ip.proto, {
          1: () => b.return(11),
          6: () => r.set(6),
          17: () => r.set(17),
        }, () => b.return(99));
        // Keys of a be16 switch are host-order port numbers, as with eq().
        b.switch(udp.dport, {
          53: () => r.set(r.add(530)),
          80: () => r.set(r.add(800)),
        });
        b.switch(ip.tos.to(u32), { 0: () => r.set(r.add(10000)) });
        b.return(r);
      });
      using obj = loadSpec(buildObject([p], { target }));
      const prog = obj.programs.get('c_switch')!;
      const cases: [number, number, number, number][] = [
        [1, 0, 80, 11], [2, 0, 80, 99], [6, 0, 80, 6 + 800 + 10000], [17, 0, 53, 17 + 530 + 10000], [17, 5, 443, 17], [6, 1, 53, 6 + 530],
      ];
      for (const [proto, tos, dport, want] of cases)
        expect(prog.run({ data: packet(64, proto, tos, dport) }).retval, `proto=${proto} dport=${dport}`).toBe(want);
    });
  }

  it('a build-time constant switch emits only the matching body; bad cases are build errors', () => {
    const one = program('tc', 'c_const', (b) => b.switch(b.val(u32, 2), { 1: () => b.return(1), 2: () => b.return(2) }, () => b.return(3)));
    const ir = build([one], { target: '6.6' }).ir.get('c_const')!;
    expect(ir.body).toEqual([expect.objectContaining({ op: 'return', value: 2n })]);
    const bad = program('tc', 'c_bad', (b) => b.switch(b.val(u32, 2), { 1: 5 as never }));
    expect(() => build([bad], { target: '6.6' })).toThrow(/case 1 must be a function/);
    const notCond = program('tc', 'c_badand', (b, ctx) => b.if(ctx.len.eq(1).and((() => 7) as never), () => b.return(1)));
    expect(() => build([notCond], { target: '6.6' })).toThrow(/and\(\): expected a condition/);
  });
});

describe('condition IR', () => {
  it('condParts lists the comparisons and the lazily run node lists of a combined condition', () => {
    const p = program('tc', 'c_parts', (b, ctx) => {
      b.if(ctx.len.gt(1).and(() => ctx.mark.eq(b.prandom())).or(ctx.priority.eq(3).not()), () => b.return(1));
      b.return(0);
    });
    const ir = build([p], { target: '6.6' }).ir.get('c_parts')!;
    const node = ir.body.find((n) => n.op === 'if')!;
    const parts = condParts((node as IfNode).cond);
    expect(parts.cmps.map((c) => c.cmp)).toEqual(['gt', 'eq', 'ne']);
    expect(parts.blocks).toHaveLength(1);
    expect(parts.blocks[0]!.some((n) => n.op === 'call' && n.name === 'get_prandom_u32')).toBe(true);
  });
});
