/**
 * Type-level guarantees of the newer DSL features (conditions, switch, copies,
 * bits, checksum words, address views), checked by `tsc`: every `@ts-expect-error`
 * below must be an error or the type check fails. The valid lines build.
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, buildObject, FibLookup4, global, program, SockTuple4 } from '../../dsl/program/index.js';
import { array, be16, be32, ipv6, mac, struct, u8, u16, u32, u64 } from '../../dsl/types/index.js';

const Ip = struct('gt_ip', { vihl: u8, tos: u8, len: be16, id: be16, frag: be16, ttl: u8, proto: u8, csum: be16, saddr: be32, daddr: be32 });
const A = struct('gt_a', { x: u32, list: array(u16, 4) });
const B = struct('gt_b', { y: u64 });
const Addr = struct('gt_addr', { v6: ipv6, hw: mac, port: be16 });
const vals = arrayMap('gt_vals', A, { maxEntries: 1 });
const ro = global('gt_ro', A, { section: '.rodata', init: { x: 1 } });

const typeCases = [
  program('tc', 'gt_conditions', (b, ctx) => {
    b.if(ctx.len.gt(1).and(ctx.mark.eq(2)).or(() => ctx.priority.lt(3)).not(), () => b.return(1));
    // @ts-expect-error and() takes a condition, not a number
    b.if(ctx.len.gt(1).and(5), () => b.return(1));
    // @ts-expect-error the lazy side must return a condition
    b.if(ctx.len.gt(1).or(() => ctx.len), () => b.return(1));
    b.switch(ctx.len, { 1: () => b.return(1), 2: () => b.return(2) }, () => b.return(3));
    // @ts-expect-error case bodies are functions
    b.switch(ctx.len, { 1: 5 });
    // @ts-expect-error switch is on a scalar value
    b.switch(ctx, { 1: () => b.return(1) });
    b.return(0);
  }),
  program('tc', 'gt_copy', (b) => {
    const a = b.local(A);
    const other = b.local(B);
    const v = b.lookup(vals, 0).orReturn(0);
    v.set(a);
    a.list.set(v.list);
    a.set(b.global(ro));
    // @ts-expect-error copying a different schema
    a.set(other);
    // @ts-expect-error arrays of another element type
    a.list.set(b.local(array(u32, 4)));
    // @ts-expect-error read-only globals have no set()
    b.global(ro).set(a);
    b.return(0);
  }),
  program('tc', 'gt_bits', (b) => {
    const ip = b.parse(Ip, 14).orReturn(0);
    const k = b.local(u32);
    k.set(ip.saddr.bits(u32));
    // @ts-expect-error bits() keeps the width: be32 is not a u16
    k.set(ip.saddr.bits(u16).to(u32));
    // @ts-expect-error reinterpreted bits are u32, not be32, so they do not mix with be32
    b.if(ip.saddr.bits(u32).eq(ip.daddr), () => b.return(1));
    b.return(0);
  }),
  program('tc', 'gt_csum', (b) => {
    const ip = b.parse(Ip, 14).orReturn(0);
    const old = ip.csum.get();
    const ttl = ip.ttl.to(u16);
    ip.ttl.set(1);
    b.l3CsumReplace(24, old, b.val(be16, 1), 2);
    b.l3CsumReplace(24, 0x0a000001, 0x0a000002, 4);
    // @ts-expect-error a host-order u16 is not a checksum word (convert with .to(be16) or .bits(be16))
    b.l3CsumReplace(24, ttl, 1, 2);
    b.return(0);
  }),
  program('tc', 'gt_addr', (b) => {
    const a = b.local(Addr, { v6: 'fd00::1', hw: '02:00:00:00:00:01', port: 80 });
    b.if(a.v6.word(3).eq(1).and(a.hw.half(2).eq(1)), () => b.return(1));
    a.v6.at(15).set(a.hw.at(5));
    // @ts-expect-error an IPv6 address has words 0..3
    a.v6.word(4);
    // @ts-expect-error a MAC has no 32-bit words
    a.hw.word(0);
    // @ts-expect-error words are network order: no host arithmetic
    a.v6.word(0).add(1);
    a.hw.set(b.local(mac));
    // @ts-expect-error an IPv6 address is not a MAC
    a.hw.set(a.v6);
    b.return(0);
  }),
  program('tc', 'gt_sockets', (b, ctx) => {
    const ref = b.skLookupTcp(b.local(SockTuple4, { daddr: 0x7f000001, dport: 80 }));
    // @ts-expect-error no field access before the presence check
    ref.state;
    ref.ifPresent((sk) => {
      b.if(sk.state.eq(10), () => b.return(1));
      // @ts-expect-error socket fields are read-only
      sk.mark.set(1);
    });
    // @ts-expect-error there is no manual release to forget or to repeat
    b.skRelease(ref);
    // @ts-expect-error the tuple must be a SockTuple4/SockTuple6
    b.skLookupTcp(b.local(A));
    const params = b.local(FibLookup4, { family: 2, ifindex: ctx.ifindex });
    b.return(b.fibLookup(params, 0).to(u32));
    // @ts-expect-error fibLookup takes FibLookup4/FibLookup6 params
    b.fibLookup(b.local(A), 0);
  }),
];

describe('type-level misuse of conditions, copies, bits, checksums and addresses (checked by tsc)', () => {
  it('the declarations above exist', () => {
    expect(typeCases).toHaveLength(6);
  });

  it('correct programs next to the errors build', () => {
    const ok = program('tc', 'gt_valid', (b, ctx) => {
      b.if(ctx.len.gt(1).and(ctx.mark.eq(2)).or(() => ctx.priority.lt(3)).not(), () => b.return(1));
      const a = b.local(Addr, { v6: 'fd00::1', hw: '02:00:00:00:00:01', port: 80 });
      const c = b.local(Addr);
      c.set(a);
      b.switch(c.v6.word(3), { 1: () => b.return(2) });
      b.return(0);
    });
    expect(buildObject([ok], { target: '6.6' }).programs).toHaveLength(1);
  });
});
