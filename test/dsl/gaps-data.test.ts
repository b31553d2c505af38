/**
 * Kernel tests of the data-moving DSL features: whole-object copies (`dst.set(src)`),
 * bit reinterpretation (`.bits()`), the checksum helpers with typed words and
 * host-order numbers, and the ipv6 / mac views — each built for 4.19 and 6.6,
 * loaded, and run with BPF_PROG_TEST_RUN; expected bytes and checksums are
 * computed independently here.
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, build, buildObject, hashMap, program, DslError } from '../../dsl/program/index.js';
import type { Node } from '../../dsl/ir/index.js';
import { array, be16, be32, ipv6, mac, s32, struct, u8, u16, u32, u64 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec, udpPacket } from './support.js';

const kernel = need({ kernel: true });
const TARGETS = ['4.19', '6.6'] as const;
const Ip = struct('d_ip', { vihl: u8, tos: u8, len: be16, id: be16, frag: be16, ttl: u8, proto: u8, csum: be16, saddr: be32, daddr: be32 });
const Udp = struct('d_udp', { sport: be16, dport: be16, len: be16, csum: be16 });

/** One's-complement sum of 16-bit big-endian words of `bytes[from, to)` added to `sum`. */
function onesSum(bytes: Uint8Array, from: number, to: number, sum = 0): number {
  for (let k = from; k < to; k += 2) sum += (bytes[k]! << 8) | (k + 1 < to ? bytes[k + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}
/** The IPv4 header checksum of an Ethernet frame, computed from scratch. */
function ipCsum(p: Uint8Array): number {
  const q = p.slice();
  q[24] = q[25] = 0;
  return ~onesSum(q, 14, 34) & 0xffff;
}
/** The UDP checksum (with the IPv4 pseudo header) of an Ethernet frame, computed from scratch. */
function udpCsum(p: Uint8Array): number {
  const q = p.slice();
  q[40] = q[41] = 0;
  const udpLen = p.length - 34;
  const pseudo = new Uint8Array([...q.subarray(26, 34), 0, 17, udpLen >> 8, udpLen & 0xff]);
  const c = ~onesSum(q, 34, p.length, onesSum(pseudo, 0, pseudo.length)) & 0xffff;
  return c === 0 ? 0xffff : c;
}
const word16 = (p: Uint8Array, off: number) => (p[off]! << 8) | p[off + 1]!;
/** A UDP packet 10.0.0.1:12345 → 10.0.0.2:53 with valid IPv4 and UDP checksums. */
function validPacket(): Uint8Array {
  const p = udpPacket(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 9, 0x55]));
  const ip = ipCsum(p);
  p[24] = ip >> 8;
  p[25] = ip & 0xff;
  const u = udpCsum(p);
  p[40] = u >> 8;
  p[41] = u & 0xff;
  return p;
}

