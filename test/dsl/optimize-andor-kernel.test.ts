/**
 * The IR clean-ups on and/or-heavy code, checked in the kernel: the same programs
 * built with the clean-ups and without them (`optimize: false`) for 4.19 and 6.6
 * are loaded and run with BPF_PROG_TEST_RUN over the same packets; return values
 * and map contents must agree, and the optimised build must be shorter. The
 * programs read packet fields and locals in lazy right-hand sides, write locals
 * there (on some paths only) and read them afterwards, and look keys up in maps
 * from inside a short-circuited part.
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, build, hashMap, program } from '../../dsl/program/index.js';
import { slots } from '../../dsl/isa/index.js';
import { be16, be32, struct, u8, u16, u32, u64 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec } from './support.js';

const kernel = need({ kernel: true });
const Eth = struct('oak_eth', { d0: be16, d1: be16, d2: be16, s0: be16, s1: be16, s2: be16, proto: be16 });
const Ip = struct('oak_ip', { vihl: u8, tos: u8, len: be16, id: be16, frag: be16, ttl: u8, proto: u8, csum: be16, saddr: be32, daddr: be32 });
const Udp = struct('oak_udp', { sport: be16, dport: be16, len: be16, csum: be16 });
const Key = struct('oak_key', { addr: be32, port: be16, proto: u8, pad: u8 });
const Stats = struct('oak_stats', { hits: u64, lazy: u64, last: u32, flags: u32 });

function programs(tag: string) {
  const allowed = hashMap(`oak_allow_${tag}`, Key, u32, { maxEntries: 16 });
  const stats = arrayMap(`oak_stats_${tag}`, Stats, { maxEntries: 4 });
  const classify = program('tc', `oak_cls_${tag}`, (b) => {
    const eth = b.parse(Eth, 0).orReturn(1000);
    b.if(eth.proto.ne(0x0800).or(() => eth.d0.eq(0).and(() => eth.d1.eq(0))), () => b.return(1001));
    const ip = b.parse(Ip, 14).orReturn(1002);
    b.if(ip.vihl.ne(0x45).or(() => ip.frag.and(0x1fff).ne(0)), () => b.return(1003));
    const udp = b.parse(Udp, 34).orReturn(1004);
    const st = b.lookup(stats, 0).orReturn(1005);
    const key = b.local(Key);
    key.addr.set(ip.daddr);
    key.port.set(udp.dport);
    key.proto.set(ip.proto);
    const seen = b.local(u32);
    seen.set(7);
    const r = b.let(u32, 0);
    // The key local is read only by the lookup in the lazy right-hand side.
    b.if(ip.proto.eq(17).and(() => {
      st.lazy.atomicAdd(1);
      const hit = b.let(u32, 0);
      b.lookup(allowed, key).ifPresent((v) => hit.set(v.get()));
      return hit.ne(0);
    }), () => r.set(r.or(1)));
    // A local written only when the right-hand side runs, read after the condition.
    b.if(ip.ttl.lt(10).or(() => {
      seen.set(ip.ttl.to(u32));
      return udp.sport.eq(53);
    }), () => r.set(r.or(2)));
    r.set(r.add(seen.get().shl(8)));
    // The same fields read again after lazy parts that read them (and after ones that did not run).
    b.if(ip.tos.eq(4).and(() => ip.daddr.eq(0x0a000002)).and(() => udp.dport.eq(80).or(udp.dport.eq(443))), () => r.set(r.or(4)));
    b.if(ip.daddr.eq(0x0a000002).and(ip.ttl.ge(32)).not().and(() => udp.sport.to(u16).gt(1024)), () => r.set(r.or(8)));
    // Nested lazy parts that update the stats entry, then the stats read back.
    b.if(udp.len.to(u16).gt(8).and(() => {
      st.hits.atomicAdd(1);
      return ip.tos.ne(0).or(() => {
        st.last.set(ip.saddr.to(u32));
        return ip.ttl.eq(1);
      });
    }), () => st.flags.set(st.flags.get().or(r)));
    b.return(r.add(st.last.get().and(0xff)));
  });
  return { classify, allowed, stats };
}

/** Deterministic packets covering the branches above. */
function packets(): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seed = 0x1234567;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), (seed >>> 16) % n);
  for (let k = 0; k < 160; k++) {
    const p = new Uint8Array(64);
    const dv = new DataView(p.buffer);
    dv.setUint32(0, rnd(6) === 0 ? 0 : 0x02000000 + k);
    dv.setUint16(12, rnd(10) === 0 ? 0x86dd : 0x0800);
    p[14] = rnd(12) === 0 ? 0x46 : 0x45;
    p[15] = [0, 4, 4, 1][rnd(4)]!;
    dv.setUint16(20, rnd(10) === 0 ? 0x2001 : 0x4000);
    p[22] = [1, 5, 9, 10, 32, 64, 200][rnd(7)]!;
    p[23] = rnd(5) === 0 ? 6 : 17;
    dv.setUint32(26, 0x0a000001 + rnd(3) * 0x01000000);
    dv.setUint32(30, rnd(2) === 0 ? 0x0a000002 : 0x0a000003);
    dv.setUint16(34, [53, 1000, 2000, 40000][rnd(4)]!);
    dv.setUint16(36, [80, 443, 8080, 53][rnd(4)]!);
    dv.setUint16(38, rnd(4) === 0 ? 8 : 30);
    // A few IPv4 packets cut inside the UDP header (the kernel refuses shorter IP test packets).
    out.push(rnd(20) === 0 && dv.getUint16(12) === 0x0800 ? p.slice(0, 34 + rnd(8)) : p);
  }
  return out;
}

