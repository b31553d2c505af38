/**
 * Whole-address copies between the context's `__u32[4]` IPv6 fields and `ipv6`
 * schema fields: `key.address.set(ctx.user_ip6)` and `ctx.user_ip6.set(addr)`
 * move the 16 bytes in four 32-bit context accesses (the only width the verifier
 * allows there), and misuse is a DslError at the call.
 */
import { describe, expect, it } from 'vitest';
import { build, DslError, hashMap, program } from '../../dsl/program/index.js';
import { AluOp, Class, Size, Source, type Instruction } from '../../dsl/isa/index.js';
import { ipv6, pad, struct, u16, u32 } from '../../dsl/types/index.js';

const Key = struct('cip6_key', { address: ipv6, port: u16, _pad: pad(2) });
const Addr = struct('cip6_addr', { address: ipv6 });
const m = hashMap('cip6_map', Key, Addr, { maxEntries: 4 });

/** Registers holding the context: r1 and its 64-bit register copies. */
const ctxRegs = (insns: readonly Instruction[]) => {
  const regs = new Set([1]);
  for (const i of insns) if (i.opcode === (Class.ALU64 | AluOp.MOV | Source.X) && regs.has(i.src)) regs.add(i.dst);
  return regs;
};
/** Context loads (LDX) or stores (STX) at offsets [from, to). */
const ctxAccesses = (insns: readonly Instruction[], cls: number, from: number, to: number) => {
  const regs = ctxRegs(insns);
  return insns.filter((i) => (i.opcode & 7) === cls && i.off >= from && i.off < to && regs.has(cls === Class.LDX ? i.src : i.dst));
};

describe('context IPv6 arrays copied as a whole', () => {
  it('user_ip6 → ipv6 field and ipv6 field → user_ip6 use four 32-bit accesses each', () => {
    const p = program('cgroup/connect6', 'cip6_connect', (b, ctx) => {
      const key = b.local(Key, { port: 1 });
      key.address.set(ctx.user_ip6);
      const v = b.lookup(m, key).orReturn(1);
      ctx.user_ip6.set(v.address);
      b.return(1);
    });
    const insns = build([p], { target: '6.6' }).object.programs[0]!.instructions;
    const loads = ctxAccesses(insns, Class.LDX, 8, 24);
    const stores = ctxAccesses(insns, Class.STX, 8, 24);
    expect(loads.map((i) => i.off).sort((x, y) => x - y)).toEqual([8, 12, 16, 20]);
    expect(stores.map((i) => i.off).sort((x, y) => x - y)).toEqual([8, 12, 16, 20]);
    // All 32-bit: nothing wider touches the context there.
    expect([...loads, ...stores].every((i) => (i.opcode & 0x18) === Size.W)).toBe(true);
  });

  it('sendmsg6 copies into msg_src_ip6; a read-only context address (sock_release dst_ip6) copies out but not in', () => {
    const src = program('cgroup/sendmsg6', 'cip6_src', (b, ctx) => {
      const a = b.local(Addr, { address: 'fd00::1' });
      ctx.msg_src_ip6.set(a.address);
      b.return(1);
    });
    const insns = build([src], { target: '6.6' }).object.programs[0]!.instructions;
    // msg_src_ip6 is at offset 44 of bpf_sock_addr.
    expect(ctxAccesses(insns, Class.STX, 44, 60).map((i) => i.off).sort((x, y) => x - y)).toEqual([44, 48, 52, 56]);
    const out = program('cgroup/sock_release', 'cip6_dst_out', (b, ctx) => {
      b.local(Addr).address.set(ctx.dst_ip6);
      b.return(1);
    });
    expect(() => build([out], { target: '6.6' })).not.toThrow();
    const into = program('cgroup/sock_release', 'cip6_dst_in', (b, ctx) => {
      (ctx.dst_ip6 as unknown as { set(x: unknown): void }).set(b.local(Addr).address);
      b.return(1);
    });
    expect(() => build([into], { target: '6.6' })).toThrow(DslError);
    expect(() => build([into], { target: '6.6' })).toThrow(/bpf_sock\.dst_ip6 is not writable/);
  });

  it('size mismatches and context fields passed to helpers are DslErrors naming the line', () => {
    const small = program('cgroup/connect6', 'cip6_small', (b, ctx) => {
      b.local(struct('cip6_two', { a: u32, b: u32 })).set(ctx.user_ip6 as never);
      b.return(1);
    });
    expect(() => build([small], { target: '6.6' })).toThrow(/cannot copy 16 bytes .* into 8 bytes/);
    const helperArg = program('cgroup/connect6', 'cip6_helper', (b, ctx) => {
      b.helper('get_netns_cookie', ctx.user_ip6);
      b.return(1);
    });
    let err: unknown;
    try {
      build([helperArg], { target: '6.6' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DslError);
    expect((err as DslError).message).toMatch(/argument 1 is a context field; pass the context itself/);
    expect((err as DslError).message).toMatch(/ctx-ip6-copy\.test\.ts:\d+/);
  });
});
