/**
 * Packet-pointer invalidation follows control flow: a packet-changing helper in
 * an arm that always returns leaves pointers valid after the branch (the verifier
 * agrees: the programs load and run on 4.19 and 6.6); a helper in an arm that
 * falls through invalidates them, and the use after is a build error naming its line.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildObject, DslError, program } from '../../dsl/program/index.js';
import { array, be16, be32, struct, u8, u32 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { loadSpec, udpPacket } from './support.js';

const kernel = need({ kernel: true });
const file = fileURLToPath(import.meta.url);
const lines = readFileSync(file, 'utf8').split('\n');
const lineOf = (name: string) => lines.findIndex((l) => l.includes(`// @mark:${name}`)) + 1;

const Eth = struct('pf_eth', { dst: array(u8, 6), src: array(u8, 6), proto: be16 });
const Ip = struct('pf_ip', { vihl: u8, tos: u8, len: be16, id: be16, frag: be16, ttl: u8, proto: u8, csum: be16, saddr: be32, daddr: be32 });
const Mark = struct('pf_mark', { b: u8 });

/** UDP packets (proto 17) get byte 42 rewritten by skb_store_bytes and return 7; others return ttl + tos read after the branch. */
const storeThenReturn = program('tc', 'pf_ret', (b) => {
  const eth = b.parse(Eth, 0).orReturn(1);
  const ip = b.parse(Ip, 14).orReturn(1);
  b.if(eth.proto.ne(0x0800), () => b.return(2));
  b.if(
    ip.proto.eq(17),
    () => {
      b.skbStoreBytes(42, b.local(Mark, { b: 0xab }), 1);
      b.return(7);
    },
    () => {
      // Else arm falls through without changing the packet.
    },
  );
  // Both arms of a nested branch return: still valid afterwards.
  b.if(ip.proto.eq(1), () => {
    b.if(ip.tos.eq(0), () => {
      b.skbStoreBytes(42, b.local(Mark, { b: 1 }), 1);
      b.return(8);
    }, () => {
      b.skbStoreBytes(42, b.local(Mark, { b: 2 }), 1);
      b.return(9);
    });
  });
  b.return(ip.ttl.to(u32).add(ip.tos.to(u32)));
});