describe.skipIf(!kernel)('and/or-heavy programs: optimised = not optimised, in the kernel', () => {
  for (const target of ['4.19', '6.6'] as const) {
    it(`the same results with and without the clean-ups (${target})`, () => {
      const results = [true, false].map((optimize) => {
        const tag = optimize ? 'o' : 'p';
        const { classify, allowed, stats } = programs(tag);
        const built = build([classify], { target, optimize });
        const size = built.object.programs[0]!.instructions.reduce((n, i) => n + slots(i), 0);
        using obj = loadSpec(built.object);
        const allow = obj.maps.get(allowed.name)!;
        allow.set({ addr: 0x0a000002, port: 80, proto: 17, pad: 0 }, 5);
        allow.set({ addr: 0x0a000003, port: 53, proto: 17, pad: 0 }, 9);
        const prog = obj.programs.get(classify.name)!;
        const rets = packets().map((data, k) => {
          try {
            return prog.run({ data }).retval;
          } catch (e) {
            throw new Error(`packet ${k} (${Buffer.from(data).toString('hex')}): ${(e as Error).message}`);
          }
        });
        const counters = obj.maps.get(stats.name)!.get(0) as { hits: bigint; lazy: bigint; last: number; flags: number };
        return { size, rets, stats: counters };
      });
      const [opt, plain] = results as [(typeof results)[0], (typeof results)[0]];
      expect(opt.rets).toEqual(plain.rets);
      expect(opt.stats).toEqual(plain.stats);
      // The runs took the branches: several distinct results, lazy parts ran and were skipped.
      expect(new Set(opt.rets).size, [...new Set(opt.rets)].join(",")).toBeGreaterThan(6);
      expect(opt.stats.lazy, JSON.stringify(opt.stats, (_k, v) => (typeof v === "bigint" ? String(v) : v))).toBeGreaterThan(0n);
      expect(opt.stats.lazy).toBeLessThan(160n);
      expect(opt.stats.hits, JSON.stringify(opt.stats, (_k, v) => (typeof v === "bigint" ? String(v) : v)) + [...new Set(opt.rets)].join(",")).toBeGreaterThan(0n);
      expect(opt.size).toBeLessThan(plain.size);
    });
  }
});
