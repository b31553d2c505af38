/**
 * Type-level guarantees of the DSL, checked by `tsc` (this file is in the
 * type-checked project): every `@ts-expect-error` below must be an error, or the
 * type check fails. The bodies are declared but only built where noted.
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, buildObject, hashMap, program, type Int, type Value } from '../../dsl/program/index.js';
import { struct, u16, u32, u64, be16, be32 } from '../../dsl/types/index.js';

const Key = struct('tkey', { addr: be32, port: be16, pad_: u16 });
const Val = struct('tval', { count: u64, port: be16, small: u16 });
const m = hashMap('tmap', Key, Val, { maxEntries: 8 });
const counters = arrayMap('tcounters', u64, { maxEntries: 1 });
const Eth = struct('teth', { dst: u32, src: u32, proto: be16 });

const typeCases = [
  program('tc', 'unchecked_lookup', (b) => {
    const v = b.lookup(m, { addr: 1, port: 2 });
    // @ts-expect-error field access on an unchecked lookup result
    v.count.atomicAdd(1);
    const ok = v.orReturn(0);
    ok.count.atomicAdd(1);
    b.return(0);
  }),
  program('xdp', 'packet_unchecked', (b) => {
    const h = b.parse(Eth, 0);
    // @ts-expect-error packet read without the bounds check
    b.if(h.proto.eq(0x800), () => b.return(1));
    // @ts-expect-error there is no unchecked packet pointer at all
    b.packet.proto;
    h.ifPresent((eth) => b.if(eth.proto.eq(0x800), () => b.return(2)));
    b.return(0);
  }),
  program('cgroup/connect4', 'ro_field', (b, ctx) => {
    ctx.user_ip4.set(ctx.user_ip4);
    ctx.user_port.set(8080);
    // @ts-expect-error write to a read-only context field
    ctx.family.set(2);
    // @ts-expect-error user_ip6 does not exist in an IPv4 hook
    ctx.user_ip6.at(0);
    // @ts-expect-error msg_src_ip4 exists only in sendmsg4
    ctx.msg_src_ip4.set(0);
    b.return(1);
  }),
  program('tc', 'ptr_in_map', (b) => {
    const key = b.local(Key, { addr: 1 });
    const v = b.lookup(m, key).orReturn(0);
    // @ts-expect-error storing a pointer in a map value
    v.count.set(key);
    // @ts-expect-error storing a pointer in a map value (through update's value)
    b.update(m, key, { count: key });
    b.return(0);
  }),
  program('tc', 'byte_orders', (b, ctx) => {
    const v = b.lookup(m, { addr: 1 }).orReturn(0);
    // @ts-expect-error mixing be16 and u16
    v.small.set(v.port);
    // @ts-expect-error mixing be16 and u16 in a comparison
    b.if(v.port.eq(v.small), () => b.return(1));
    // @ts-expect-error no arithmetic on network-order values
    v.port.add(1);
    v.small.set(v.port.to(u16));
    b.if(ctx.protocol.eq(0x0800), () => b.return(2));
    b.return(0);
  }),
  program('tc', 'u64_param', (b, ctx) => {
    const t = b.ktimeGetNs();
    // @ts-expect-error u64 into a u32 helper parameter without conversion
    b.redirect(t, 0);
    b.redirect(t.to(u32), 0);
    // @ts-expect-error u64 into u32 arithmetic
    ctx.mark.set(ctx.mark.add(t));
    b.return(0);
  }),
  program('tc', 'unknown_fields', (b, ctx) => {
    // @ts-expect-error unknown context field
    ctx.no_such_field;
    const v = b.lookup(m, { addr: 1 }).orReturn(0);
    // @ts-expect-error unknown map value field
    v.nope.set(1);
    // @ts-expect-error unknown key field in an initialiser
    b.lookup(m, { address: 1 });
    // @ts-expect-error unknown field of a local
    b.local(Key).prt.set(1);
    const c = b.lookup(counters, 0).orReturn(0);
    c.atomicAdd(1);
    b.return(0);
  }),
];

// Values keep their type name: an Int<'u32'> is not a Value<'u64'>.
const sameType = (x: Int<'u32'>): Value<'u32'> => x;
// @ts-expect-error widths do not mix
const wrongWidth = (x: Int<'u32'>): Value<'u64'> => x;

describe('type-level misuse (checked by tsc)', () => {
  it('the declarations above exist', () => {
    expect(typeCases).toHaveLength(7);
    expect(typeof sameType).toBe('function');
    expect(typeof wrongWidth).toBe('function');
  });

  it('correct programs next to the errors build', () => {
    // The valid statements of each case still build where they are valid at run time;
    // the first case has no erroneous statement once the bad line is skipped.
    const ok = program('tc', 'valid', (b, ctx) => {
      const v = b.lookup(m, { addr: 1, port: 80 }).orReturn(0);
      v.count.atomicAdd(1);
      v.small.set(v.port.to(u16));
      b.redirect(b.ktimeGetNs().to(u32), 0);
      b.if(ctx.protocol.eq(0x0800), () => b.return(2));
      b.return(0);
    });
    expect(buildObject([ok], { target: '6.6' }).programs).toHaveLength(1);
  });
});
