/**
 * Typed socket lookups (scoped references, released on every exit) and the typed
 * bpf_fib_lookup params: built for 4.19 and 6.6, loaded and test-run (the socket
 * lookups find sockets this test opened on 127.0.0.1); the params layout is
 * checked against clang-19's offsetof on the UAPI header.
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildObject, build, FibLookup4, FibLookup6, program, SockTuple4, DslError } from '../../dsl/program/index.js';
import { FibLookupFlags, FibLookupResult } from '../../dsl/kernel/index.js';
import { u32 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec, udpPacket } from './support.js';

const kernel = need({ kernel: true });
const LOOPBACK = 0x7f000001;

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

/** A tc program looking up `port` on 127.0.0.1: returns state*100000 + local port, or 7 when not found. */
function lookupProgram(name: string, proto: 'tcp' | 'udp', port: number) {
  return program('tc', name, (b) => {
    const t = b.local(SockTuple4, { saddr: LOOPBACK, daddr: LOOPBACK, sport: 40000, dport: port });
    const ref = proto === 'tcp' ? b.skLookupTcp(t) : b.skLookupUdp(t);
    ref.ifPresent((sk) => {
      // A return inside the scope releases the socket first (the verifier demands it).
      b.if(sk.family.ne(2), () => b.return(3));
      b.return(sk.state.mul(100000).add(sk.src_port));
    }, () => b.return(7));
    b.return(8);
  });
}

describe.skipIf(!kernel)('socket lookups and FIB lookups in the kernel', () => {
  it('sk_lookup_tcp / sk_lookup_udp find this test\'s sockets; the reference is released on every exit (6.6)', async () => {
    const { server, port } = await listen();
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const udpPort = udp.address().port;
    try {
      using obj = loadSpec(buildObject([lookupProgram('s_tcp', 'tcp', port), lookupProgram('s_udp', 'udp', udpPort), lookupProgram('s_none', 'tcp', udpPort)], { target: '6.6' }));
      const data = udpPacket(new Uint8Array(4));
      // BPF_TCP_LISTEN = 10, BPF_TCP_CLOSE = 7 (an unconnected UDP socket).
      expect(obj.programs.get('s_tcp')!.run({ data }).retval).toBe(10 * 100000 + port);
      expect(obj.programs.get('s_udp')!.run({ data }).retval).toBe(7 * 100000 + udpPort);
      expect(obj.programs.get('s_none')!.run({ data }).retval).toBe(7);
    } finally {
      server.close();
      udp.close();
    }
  });

  it('sk_lookup on 4.19 is a clear build error (the helper arrived in 4.20)', () => {
    expect(() => buildObject([lookupProgram('s_old', 'tcp', 80)], { target: '4.19' })).toThrow(/bpf_sk_lookup_tcp is not available.*4\.20/);
  });

  it('leaving a socket scope sideways, or checking a reference twice, is a build error naming the line', () => {
    const viaBreak = program('tc', 's_break', (b) => {
      const t = b.local(SockTuple4);
      b.loop(4, () => b.skLookupTcp(t).ifPresent(() => b.break()));
      b.return(0);
    });
    expect(() => build([viaBreak], { target: '6.6' })).toThrow(/break while the socket from bpf_sk_lookup_tcp is held.*gaps-sockets\.test\.ts/s);
    const twice = program('tc', 's_twice', (b) => {
      const ref = b.skLookupTcp(b.local(SockTuple4));
      ref.ifPresent(() => {});
      ref.ifPresent(() => {});
      b.return(0);
    });
    expect(() => build([twice], { target: '6.6' })).toThrow(DslError);
    expect(() => build([twice], { target: '6.6' })).toThrow(/already checked/);
    let escaped: { state: unknown } | undefined;
    const outside = program('tc', 's_outside', (b) => {
      b.skLookupTcp(b.local(SockTuple4)).ifPresent((sk) => void (escaped = sk));
      b.return(escaped!.state as never);
    });
    expect(() => build([outside], { target: '6.6' })).toThrow(/outside the scope/);
    // A loop opened inside the scope may break freely.
    const inner = program('tc', 's_inner', (b) => {
      b.skLookupTcp(b.local(SockTuple4)).ifPresent(() => b.loop(3, () => b.break()));
      b.return(0);
    });
    using obj = loadSpec(buildObject([inner], { target: '6.6' }));
    expect(obj.programs.get('s_inner')!.run({ data: udpPacket(new Uint8Array(4)) }).retval).toBe(0);
  });

  for (const target of ['4.19', '6.6'] as const) {
    it(`bpf_fib_lookup with typed IPv4 and IPv6 params returns the code the routing table gives (${target})`, () => {
      // Oracle: the kernel's own route lookup for the loopback addresses.
      expect(execFileSync('ip', ['route', 'get', '127.0.0.1']).toString()).toMatch(/^local 127\.0\.0\.1 .*dev lo/);
      expect(execFileSync('ip', ['-6', 'route', 'get', '::1']).toString()).toMatch(/^local ::1 .*dev lo/);
      const p4 = program('tc', 'f_fib4', (b, ctx) => {
        const params = b.local(FibLookup4, { family: 2, ifindex: ctx.ifindex, tot_len: 20, ipv4_src: LOOPBACK, ipv4_dst: LOOPBACK });
        b.return(b.fibLookup(params, FibLookupFlags.OUTPUT).to(u32));
      });
      const p6 = program('tc', 'f_fib6', (b, ctx) => {
        const params = b.local(FibLookup6, { family: 10, ifindex: ctx.ifindex, tot_len: 40, ipv6_src: '::1', ipv6_dst: '::1' });
        b.return(b.fibLookup(params, FibLookupFlags.OUTPUT).to(u32));
      });
      using obj = loadSpec(buildObject([p4, p6], { target }));
      const data = udpPacket(new Uint8Array(4));
      // IPv4 checks forwarding on the device first (FWD_DISABLED), then the route; a local
      // route is not forwarded (RTN_LOCAL → NOT_FWDED), which is what IPv6 reports for ::1.
      const v4 = readFileSync('/proc/sys/net/ipv4/conf/lo/forwarding', 'utf8').trim() === '0' ? FibLookupResult.FWD_DISABLED : FibLookupResult.NOT_FWDED;
      expect(obj.programs.get('f_fib4')!.run({ data }).retval).toBe(v4);
      expect(obj.programs.get('f_fib6')!.run({ data }).retval).toBe(FibLookupResult.NOT_FWDED);
    });
  }
});

