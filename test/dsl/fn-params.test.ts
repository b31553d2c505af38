/**
 * Subfunctions with pointer, struct-value and context parameters. The shared
 * NAT-rewrite subfunction (IPv4 daddr + TCP dport with incremental checksum
 * fix-ups, called from two call sites) is a bpf-to-bpf call on 4.19 and 6.6, and
 * inlined from the same source where tail calls and calls cannot mix (4.19);
 * PROG_TEST_RUN output bytes and checksums are compared with a packet built and
 * checksummed independently here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { arrayMap, buildObject, ctxParam, DslError, fn, program, progArray, ptrParam, type Ptr } from '../../dsl/program/index.js';
import { CallKind, Class, JmpOp } from '../../dsl/isa/index.js';
import { array, be16, be32, struct, u8, u16, u32, u64 } from '../../dsl/types/index.js';
import type { Int } from '../../dsl/program/index.js';
import { need } from '../support/env.js';
import { loadSpec } from './support.js';

const kernel = need({ kernel: true });
const file = fileURLToPath(import.meta.url);
const lines = readFileSync(file, 'utf8').split('\n');
const lineOf = (name: string) => lines.findIndex((l) => l.includes(`// @mark:${name}`)) + 1;

const Eth = struct('fp_eth', { dst: array(u8, 6), src: array(u8, 6), proto: be16 });
const Ip = struct('fp_ip', { vihl: u8, tos: u8, len: be16, id: be16, frag: be16, ttl: u8, proto: u8, csum: be16, saddr: be32, daddr: be32 });
const Tcp = struct('fp_tcp', { sport: be16, dport: be16, seq: be32, ack: be32, off: u8, flags: u8, win: be16, csum: be16, urg: be16 });

/** One's-complement sum folded to 16 bits. */
function fold(b: unknown, x: Int<'u32'>): Int<'u32'> {
  void b;
  const once = x.and(0xffff).add(x.shr(16));
  return once.and(0xffff).add(once.shr(16));
}

/** RFC 1624 eqn. 3 for 32-bit and 16-bit replaced words: HC' = ~(~HC + ~m + m'). */
const nat = fn(
  'fp_nat',
  { ip: ptrParam(Ip, 'packet'), tcp: ptrParam(Tcp, 'packet'), addr: be32, port: be16 },
  u32,
  (b, { ip, tcp, addr, port }) => {
    const oldA = ip.daddr.get().to(u32);
    const newA = addr.to(u32);
    const oldP = tcp.dport.get().to(u16).to(u32);
    const newP = port.to(u16).to(u32);
    const addrDelta = oldA.shr(16).xor(0xffff).add(oldA.and(0xffff).xor(0xffff)).add(newA.shr(16)).add(newA.and(0xffff));
    const ipSum = fold(b, ip.csum.to(u16).to(u32).xor(0xffff).add(addrDelta));
    ip.csum.set(ipSum.xor(0xffff).to(u16).to(be16));
    const tcpSum = fold(b, tcp.csum.to(u16).to(u32).xor(0xffff).add(addrDelta).add(oldP.xor(0xffff)).add(newP));
    tcp.csum.set(tcpSum.xor(0xffff).to(u16).to(be16));
    ip.daddr.set(addr);
    tcp.dport.set(port);
    return 1;
  },
);

const jump = progArray('fp_jump', { maxEntries: 1 });
const ipv4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** DNAT: :80 → 10.1.0.5:8080, :443 → 10.1.0.6:8443; with `tail`, an (empty) tail call first, which forces inlining on 4.19. */
function natProgram(name: string, tail: boolean) {
  return program('tc', name, (b) => {
    if (tail) b.tailCall(jump, 0);
    const eth = b.parse(Eth, 0).orReturn(2);
    b.if(eth.proto.ne(0x0800), () => b.return(3));
    const ip = b.parse(Ip, 14).orReturn(2);
    b.if(ip.vihl.ne(0x45), () => b.return(4));
    b.if(ip.proto.ne(6), () => b.return(4));
    const tcp = b.parse(Tcp, 34).orReturn(2);
    b.if(tcp.dport.eq(80), () => b.return(b.call(nat, { ip, tcp, addr: ipv4(10, 1, 0, 5), port: 8080 }).add(10)));
    b.if(tcp.dport.eq(443), () => b.return(b.call(nat, { ip, tcp, addr: ipv4(10, 1, 0, 6), port: 8443 }).add(20)));
    b.return(0);
  });
}