describe.skipIf(!kernel)('data features in the kernel', () => {
  for (const target of TARGETS) {
    it(`checksum helpers: exact IPv4 and UDP checksums after DNAT, with host-order numbers, be words and csum_diff (${target})`, () => {
      const dnat = program('tc', 'd_dnat', (b) => {
        const ip = b.parse(Ip, 14).orReturn(1);
        const udp = b.parse(Udp, 34).orReturn(2);
        b.if(ip.daddr.ne(0x0a000002).or(udp.dport.ne(53)), () => b.return(3));
        const oldPort = udp.dport.get();
        ip.daddr.set(0x0a0000fe);
        udp.dport.set(5353);
        // Plain numbers are host-order values of the field, as in set() above.
        b.l3CsumReplace(24, 0x0a000002, 0x0a0000fe, 4);
        b.l4CsumReplace(40, 0x0a000002, 0x0a0000fe, 4 | 0x10);
        b.l4CsumReplace(40, oldPort, b.val(be16, 5353), 2);
        b.return(0);
      });
      const snat = program('tc', 'd_snat', (b) => {
        const ip = b.parse(Ip, 14).orReturn(1);
        const from = b.local(be32);
        from.set(ip.saddr);
        const to = b.local(be32, 0xc0a80101);
        ip.saddr.set(to);
        const diff = b.csumDiff(from, to, 0);
        b.l3CsumReplace(24, 0, diff, 0);
        b.l4CsumReplace(40, 0, diff, 0x10);
        b.return(0);
      });
      using obj = loadSpec(buildObject([dnat, snat], { target }));
      const input = validPacket();
      const out = obj.programs.get('d_dnat')!.run({ data: input });
      expect(out.retval).toBe(0);
      expect([...out.data.subarray(30, 34)]).toEqual([10, 0, 0, 254]);
      expect(word16(out.data, 36)).toBe(5353);
      expect(word16(out.data, 24)).toBe(ipCsum(out.data));
      expect(word16(out.data, 40)).toBe(udpCsum(out.data));
      expect(word16(out.data, 24)).not.toBe(word16(input, 24));

      const s = obj.programs.get('d_snat')!.run({ data: input });
      expect([...s.data.subarray(26, 30)]).toEqual([192, 168, 1, 1]);
      expect(word16(s.data, 24)).toBe(ipCsum(s.data));
      expect(word16(s.data, 40)).toBe(udpCsum(s.data));
    });

    it(`struct / array copies with the widest aligned moves; bits() reinterprets without a swap (${target})`, () => {
      const Inner = struct('d_inner', { a: u16, b: u32, tag: array(u8, 3) });
      const Rec = struct('d_rec', { id: u32, inner: Inner, list: array(u32, 4), big: u64 });
      const recs = arrayMap('d_recs', Rec, { maxEntries: 2 });
      const hdrs = arrayMap('d_hdrs', Ip, { maxEntries: 1 });
      const Key = struct('d_key', { packed: u32, sport: u16, dport: u16 });
      const keys = arrayMap('d_keys', Key, { maxEntries: 1 });
      const p = program('tc', 'd_copy', (b) => {
        const ip = b.parse(Ip, 14).orReturn(1);
        const udp = b.parse(Udp, 34).orReturn(2);
        const r = b.local(Rec, { id: 7, inner: { a: 3, b: 0x11223344, tag: [9, 8, 7] }, list: [1, 2, 3, 4], big: 99 });
        const slot0 = b.lookup(recs, 0).orReturn(3);
        slot0.set(r); // stack → map value
        const slot1 = b.lookup(recs, 1).orReturn(4);
        slot1.inner.set(slot0.inner); // nested struct, map → map
        slot1.list.set(r.list); // array
        slot1.inner.tag.at(0).set(42);
        b.lookup(hdrs, 0).orReturn(5).set(ip); // packet header → map value
        // Network-order bits packed into a host-order key, no byte swap.
        const k = b.lookup(keys, 0).orReturn(6);
        k.packed.set(ip.saddr.bits(u32).xor(ip.daddr.bits(u32)));
        k.sport.set(udp.sport.bits(u16));
        k.dport.set(udp.dport.to(u16));
        b.return(ip.daddr.bits(s32).to(u32).and(0xffff));
      });
      using obj = loadSpec(buildObject([p], { target }));
      const data = validPacket();
      const res = obj.programs.get('d_copy')!.run({ data });
      const dv = new DataView(data.buffer);
      expect(res.retval).toBe(dv.getUint32(30, true) & 0xffff);
      const rec0 = { id: 7, inner: { a: 3, b: 0x11223344, tag: [9, 8, 7] }, list: [1, 2, 3, 4], big: 99n };
      expect(obj.maps.get('d_recs')!.get(0)).toEqual(rec0);
      expect(obj.maps.get('d_recs')!.get(1)).toEqual({ id: 0, inner: { a: 3, b: 0x11223344, tag: [42, 8, 7] }, list: [1, 2, 3, 4], big: 0n });
      expect(obj.maps.get('d_hdrs')!.get(0)).toEqual(Ip.decode(data.subarray(14, 34)));
      expect(obj.maps.get('d_keys')!.get(0)).toEqual({
        packed: (dv.getUint32(26, true) ^ dv.getUint32(30, true)) >>> 0,
        sport: dv.getUint16(34, true),
        dport: 53,
      });
    });

    it(`ipv6 and mac views: words, groups and bytes read and written in packets, maps and the stack (${target})`, () => {
      const Eth = struct('d_eth', { dst: mac, src: mac, proto: be16 });
      const Ip6 = struct('d_ip6', { vtc: be32, plen: be16, next: u8, hop: u8, saddr: ipv6, daddr: ipv6 });
      const Key6 = struct('d_key6', { addr: ipv6, port: be16, _p: u16 });
      const Val6 = struct('d_val6', { backend: ipv6, hits: u64 });
      const svc = hashMap('d_svc6', Key6, Val6, { maxEntries: 4 });
      const seen = arrayMap('d_seen6', Key6, { maxEntries: 1 });
      const p = program('tc', 'd_ip6', (b) => {
        const eth = b.parse(Eth, 0).orReturn(1);
        b.if(eth.proto.ne(0x86dd), () => b.return(2));
        // Swap the MACs through a stack copy.
        const tmp = b.local(mac);
        tmp.set(eth.dst);
        eth.dst.set(eth.src);
        eth.src.set(tmp);
        const ip6 = b.parse(Ip6, 14).orReturn(3);
        b.if(ip6.daddr.word(0).ne(0xfd000000), () => b.return(4));
        const key = b.local(Key6, { port: 8080 });
        key.addr.set(ip6.daddr);
        b.lookup(seen, 0).orReturn(5).set(key);
        const be = b.lookup(svc, key).orReturn(6);
        be.hits.atomicAdd(1);
        ip6.daddr.set(be.backend);
        ip6.saddr.at(15).set(ip6.saddr.at(15).add(1));
        ip6.saddr.half(0).set(0xfe80);
        const fixed = b.local(ipv6, 'fd00::1');
        b.if(fixed.word(3).eq(1).and(fixed.half(0).eq(0xfd00)), () => b.return(ip6.daddr.word(3).to(u32)));
        b.return(7);
      });
      using obj = loadSpec(buildObject([p], { target }));
      obj.maps.get('d_svc6')!.update({ addr: 'fd00::10', port: 8080 }, { backend: 'fd00::2:20', hits: 0n });
      const data = new Uint8Array(14 + 40 + 8);
      data.set([2, 0, 0, 0, 0, 0xaa, 2, 0, 0, 0, 0, 0xbb, 0x86, 0xdd], 0);
      data[14] = 0x60;
      data[20] = 17;
      data[21] = 64;
      data.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05], 22);
      data.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10], 38);
      const r = obj.programs.get('d_ip6')!.run({ data });
      expect(r.retval).toBe(0x00020020);
      expect([...r.data.subarray(0, 12)]).toEqual([2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa]);
      expect([...r.data.subarray(22, 38)]).toEqual([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x06]);
      expect(ipv6.decode(r.data.subarray(38, 54))).toBe('fd00::2:20');
      expect(obj.maps.get('d_seen6')!.get(0)).toEqual({ addr: 'fd00::10', port: 8080, _p: 0 });
      expect(obj.maps.get('d_svc6')!.get({ addr: 'fd00::10', port: 8080 })).toEqual({ backend: 'fd00::2:20', hits: 1n });
      // An address that is not in the map takes the early return.
      data[53] = 0x11;
      expect(obj.programs.get('d_ip6')!.run({ data }).retval).toBe(6);
    });
  }

  it('copies use 8/4/2/1-byte moves as alignment allows; misuse is a build error naming the line', () => {
    const Odd = array(u8, 7);
    const Wide = struct('d_wide', { x: u64, y: u64, z: u32 });
    const sizesOf = (nodes: readonly Node[]) => nodes.filter((n) => n.op === 'load').map((n) => (n as { size: number }).size);
    const p = program('tc', 'd_sizes', (b) => {
      const a = b.local(Odd);
      const c = b.local(Odd);
      c.set(a);
      const w = b.local(Wide);
      const v = b.local(Wide);
      v.set(w);
      const ip = b.parse(Ip, 14).orReturn(1);
      b.local(Ip).set(ip);
      b.return(0);
    });
    const ir = build([p], { target: '6.6' }).ir.get('d_sizes')!;
    // 7 bytes on the 8-aligned stack; 24 bytes (with tail padding); a 4-aligned packet header of 20 bytes.
    const body = ir.body.filter((n) => n.op !== 'load' || n.base !== ir.params[0]); // not data/data_end
    expect(sizesOf(body)).toEqual([4, 2, 1, 8, 8, 8, 4, 4, 4, 4, 4]);
    const bad = program('tc', 'd_badcopy', (b) => {
      const a = b.local(Odd);
      const w = b.local(Wide);
      (a as unknown as { set(x: unknown): void }).set(w);
      b.return(0);
    });
    expect(() => build([bad], { target: '6.6' })).toThrow(DslError);
    expect(() => build([bad], { target: '6.6' })).toThrow(/cannot copy 24 bytes.*gaps-data\.test\.ts:\d+|gaps-data\.test\.ts:\d+.*cannot copy 24 bytes/s);
    const badCsum = program('tc', 'd_badcsum', (b) => {
      const ip = b.parse(Ip, 14).orReturn(1);
      const old = ip.ttl.to(u16);
      b.l3CsumReplace(24, old as never, 0, 2);
      b.return(0);
    });
    expect(() => build([badCsum], { target: '6.6' })).toThrow(/host-order u16 is not the field as stored/);
    const badSize = program('tc', 'd_badsize', (b) => {
      const ip = b.parse(Ip, 14).orReturn(1);
      b.l3CsumReplace(24, ip.saddr, 0, 2);
      b.return(0);
    });
    expect(() => build([badSize], { target: '6.6' })).toThrow(/be32 does not match the 2-byte field size/);
  });
});