describe('flow-sensitive packet invalidation (build)', () => {
  it('a helper in an arm that falls through invalidates pointers used after the branch', () => {
    const p = program('tc', 'pf_fall', (b) => {
      const ip = b.parse(Ip, 14).orReturn(1);
      b.if(ip.proto.eq(17), () => {
        b.skbStoreBytes(42, b.local(Mark, { b: 0xab }), 1); // @mark:helper
      });
      b.return(ip.ttl); // @mark:use
    });
    let err: unknown;
    try {
      buildObject([p], { target: '6.6' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DslError);
    const e = err as DslError;
    expect(e.code).toBe('DSL_PACKET_INVALIDATED');
    expect(e.source?.line).toBe(lineOf('use'));
    expect(e.message).toContain(`bpf_skb_store_bytes at ${file}:${lineOf('helper')}`);
  });

  it('a helper in one arm of ifPresent that falls through invalidates too; in an arm that returns it does not', () => {
    const bad = program('tc', 'pf_present', (b) => {
      const ip = b.parse(Ip, 14).orReturn(1);
      b.parse(Eth, 0).ifPresent(() => {
        b.skbStoreBytes(42, b.local(Mark, { b: 1 }), 1);
      });
      b.return(ip.ttl); // @mark:present
    });
    expect(() => buildObject([bad], { target: '6.6' })).toThrow(expect.objectContaining({ code: 'DSL_PACKET_INVALIDATED', source: expect.objectContaining({ line: lineOf('present') }) }));
    const good = program('tc', 'pf_present_ok', (b) => {
      const ip = b.parse(Ip, 14).orReturn(1);
      b.parse(Eth, 0).ifPresent(() => {
        b.skbStoreBytes(42, b.local(Mark, { b: 1 }), 1);
        b.return(3);
      });
      b.return(ip.ttl);
    });
    expect(() => buildObject([good], { target: '6.6' })).not.toThrow();
  });
});

/** A loop that changes the packet re-parses inside its body; a store in an arm that returns does not count. */
const loopStore = program('tc', 'pf_loop', (b) => {
  const acc = b.let(u32, 0);
  b.loop(3, (i) => {
    const ip = b.parse(Ip, 14).orReturn(1);
    acc.set(acc.add(ip.ttl.to(u32)));
    b.skbStoreBytes(i.add(42), b.local(Mark, { b: 0xc0 }), 1);
  });
  const ip = b.parse(Ip, 14).orReturn(1);
  b.loop(2, () => {
    b.if(ip.proto.eq(99), () => {
      b.skbStoreBytes(45, b.local(Mark, { b: 0xee }), 1);
      b.return(5);
    });
    acc.set(acc.add(ip.tos.to(u32)));
  });
  b.return(acc);
});

describe('packet invalidation in loops (build)', () => {
  it('a pointer from before a loop whose body changes the packet is refused where the body uses it', () => {
    const p = program('tc', 'pf_loop_bad', (b) => {
      const ip = b.parse(Ip, 14).orReturn(1);
      const acc = b.let(u32, 0);
      b.loop(3, (i) => {
        acc.set(acc.add(ip.ttl.to(u32))); // @mark:loopuse
        b.skbStoreBytes(i.add(42), b.local(Mark, { b: 0xc0 }), 1);
      });
      b.return(acc);
    });
    for (const target of ['4.19', '6.6']) {
      let err: unknown;
      try {
        buildObject([p], { target });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DslError);
      expect((err as DslError).code).toBe('DSL_PACKET_INVALIDATED');
      expect((err as DslError).source?.line).toBe(lineOf('loopuse'));
      expect((err as DslError).message).toMatch(/next iteration/);
    }
  });
});

describe.skipIf(!kernel)('flow-sensitive packet invalidation (kernel)', () => {
  for (const target of ['4.19', '6.6']) {
    it(`${target}: a loop that changes the packet and re-parses; a loop whose store returns`, () => {
      using obj = loadSpec(buildObject([loopStore], { target }));
      const pkt = udpPacket(new Uint8Array([1, 2, 3, 4, 5, 6]));
      pkt[15] = 4;
      const r = obj.programs.get('pf_loop')!.run({ data: pkt });
      expect(r.retval).toBe(3 * 64 + 2 * 4);
      expect([...r.data.subarray(42, 46)]).toEqual([0xc0, 0xc0, 0xc0, 4]);
      pkt[23] = 99;
      const r2 = obj.programs.get('pf_loop')!.run({ data: pkt });
      expect(r2.retval).toBe(5);
      expect(r2.data[45]).toBe(0xee);
    });
  }

  for (const target of ['4.19', '6.6']) {
    it(`${target}: pointers stay valid after an arm that stores and returns`, () => {
      using obj = loadSpec(buildObject([storeThenReturn], { target }));
      const run = obj.programs.get('pf_ret')!;
      const udp = udpPacket(new Uint8Array([1, 2, 3, 4]));
      const r1 = run.run({ data: udp });
      expect(r1.retval).toBe(7);
      expect(r1.data[42]).toBe(0xab);
      const tcp = udpPacket(new Uint8Array([1, 2, 3, 4]));
      tcp[23] = 6;
      tcp[15] = 3; // tos
      const r2 = run.run({ data: tcp });
      expect(r2.retval).toBe(64 + 3);
      expect(r2.data[42]).toBe(1);
      const icmp = udpPacket(new Uint8Array([1, 2, 3, 4]));
      icmp[23] = 1;
      expect(run.run({ data: icmp }).retval).toBe(8);
      icmp[15] = 5;
      const r3 = run.run({ data: icmp });
      expect(r3.retval).toBe(9);
      expect(r3.data[42]).toBe(2);
    });
  }
});