function sum16(bytes: Uint8Array, from: number, to: number, init = 0): number {
  let s = init;
  for (let k = from; k < to; k += 2) s += (bytes[k]! << 8) | (k + 1 < to ? bytes[k + 1]! : 0);
  return s;
}
const finish = (s: number) => {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
};
/** Fills in the IPv4 header and TCP checksums of an Ethernet+IPv4(20)+TCP(20) packet from scratch. */
function checksummed(p: Uint8Array): Uint8Array {
  p[24] = p[25] = 0;
  const ipc = finish(sum16(p, 14, 34));
  p[24] = ipc >> 8;
  p[25] = ipc & 0xff;
  p[50] = p[51] = 0;
  const tcpLen = p.length - 34;
  const pseudo = sum16(p, 26, 34) + 6 + tcpLen;
  const tc = finish(sum16(p, 34, p.length, pseudo));
  p[50] = tc >> 8;
  p[51] = tc & 0xff;
  return p;
}
function tcpPacket(dport: number, payload: number[]): Uint8Array {
  const p = new Uint8Array(54 + payload.length);
  p.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00], 0);
  p.set([0x45, 0, 0, 40 + payload.length, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 192, 168, 7, 9, 10, 96, 0, 10], 14);
  p.set([0xc3, 0x50, dport >> 8, dport & 0xff, 1, 2, 3, 4, 0, 0, 0, 0, 0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0], 34);
  p.set(payload, 54);
  return checksummed(p);
}
function natted(p: Uint8Array, addr: number[], port: number): Uint8Array {
  const q = Uint8Array.from(p);
  q.set(addr, 30);
  q[36] = port >> 8;
  q[37] = port & 0xff;
  return checksummed(q);
}

const hasPseudoCall = (spec: ReturnType<typeof buildObject>) =>
  spec.programs[0]!.instructions.some((i) => i.opcode === (Class.JMP | JmpOp.CALL) && i.src === CallKind.PSEUDO_CALL);

