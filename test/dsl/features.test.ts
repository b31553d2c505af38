/**
 * Kernel tests of the DSL's features: every program here is built, loaded and run
 * with BPF_PROG_TEST_RUN, and its effects (return value, map contents, packet and
 * context out) are checked against values computed in the test.
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, build, buildObject, fn, global, hashMap, lpmTrie, program, progArray, percpuArrayMap, ringbuf, DslError } from '../../dsl/program/index.js';
import { RingBuffer } from '../../loader/index.js';
import type { IrFunction, Node } from '../../dsl/ir/index.js';
import { writeObject, readObject } from '../../dsl/elf/index.js';
import { CallKind, Class, JmpOp } from '../../dsl/isa/index.js';
import { array, be16, be32, s64, struct, u8, u16, u32, u64 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec, udpPacket } from './support.js';

const kernel = need({ kernel: true });
const Eth = struct('f_eth', { dst: array(u8, 6), src: array(u8, 6), proto: be16 });
const Ip = struct('f_ip', { vihl: u8, tos: u8, len: be16, id: be16, frag: be16, ttl: u8, proto: u8, csum: be16, saddr: be32, daddr: be32 });
const Udp = struct('f_udp', { sport: be16, dport: be16, len: be16, csum: be16 });

/** The IPv4 header checksum of bytes [14, 34) with the checksum field as is. */
function ipChecksumOk(p: Uint8Array): boolean {
  let sum = 0;
  for (let k = 14; k < 34; k += 2) sum += (p[k]! << 8) | p[k + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}
function withIpChecksum(p: Uint8Array): Uint8Array {
  p[24] = 0;
  p[25] = 0;
  let sum = 0;
  for (let k = 14; k < 34; k += 2) sum += (p[k]! << 8) | p[k + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  p[24] = c >> 8;
  p[25] = c & 0xff;
  return p;
}

describe.skipIf(!kernel)('DSL features in the kernel', () => {
  it('locals with nested structs and arrays, map update/lookup/delete with flags', () => {
    const Inner = struct('f_inner', { a: u16, b: u32 });
    const Rec = struct('f_rec', { id: u32, inner: Inner, list: array(u32, 4), big: u64 });
    const recs = hashMap('f_recs', u32, Rec, { maxEntries: 8 });
    const Codes = struct('f_codes', { first: s64, again: s64, missing: s64, deleted: s64 });
    const codes = arrayMap('f_codes', Codes, { maxEntries: 1 });
    const p = program('tc', 'f_maps', (b, ctx) => {
      const r = b.local(Rec, { id: 7, inner: { a: 3 }, list: [1, 2] });
      r.inner.b.set(ctx.len);
      r.list.at(3).set(r.list.at(0).add(r.list.at(1)));
      r.big.set(ctx.len.to(u64).mul(1000000007));
      const c = b.lookup(codes, 0).orReturn(1);
      c.first.set(b.update(recs, 1, r, 'noexist'));
      c.again.set(b.update(recs, 1, { id: 9 }, 'noexist'));
      b.update(recs, 2, { id: 10, list: [5, 6, 7, 8] });
      c.missing.set(b.delete(recs, 3));
      c.deleted.set(b.delete(recs, 2));
      const got = b.lookup(recs, 1).orReturn(2);
      got.inner.a.set(got.inner.a.add(1));
      b.return(got.list.at(3));
    });
    using obj = loadSpec(buildObject([p], { target: '6.6' }));
    const data = udpPacket(new Uint8Array(10));
    expect(obj.programs.get('f_maps')!.run({ data }).retval).toBe(3);
    expect(obj.maps.get('f_recs')!.get(1)).toEqual({ id: 7, inner: { a: 4, b: data.length }, list: [1, 2, 0, 3], big: BigInt(data.length) * 1000000007n });
    expect(obj.maps.get('f_recs')!.get(2)).toBeUndefined();
    expect(obj.maps.get('f_codes')!.get(0)).toEqual({ first: 0n, again: -17n, missing: -2n, deleted: 0n });
  });

  it('atomics on map values (fetch variants on ISA v3+; a build error on 4.19)', () => {
    const C = struct('f_ctr', { hits: u64, bytes: u32, flags: u32, old: u64 });
    const ctr = arrayMap('f_ctr', C, { maxEntries: 1 });
    const pc = percpuArrayMap('f_pc', u64, { maxEntries: 1 });
    const p = program('tc', 'f_atomic', (b, ctx) => {
      const c = b.lookup(ctr, 0).orReturn(1);
      c.hits.atomicAdd(1);
      c.bytes.atomicAdd(ctx.len);
      c.flags.atomicOr(4);
      c.old.set(c.hits.fetchAdd(10));
      b.lookup(pc, 0).orReturn(2).atomicAdd(2);
      b.return(0);
    });
    using obj = loadSpec(buildObject([p], { target: '6.6' }));
    const data = udpPacket(new Uint8Array(3));
    for (let k = 0; k < 5; k++) obj.programs.get('f_atomic')!.run({ data });
    // Run k adds 1 then fetch-adds 10: the old value of the 5th run is 4 * 11 + 1.
    expect(obj.maps.get('f_ctr')!.get(0)).toEqual({ hits: 55n, bytes: 5 * data.length, flags: 4, old: 45n });
    const per = obj.maps.get('f_pc')!.get(0) as bigint[];
    expect(per.reduce((a, v) => a + v, 0n)).toBe(10n);
    expect(() => buildObject([p], { target: '4.19' })).toThrow(DslError);
  });

  it('globals: .rodata read at run time, .bss counters', () => {
    const Cfg = struct('f_cfg', { mult: u32, add: u32 });
    const cfg = global('f_cfg', Cfg, { section: '.rodata', init: { mult: 3, add: 5 } });
    const count = global('f_count', u64);
    const p = program('xdp', 'f_globals', (b) => {
      const c = b.global(cfg);
      b.global(count).atomicAdd(1);
      const input = b.parse(u32, 0).orReturn(0);
      b.return(input.mul(c.mult).add(c.add));
    });
    const spec = buildObject([p], { target: '6.6' });
    expect(spec.globals?.map((g) => g.section)).toEqual(['.rodata', '.bss']);
    using obj = loadSpec(spec);
    const data = new Uint8Array(64);
    new DataView(data.buffer).setUint32(0, 1000, true);
    expect(obj.programs.get('f_globals')!.run({ data }).retval).toBe(3005);
    obj.programs.get('f_globals')!.run({ data });
    const bss = obj.sections.get('.bss')!.get(new Uint8Array(4) as never) as Uint8Array;
    expect(new DataView(bss.buffer, bss.byteOffset).getBigUint64(0, true)).toBe(2n);
    expect(() => buildObject([p], { target: '4.19' })).toThrow(/global data/);
  });

  it('subfunctions: bpf-to-bpf calls on 6.6, inlined when tail calls mix on 4.19, same results', () => {
    const mix = fn('f_mix', { a: u32, b: u32 }, u32, (b, { a, b: y }) => a.mul(31).add(y).xor(a.shr(3)));
    const jump = progArray('f_jump', { maxEntries: 2 });
    const p = program('tc', 'f_calls', (b, ctx) => {
      b.tailCall(jump, 1); // empty slot: falls through
      const r = b.call(mix, { a: ctx.len, b: 7 });
      b.return(b.call(mix, { a: r, b: ctx.len }).and(0xffff));
    });
    const modern = build([p], { target: '6.6' });
    const old = build([p], { target: '4.19' });
    const calls = (i: readonly { opcode: number; src: number }[]) => i.filter((x) => x.opcode === (Class.JMP | JmpOp.CALL) && x.src === CallKind.PSEUDO_CALL).length;
    expect(calls(modern.object.programs[0]!.instructions)).toBe(2);
    expect(modern.object.subprograms?.map((s) => s.name)).toEqual(['f_mix']);
    expect(calls(old.object.programs[0]!.instructions)).toBe(0);
    expect(old.object.subprograms).toBeUndefined();
    const data = udpPacket(new Uint8Array(20));
    const m = (a: number, b: number) => ((Math.imul(a, 31) + b) ^ (a >>> 3)) >>> 0;
    const want = m(m(data.length, 7), data.length) & 0xffff;
    for (const spec of [modern.object, old.object]) {
      using obj = loadSpec(spec);
      expect(obj.programs.get('f_calls')!.run({ data }).retval).toBe(want);
    }
  });

  it('run-time array indexes are bounds-checked (map value and stack)', () => {
    const Slots = struct('f_slots', { slots: array(u64, 16) });
    const slots = arrayMap('f_slots', Slots, { maxEntries: 1 });
    const In = struct('f_idx', { i: u8, j: u8 });
    const p = program('xdp', 'f_index', (b) => {
      const input = b.parse(In, 0).orReturn(100);
      const s = b.lookup(slots, 0).orReturn(101);
      s.slots.index(input.i, 1).atomicAdd(1);
      const table = b.local(struct('f_tab', { t: array(u32, 8) }), { t: [10, 11, 12, 13, 14, 15, 16, 17] });
      b.return(table.t.index(input.j, 2));
    });
    using obj = loadSpec(buildObject([p], { target: '6.6' }));
    const run = (i: number, j: number) => {
      const d = new Uint8Array(64);
      d[0] = i;
      d[1] = j;
      return obj.programs.get('f_index')!.run({ data: d }).retval;
    };
    expect(run(5, 3)).toBe(13);
    expect(run(5, 7)).toBe(17);
    expect(run(15, 0)).toBe(10);
    expect(run(16, 0)).toBe(1);
    expect(run(200, 0)).toBe(1);
    expect(run(0, 8)).toBe(2);
    const v = obj.maps.get('f_slots')!.get(0) as { slots: bigint[] };
    expect(v.slots[5]).toBe(2n);
    expect(v.slots[15]).toBe(1n);
    expect(v.slots[0]).toBe(1n);
    expect(v.slots.reduce((a, x) => a + x, 0n)).toBe(4n);
  });

  it('ring buffer output, LPM trie lookups, trace_printk', () => {
    const events = ringbuf('f_events', { size: 4096 });
    const Ev = struct('f_ev', { len: u32, first: u32, addr: be32 });
    const LpmKey = struct('f_lpm_key', { prefixlen: u32, addr: be32 });
    const routes = lpmTrie('f_routes', LpmKey, u32, { maxEntries: 16 });
    const p = program('xdp', 'f_misc', (b) => {
      const ip = b.parse(Ip, 14).orReturn(1);
      const ev = b.local(Ev, { addr: ip.daddr, first: 7 });
      b.lookup(routes, { prefixlen: 32, addr: ip.daddr }).ifPresent((r) => ev.len.set(r));
      b.ringbufOutput(events, ev);
      b.tracePrintk('tsbpf dsl test %u', ev.len);
      b.return(2);
    });
    using obj = loadSpec(buildObject([p], { target: '6.6' }));
    const be = (a: number[]) => ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
    obj.maps.get('f_routes')!.set({ prefixlen: 8, addr: be([10, 0, 0, 0]) }, 808);
    obj.maps.get('f_routes')!.set({ prefixlen: 24, addr: be([10, 0, 0, 0]) }, 2424);
    using reader = new RingBuffer(obj.maps.get('f_events')!);
    const pkt = udpPacket(new Uint8Array(4));
    expect(obj.programs.get('f_misc')!.run({ data: pkt }).retval).toBe(2);
    pkt[32] = 1; // daddr 10.0.1.2: only the /8 matches
    obj.programs.get('f_misc')!.run({ data: pkt });
    pkt[30] = 11; // 11.0.1.2: no route
    obj.programs.get('f_misc')!.run({ data: pkt });
    const got = reader.read().map((r) => Ev.decode(r.subarray(0, Ev.size)));
    expect(got).toEqual([
      { len: 2424, first: 7, addr: be([10, 0, 0, 2]) },
      { len: 808, first: 7, addr: be([10, 0, 1, 2]) },
      { len: 0, first: 7, addr: be([11, 0, 1, 2]) },
    ]);
  });

  it('extra IR passes run before lowering', () => {
    const seen: string[] = [];
    // A pass that rewrites every constant return into 42.
    const pass = (fn: IrFunction): IrFunction => {
      seen.push(fn.name);
      const rewrite = (nodes: readonly Node[]): Node[] =>
        nodes.map((n) => (n.op === 'return' && typeof n.value === 'bigint' ? { ...n, value: 42n } : n.op === 'if' ? { ...n, then: rewrite(n.then), else: rewrite(n.else) } : n));
      return { ...fn, body: rewrite(fn.body) };
    };
    const p = program('xdp', 'f_pass', (b) => b.return(1));
    const spec = buildObject([p], { target: '6.6', passes: [pass] });
    expect(seen).toEqual(['f_pass']);
    using obj = loadSpec(spec);
    expect(obj.programs.get('f_pass')!.run({ data: new Uint8Array(64) }).retval).toBe(42);
  });

  it('tail calls jump through a prog array', () => {
    const jump = progArray('f_chain', { maxEntries: 4 });
    const first = program('tc', 'f_first', (b) => {
      b.tailCall(jump, 2);
      b.return(1);
    });
    const second = program('tc', 'f_second', (b, ctx) => b.return(ctx.len.add(100)));
    using obj = loadSpec(buildObject([first, second], { target: '6.6' }));
    const data = udpPacket(new Uint8Array(1));
    expect(obj.programs.get('f_first')!.run({ data }).retval).toBe(1);
    obj.maps.get('f_chain')!.set(2, obj.programs.get('f_second')!);
    expect(obj.programs.get('f_first')!.run({ data }).retval).toBe(data.length + 100);
  });

  it('prog arrays filled at load from declared programs (object loader)', async () => {
    const { loadObject } = await import('../../loader/index.js');
    const target = program('tc', 'f_slot_target', (b, ctx) => b.return(ctx.len.add(7)));
    const table = progArray('f_table', { maxEntries: 4, programs: [null, target] });
    const entry = program('tc', 'f_slot_entry', (b) => {
      b.tailCall(table, 1);
      b.return(0);
    });
    expect(() => buildObject([entry], { target: '6.6' })).toThrow(/f_slot_target' is not part of this build/);
    const obj = loadObject(writeObject(buildObject([entry, target], { target: '6.6' })), { objectName: 'fslots' });
    try {
      const data = udpPacket(new Uint8Array(2));
      expect(obj.program('f_slot_entry').run({ data }).retval).toBe(data.length + 7);
    } finally {
      obj.close();
    }
  });

  it('b.return inside an inlined subfunction body is refused like in a bpf-to-bpf one', () => {
    const bad = fn('f_bad', { a: u32 }, u32, (b, { a }) => {
      b.return(1);
      return a;
    });
    const p = program('tc', 'f_badcall', (b, ctx) => b.return(b.call(bad, { a: ctx.len })));
    expect(() => buildObject([p], { target: '6.6' })).toThrow(/subfunction returns its result/);
    const jump = progArray('f_bj', { maxEntries: 1 });
    const q = program('tc', 'f_badcall2', (b, ctx) => {
      b.tailCall(jump, 0);
      b.return(b.call(bad, { a: ctx.len }));
    });
    expect(() => buildObject([q], { target: '4.19' })).toThrow(/subfunction returns its result/);
  });

  it('packet parsing and rewriting (ports swapped, TTL decremented with l3 checksum update), context writes', () => {
    const p = program('tc', 'f_rewrite', (b, ctx) => {
      const eth = b.parse(Eth, 0).orReturn(0);
      b.if(eth.proto.ne(0x0800), () => b.return(1));
      const ip = b.parse(Ip, 14).orReturn(2);
      b.if(ip.proto.ne(17), () => b.return(3));
      const udp = b.parse(Udp, 34).orReturn(4);
      const sport = udp.sport.get();
      udp.sport.set(udp.dport);
      udp.dport.set(sport);
      const ttl = ip.ttl.get();
      const oldWord = b.let(u16, ttl.to(u16).shl(8).or(ip.proto.to(u16)));
      const newWord = oldWord.sub(0x100);
      ip.ttl.set(ttl.sub(1));
      b.l3CsumReplace(24, oldWord.to(be16), newWord.to(be16), 2);
      ctx.mark.set(ctx.len.mul(2));
      b.return(0);
    });
    using obj = loadSpec(buildObject([p], { target: '6.6' }));
    const data = withIpChecksum(udpPacket(new Uint8Array(8)));
    expect(ipChecksumOk(data)).toBe(true);
    const ctxIn = new Uint8Array(192);
    const r = obj.programs.get('f_rewrite')!.run({ data, ctx: ctxIn });
    expect(r.retval).toBe(0);
    expect([r.data[34], r.data[35], r.data[36], r.data[37]]).toEqual([data[36], data[37], data[34], data[35]]);
    expect(r.data[22]).toBe(data[22]! - 1);
    expect(ipChecksumOk(r.data)).toBe(true);
    expect(new DataView(r.ctx!.buffer).getUint32(8, true)).toBe(data.length * 2);
    // Non-UDP traffic takes the early return.
    const tcp = withIpChecksum(udpPacket(new Uint8Array(8)));
    tcp[23] = 6;
    expect(obj.programs.get('f_rewrite')!.run({ data: tcp }).retval).toBe(3);
  });

  it('using a packet pointer after a helper that changes packet data is a build error', () => {
    const p = program('tc', 'f_stale', (b) => {
      const ip = b.parse(Ip, 14).orReturn(2);
      b.l3CsumReplace(24, 0, 0, 2);
      b.return(ip.ttl);
    });
    expect(() => buildObject([p], { target: '6.6' })).toThrow(/after bpf_l3_csum_replace/);
  });

  it('helpers: ktime, prandom, smp id, csum_diff, skb_load_bytes (socket filter), cgroup_skb', () => {
    const Out = struct('f_hout', { t: u64, r1: u32, r2: u32, cpu: u32, csum: u32 });
    const out = arrayMap('f_hout', Out, { maxEntries: 1 });
    const Words = struct('f_words', { w: array(u32, 4) });
    const p = program('xdp', 'f_helpers', (b) => {
      const o = b.lookup(out, 0).orReturn(1);
      o.t.set(b.ktimeGetNs());
      o.r1.set(b.prandom());
      o.r2.set(b.prandom());
      o.cpu.set(b.smpProcessorId());
      const pkt = b.parse(Words, 0).orReturn(2);
      const w = b.local(Words);
      for (let k = 0; k < 4; k++) w.w.at(k).set(pkt.w.at(k));
      o.csum.set(b.csumDiff(null, w, 0).to(u32));
      b.return(0);
    });
    using obj = loadSpec(buildObject([p], { target: '6.6' }));
    const data = new Uint8Array(64).map((_, k) => (k * 37 + 11) & 0xff);
    obj.programs.get('f_helpers')!.run({ data });
    const a = obj.maps.get('f_hout')!.get(0) as { t: bigint; r1: number; r2: number; cpu: number; csum: number };
    obj.programs.get('f_helpers')!.run({ data });
    const b2 = obj.maps.get('f_hout')!.get(0) as typeof a;
    expect(a.t).toBeGreaterThan(0n);
    expect(b2.t).toBeGreaterThan(a.t);
    expect([a.r1, a.r2, b2.r1, b2.r2].some((x, _, all) => x !== all[0])).toBe(true);
    // One's-complement sum of the 16 bytes as little-endian 16-bit words, folded.
    const fold = (v: number) => {
      let s = v;
      while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
      return s;
    };
    let sum = 0;
    for (let k = 0; k < 16; k += 2) sum += data[k]! | (data[k + 1]! << 8);
    expect(fold(a.csum)).toBe(fold(sum));

    const sock = program('socket', 'f_sock', (b, ctx) => {
      const buf = b.local(u32);
      // Socket filters see the skb from the network header: offset 12 is the IPv4 source address.
      b.if(b.skbLoadBytes(12, buf).ne(0), () => b.return(0));
      b.return(buf.to(u32).and(0xff).add(ctx.len));
    });
    const skb = program('cgroup_skb/egress', 'f_cgskb', (b, ctx) => {
      b.if(ctx.len.gt(10), () => b.return(1));
      b.return(0);
    });
    using o2 = loadSpec(buildObject([sock, skb], { target: '6.6' }));
    const pkt = udpPacket(new Uint8Array(4));
    expect(o2.programs.get('f_sock')!.run({ data: pkt }).retval).toBe(pkt[26]! + pkt.length - 14);
    expect(o2.programs.get('f_cgskb')!.run({ data: pkt }).retval).toBe(1);
  });
});

describe('build output', () => {
  const counters = hashMap('d_counts', u32, u64, { maxEntries: 64, pinning: 'byName' });
  const mod = {
    counter: program('xdp', 'd_counter', (b) => {
      const eth = b.parse(Eth, 0).orReturn(2);
      const v = b.lookup(counters, eth.proto.to(u16).to(u32));
      v.ifPresent(
        (c) => c.atomicAdd(1),
        () => {
          b.update(counters, eth.proto.to(u16).to(u32), 1, 'noexist');
        },
      );
      b.return(2);
    }),
    notAProgram: 42,
  };

  it('is deterministic: the same module gives byte-identical ELF objects, per target', () => {
    const a = writeObject(buildObject(mod, { target: '6.6' }));
    const b = writeObject(buildObject(mod, { target: '6.6' }));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const c = writeObject(buildObject(mod, { target: '4.19' }));
    expect(c.length).toBeGreaterThan(0);
  });

  it('round-trips through the ELF writer and reader with maps, BTF and line info', () => {
    const spec = buildObject(mod, { target: '6.6' });
    const back = readObject(writeObject(spec));
    expect(back.programs.map((p) => [p.name, p.section, p.instructions.length])).toEqual(spec.programs.map((p) => [p.name, p.section, p.instructions.length]));
    expect(back.maps?.map((m) => [m.name, m.type, m.maxEntries, m.pinning])).toEqual([['d_counts', 'HASH', 64, 'byName']]);
    const sources = back.programs[0]!.instructions.filter((i) => i.meta?.source?.file.endsWith('features.test.ts'));
    expect(sources.length).toBeGreaterThan(0);
  });
});