describe.skipIf(!need({ tools: ['clang-19'] }))('bpf_fib_lookup params layout vs clang-19', () => {
  it('every field of FibLookup4 and FibLookup6 sits at offsetof(struct bpf_fib_lookup, …)', () => {
    const fields: [string, number, number][] = [];
    for (const s of [FibLookup4, FibLookup6]) for (const m of s.members) if (m.schema.kind !== 'pad') fields.push([m.name, m.offset, m.schema.size]);
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-fib-'));
    try {
      const lines = ['#include <stdio.h>', '#include <stddef.h>', '#include <linux/bpf.h>', 'int main(void) {', '  printf("size %zu\\n", sizeof(struct bpf_fib_lookup));'];
      for (const [name] of new Map(fields.map((f) => [f[0], f]))) lines.push(`  printf("${name} %zu %zu\\n", offsetof(struct bpf_fib_lookup, ${name}), sizeof(((struct bpf_fib_lookup *)0)->${name}));`);
      lines.push('  return 0;', '}');
      writeFileSync(join(dir, 'f.c'), lines.join('\n'));
      execFileSync('clang-19', ['-O0', '-o', join(dir, 'f'), join(dir, 'f.c')], { stdio: 'pipe' });
      const clang = new Map(execFileSync(join(dir, 'f')).toString().trim().split('\n').map((l) => { const [k, ...v] = l.split(' '); return [k!, v.map(Number)]; }));
      expect(FibLookup4.size).toBe(clang.get('size')![0]);
      expect(FibLookup6.size).toBe(clang.get('size')![0]);
      for (const [name, off, size] of fields) expect([off, size], name).toEqual(clang.get(name));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