describe('subfunction parameters (build)', () => {
  it('bpf-to-bpf call where the profile allows, inlined where calls cannot mix with tail calls', () => {
    const called = buildObject([natProgram('fp_nat_call', false)], { target: '4.19' });
    expect(hasPseudoCall(called)).toBe(true);
    expect(called.subprograms?.map((s) => s.name)).toEqual(['fp_nat']);
    const inlined = buildObject([natProgram('fp_nat_inl', true)], { target: '4.19' });
    expect(hasPseudoCall(inlined)).toBe(false);
    expect(inlined.subprograms ?? []).toEqual([]);
    expect(hasPseudoCall(buildObject([natProgram('fp_nat_tail66', true)], { target: '6.6' }))).toBe(true);
  });

  it('misuse is refused at the call', () => {
    const Key = struct('fp_key', { a: u32, b: u32 });
    const f = fn('fp_key_fn', { k: ptrParam(Key, 'stack') }, u32, (b, { k }) => k.a);
    const p = program('tc', 'fp_badregion', (b) => {
      const ip = b.parse(Ip, 14).orReturn(1);
      // @ts-expect-error a packet pointer where a stack pointer is declared
      b.return(b.call(f, { k: ip }));
    });
    expect(() => buildObject([p], { target: '6.6' })).toThrow(DslError);
    expect(() => buildObject([p], { target: '6.6' })).toThrow(/expected a pointer into stack, got a packet pointer/);
    const wrongCtx = fn('fp_xdpctx', { ctx: ctxParam('xdp') }, u32, (b, { ctx }) => ctx.ingress_ifindex);
    const q = program('tc', 'fp_badctx', (b, ctx) => {
      // @ts-expect-error a tc context where an XDP context is declared
      b.return(b.call(wrongCtx, { ctx }));
    });
    expect(() => buildObject([q], { target: '6.6' })).toThrow(/the parameter is a xdp context \(xdp\), this program's context is tc/);
    expect(() => fn('fp_bad_param', { x: 'u32' as never }, u32, () => 0)).toThrow(/parameter x must be/);
  });

  it('a call invalidates packet pointers exactly when the body may change the packet (called or inlined)', () => {
    const Byte = struct('fp_byte', { v: u8 });
    const store = fn('fp_store_byte', { ctx: ctxParam('tc'), v: u8 }, u32, (b, { v }) => {
      b.skbStoreBytes(42, b.local(Byte, { v }), 1);
      return 0;
    });
    const outer = fn('fp_outer', { ctx: ctxParam('tc') }, u32, (b, { ctx }) => b.call(store, { ctx, v: 7 }));
    for (const [target, tail] of [['6.6', false], ['4.19', false], ['4.19', true]] as const) {
      for (const f of [store, outer]) {
        const p = program('tc', `fp_inv_${f.name}`, (b, ctx) => {
          if (tail) b.tailCall(jump, 0);
          const ip = b.parse(Ip, 14).orReturn(1);
          if (f === store) b.call(store, { ctx, v: 7 });
          else b.call(outer, { ctx });
          b.return(ip.ttl); // @mark:after-store
        });
        let err: unknown;
        try {
          buildObject([p], { target });
        } catch (e) {
          err = e;
        }
        expect(err, `${target} ${tail} ${f.name}`).toBeInstanceOf(DslError);
        expect((err as DslError).code).toBe('DSL_PACKET_INVALIDATED');
        expect((err as DslError).source?.line).toBe(lineOf('after-store'));
      }
    }
  });
});

describe.skipIf(!kernel)('subfunction parameters (kernel)', () => {
  for (const target of ['4.19', '6.6']) {
    for (const tail of [false, true]) {
      it(`${target}${tail ? ' with a tail call (inlined on 4.19)' : ''}: NAT rewrite from two call sites, exact bytes and checksums`, () => {
        const name = `fp_nat_${target.replace('.', '')}${tail ? 't' : ''}`;
        using obj = loadSpec(buildObject([natProgram(name, tail)], { target }));
        const run = obj.programs.get(name)!;
        const http = tcpPacket(80, [0x47, 0x45, 0x54, 0x20, 0x2f]);
        const r1 = run.run({ data: http });
        expect(r1.retval).toBe(11);
        expect([...r1.data]).toEqual([...natted(http, [10, 1, 0, 5], 8080)]);
        const tls = tcpPacket(443, [0x16, 0x03, 0x01]);
        const r2 = run.run({ data: tls });
        expect(r2.retval).toBe(21);
        expect([...r2.data]).toEqual([...natted(tls, [10, 1, 0, 6], 8443)]);
        const other = tcpPacket(22, [1]);
        const r3 = run.run({ data: other });
        expect(r3.retval).toBe(0);
        expect([...r3.data]).toEqual([...other]);
      });
    }

    it(`${target}: a NAT subprogram taking the context fixes checksums with bpf_l3/l4_csum_replace`, () => {
      const natCsum = fn(
        'fp_nat_csum',
        { ctx: ctxParam('tc'), ip: ptrParam(Ip, 'packet'), tcp: ptrParam(Tcp, 'packet'), addr: be32, port: be16 },
        u32,
        (b, { ip, tcp, addr, port }) => {
          const oldA = ip.daddr.get();
          const oldP = tcp.dport.get();
          ip.daddr.set(addr);
          tcp.dport.set(port);
          // The helpers move the packet: ip/tcp are not used after them.
          b.l3CsumReplace(24, oldA, addr, 4);
          b.l4CsumReplace(50, oldA, addr, 0x10 | 4);
          b.l4CsumReplace(50, oldP, port, 2);
          return 1;
        },
      );
      const name = `fp_natc_${target.replace('.', '')}`;
      const p = program('tc', name, (b, ctx) => {
        const ip = b.parse(Ip, 14).orReturn(2);
        b.if(ip.proto.ne(6), () => b.return(4));
        const tcp = b.parse(Tcp, 34).orReturn(2);
        b.if(tcp.dport.eq(80), () => b.return(b.call(natCsum, { ctx, ip, tcp, addr: ipv4(10, 1, 0, 5), port: 8080 }).add(10)));
        b.if(tcp.dport.eq(443), () => b.return(b.call(natCsum, { ctx, ip, tcp, addr: ipv4(10, 1, 0, 6), port: 8443 }).add(20)));
        b.return(0);
      });
      const spec = buildObject([p], { target });
      expect(hasPseudoCall(spec)).toBe(true);
      using obj = loadSpec(spec);
      const http = tcpPacket(80, [1, 2, 3, 4]);
      const r1 = obj.programs.get(name)!.run({ data: http });
      expect(r1.retval).toBe(11);
      expect([...r1.data]).toEqual([...natted(http, [10, 1, 0, 5], 8080)]);
      const tls = tcpPacket(443, [5]);
      const r2 = obj.programs.get(name)!.run({ data: tls });
      expect(r2.retval).toBe(21);
      expect([...r2.data]).toEqual([...natted(tls, [10, 1, 0, 6], 8443)]);
    });

    it(`${target}: the NAT program through the ELF writer and object loader (BTF func_info, static subprogram)`, async () => {
      const { writeObject } = await import('../../dsl/elf/index.js');
      const { loadObject } = await import('../../loader/object/index.js');
      const name = `fp_nat_elf${target.replace('.', '')}`;
      using obj = loadObject(writeObject(buildObject([natProgram(name, false)], { target })), { objectName: 'fpnat' });
      const http = tcpPacket(80, [9, 8, 7]);
      const r = obj.program(name).run({ data: http });
      expect(r.retval).toBe(11);
      expect([...r.data]).toEqual([...natted(http, [10, 1, 0, 5], 8080)]);
    });

    it(`${target}: stack/map-value pointers, struct values (a copy) and the context as parameters`, () => {
      const Key = struct('fp_pair', { a: u32, b: u32 });
      const Out = struct('fp_out', { sum: u32, len: u32, seen: u32, pad: u32 });
      const outs = arrayMap('fp_outs', Out, { maxEntries: 1 });
      // Writes through a pointer that may be on the stack or in a map value.
      const store = fn('fp_store', { dst: ptrParam(Out, 'stack', 'map_value'), sum: u32, len: u32 }, u32, (b, { dst, sum, len }) => {
        dst.sum.set(sum);
        dst.len.set(len);
        return sum.add(len);
      });
      // A struct by value: the callee's changes stay in its copy.
      const total = fn('fp_total', { k: Key }, u32, (b, { k }) => {
        const s = k.a.add(k.b);
        k.a.set(999);
        return s;
      });
      const len = fn('fp_ctxlen', { ctx: ctxParam('tc') }, u32, (b, { ctx }) => ctx.len.add(ctx.protocol.to(u16).to(u32).and(0)));
      const p = program('tc', `fp_misc_${target.replace('.', '')}`, (b, ctx) => {
        const eth = b.parse(Eth, 0).orReturn(1);
        // Reading the context does not change the packet: eth stays valid across the call.
        b.if(b.call(len, { ctx }).eq(0), () => b.return(2));
        b.if(eth.proto.ne(0x0800), () => b.return(3));
        const key = b.local(Key, { a: 40, b: 2 });
        const s = b.call(total, { k: key });
        const s2 = b.call(total, { k: { a: 1, b: 2 } });
        const l = b.call(len, { ctx });
        const o = b.lookup(outs, 0).orReturn(1);
        const local = b.local(Out);
        const r = b.call(store, { dst: local, sum: s.add(s2), len: l });
        b.call(store, { dst: o, sum: local.sum, len: key.a });
        o.seen.set(r);
        b.return(key.a);
      });
      using obj = loadSpec(buildObject([p], { target }));
      const data = tcpPacket(80, [1, 2, 3]);
      const res = obj.programs.get(p.name)!.run({ data });
      expect(res.retval).toBe(40);
      expect(obj.maps.get('fp_outs')!.get(0)).toEqual({ sum: 45, len: 40, seen: 45 + data.length, pad: 0 });
    });
  }
});

// Type-level: the parameter's declaration decides what the body sees.
void fn('fp_types', { ip: ptrParam(Ip, 'packet'), k: ptrParam(Ip, 'rodata') }, u32, (b, { ip, k }) => {
  const p: Ptr<typeof Ip, 'packet'> = ip;
  void p;
  // @ts-expect-error read-only region: no set()
  k.ttl.set(1);
  // @ts-expect-error no such field
  void ip.nope;
  return ip.ttl.to(u32);
});

// Type-level: what a call may pass.
const typesMap = arrayMap('fp_types_map', Ip, { maxEntries: 1 });
const typed = fn('fp_typed', { ip: ptrParam(Ip, 'packet'), n: u32 }, u32, (b, { ip, n }) => ip.ttl.to(u32).add(n));
void program('tc', 'fp_typecheck', (b, ctx) => {
  const ip = b.parse(Ip, 14).orReturn(1);
  const v = b.lookup(typesMap, 0).orReturn(1);
  b.call(typed, { ip, n: ctx.len });
  // @ts-expect-error a map value pointer where a packet pointer is declared
  b.call(typed, { ip: v, n: 1 });
  // @ts-expect-error an unchecked (nullable) parse result
  b.call(typed, { ip: b.parse(Ip, 14), n: 1 });
  // @ts-expect-error a missing argument
  b.call(typed, { ip });
  // @ts-expect-error a u64 where a u32 is declared
  b.call(typed, { ip, n: ctx.len.to(u64) });
  b.return(0);
});
