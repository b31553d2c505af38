/**
 * The bench's datapath twins (bench/twins/) do what their C counterparts in
 * bench/dsl-vs-clang.c do: the tc DNAT creates a conntrack entry from the
 * service map, rewrites daddr/dport with valid IPv4 and TCP checksums and then
 * follows the conntrack entry; the SNAT port search claims a free port per run.
 */
import { describe, expect, it } from 'vitest';
import { build } from '../../dsl/program/index.js';
import * as dnat from '../../bench/twins/tc-dnat.js';
import * as snat from '../../bench/twins/snat-ports.js';
import { need } from '../support/env.js';
import { loadSpec } from '../dsl/support.js';

/** One's-complement sum of 16-bit big-endian words. */
function sum16(bytes: Uint8Array, seed = 0): number {
  let s = seed;
  for (let k = 0; k + 1 < bytes.length; k += 2) s += (bytes[k]! << 8) | bytes[k + 1]!;
  if (bytes.length % 2) s += bytes[bytes.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
/** The TCP pseudo header + segment sum (0xffff when the checksum is right). */
function tcpSum(p: Uint8Array): number {
  const seg = p.subarray(34);
  const pseudo = new Uint8Array(12);
  pseudo.set(p.subarray(26, 34), 0);
  pseudo[9] = 6;
  pseudo[10] = seg.length >> 8;
  pseudo[11] = seg.length & 0xff;
  return sum16(seg, sum16(pseudo));
}

/** Ethernet + IPv4 + TCP (+ 6 payload bytes), 10.0.0.9:40000 → daddr:dport, checksums filled in. */
function tcpPacket(daddr: number, dport: number): Uint8Array {
  const p = new Uint8Array(60);
  const dv = new DataView(p.buffer);
  dv.setUint16(12, 0x0800);
  p[14] = 0x45;
  dv.setUint16(16, 46);
  p[22] = 64;
  p[23] = 6;
  dv.setUint32(26, 0x0a000009);
  dv.setUint32(30, daddr);
  dv.setUint16(34, 40000);
  dv.setUint16(36, dport);
  p[46] = 0x50;
  p.set([1, 2, 3, 4, 5, 6], 54);
  dv.setUint16(24, ~sum16(p.subarray(14, 34)) & 0xffff);
  dv.setUint16(50, ~tcpSum(p) & 0xffff);
  return p;
}

describe.skipIf(!need({ kernel: true }))('bench twins in the kernel', () => {
  it('tc DNAT: service miss passes, a hit creates the CT entry and rewrites; then CT wins', () => {
    using obj = loadSpec(build(dnat, { target: '6.6' }).object);
    const prog = obj.programs.get('tc_dnat')!;
    const services = obj.maps.get('dnat_services')!;
    const ct = obj.maps.get('dnat_ct')!;
    const vip = 0x0a600001;
    const untouched = tcpPacket(vip, 80);
    const miss = prog.run({ data: untouched });
    expect(miss.retval).toBe(0);
    expect(miss.data).toEqual(untouched);
    services.set({ addr: vip, port: 80 }, { addr: 0x0a000002, port: 8080 });
    const hit = prog.run({ data: tcpPacket(vip, 80) });
    const out = new DataView(hit.data.buffer, hit.data.byteOffset);
    expect(out.getUint32(30)).toBe(0x0a000002);
    expect(out.getUint16(36)).toBe(8080);
    expect(sum16(hit.data.subarray(14, 34))).toBe(0xffff);
    expect(tcpSum(hit.data)).toBe(0xffff);
    expect(ct.get({ saddr: 0x0a000009, daddr: vip, sport: 40000, dport: 80, proto: 6 })).toMatchObject({ daddr: 0x0a000002, dport: 8080 });
    // The connection keeps its backend when the service changes.
    services.set({ addr: vip, port: 80 }, { addr: 0x0a000003, port: 9090 });
    const again = prog.run({ data: tcpPacket(vip, 80) });
    expect(new DataView(again.data.buffer, again.data.byteOffset).getUint32(30)).toBe(0x0a000002);
    expect(tcpSum(again.data)).toBe(0xffff);
  });

  it('both load on 4.19 too (the port loop unrolled) and the SNAT claims a port there', () => {
    using d = loadSpec(build(dnat, { target: '4.19' }).object);
    expect(d.programs.get('tc_dnat')!.run({ data: tcpPacket(0x0a600001, 80) }).retval).toBe(0);
    using s = loadSpec(build(snat, { target: '4.19' }).object);
    expect(s.programs.get('snat_ports')!.run({ data: tcpPacket(0x0a000002, 80) }).retval).toBe(0);
    expect(s.maps.get('snat_ports_map')!.lookupBatch()).toHaveLength(1);
  });

  it('SNAT port search claims one free port per packet, owned by the original source', () => {
    using obj = loadSpec(build(snat, { target: '6.6' }).object);
    const prog = obj.programs.get('snat_ports')!;
    for (let k = 0; k < 3; k++) expect(prog.run({ data: tcpPacket(0x0a000002, 80) }).retval).toBe(0);
    const entries = obj.maps.get('snat_ports_map')!.lookupBatch();
    expect(entries).toHaveLength(3);
    for (const [key, value] of entries) {
      expect(key).toMatchObject({ addr: snat.NAT_ADDR, proto: 6 });
      const port = (key as { port: number }).port;
      expect(port).toBeGreaterThanOrEqual(32768);
      expect(port).toBeLessThan(32768 + 16384);
      expect(value).toMatchObject({ addr: 0x0a000009, port: 40000 });
    }
  });
});
