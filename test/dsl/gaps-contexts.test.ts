/**
 * Typed contexts of cgroup/sock_create, sock_release, post_bind4, post_bind6 and
 * sk_skb. These program types have no BPF_PROG_TEST_RUN, so the cgroup/sock hooks
 * are attached to a cgroup this test creates and exercised by a child process in
 * it (sockets created, bound and closed; what the programs saw lands in a map, and
 * the mark they set is read back with getsockopt); sk_skb programs are loaded.
 * Writes the kernel forbids are refused at build time; the field rules themselves
 * are checked against the verifier in test/kernel-data/context.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, build, buildObject, program, DslError } from '../../dsl/program/index.js';
import { writeObject } from '../../dsl/elf/index.js';
import { struct, u8, u32, be16 } from '../../dsl/types/index.js';
import { loadObject } from '../../loader/index.js';
import { attachCgroup, BpfLink } from '../../loader/links/index.js';
import { need } from '../support/env.js';
import { connectProbe, createTestCgroup, runInCgroup } from '../support/cgroup.js';
import { createNetns, deleteNetns } from '../support/netns.js';
import { loadSpec } from './support.js';

const kernel = need({ kernel: true });
const MARK = 0x5a5a;
const Seen = struct('cx_seen', { creates: u32, releases: u32, port4: u32, port6: u32, addr4ok: u32, dport: be16, _p: u8, _q: u8 });

function modules() {
  const seen = arrayMap('cx_seen', Seen, { maxEntries: 1 });
  const create = program('cgroup/sock_create', 'cx_create', (b, ctx) => {
    const s = b.lookup(seen, 0).orReturn(1);
    ctx.mark.set(MARK);
    ctx.priority.set(3);
    b.if(ctx.family.eq(2).and(ctx.type.eq(2)), () => s.creates.atomicAdd(1));
    b.return(1);
  });
  const release = program('cgroup/sock_release', 'cx_release', (b, ctx) => {
    const s = b.lookup(seen, 0).orReturn(1);
    b.if(ctx.mark.eq(MARK).and(ctx.priority.eq(3)), () => s.releases.atomicAdd(1));
    b.return(1);
  });
  const bind4 = program('cgroup/post_bind4', 'cx_bind4', (b, ctx) => {
    const s = b.lookup(seen, 0).orReturn(1);
    s.port4.set(ctx.src_port);
    b.if(ctx.src_ip4.eq(0x7f000001), () => s.addr4ok.set(1));
    s.dport.set(ctx.dst_port);
    b.return(1);
  });
  const bind6 = program('cgroup/post_bind6', 'cx_bind6', (b, ctx) => {
    const s = b.lookup(seen, 0).orReturn(1);
    b.if(ctx.src_ip6.at(3).eq(1), () => s.port6.set(ctx.src_port));
    b.return(1);
  });
  return { create, release, bind4, bind6 };
}

const CHILD = `
import socket
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s4.bind(('127.0.0.1', 0))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.bind(('::1', 0))
print(s4.getsockname()[1], s6.getsockname()[1], s4.getsockopt(socket.SOL_SOCKET, socket.SO_MARK), s4.getsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY))
s4.close()
s6.close()
`;

describe('socket-level contexts', () => {
  it.skipIf(!kernel)('sock_create / sock_release / post_bind4 / post_bind6 see and set what a real child process does (6.6)', async () => {
    const bytes = writeObject(buildObject(modules(), { target: '6.6' }));
    const cg = createTestCgroup('dslsock');
    const ns = createNetns('dslsock');
    const obj = loadObject(bytes, { objectName: 'dslsock' });
    const attached: ReturnType<typeof attachCgroup>[] = [];
    try {
      for (const [name, hook] of [['cx_create', 'sock_create'], ['cx_release', 'sock_release'], ['cx_bind4', 'post_bind4'], ['cx_bind6', 'post_bind6']] as const)
        attached.push(attachCgroup(obj.program(name), { hook, cgroup: cg.path }));
      const r = await runInCgroup(cg.path, ['/usr/bin/python3', '-c', CHILD], { netns: ns, timeoutMs: 5000 });
      expect(r.stderr).toBe('');
      const [port4, port6, mark, prio] = r.stdout.trim().split(' ').map(Number);
      expect(mark).toBe(MARK);
      expect(prio).toBe(3);
      const seen = Seen.decode(obj.map('cx_seen').get(new Uint8Array(4) as never) as unknown as Uint8Array);
      expect(seen).toEqual({ creates: 1, releases: 2, port4, port6, addr4ok: 1, dport: 0, _p: 0, _q: 0 });
    } finally {
      for (const a of attached) a instanceof BpfLink ? a.close() : a.detach();
      obj.close();
      deleteNetns(ns);
      cg.cleanup();
    }
  });

  it('sock_release needs kernel 5.9: the 4.19 profile refuses it; the other hooks build and load for 4.19', () => {
    const m = modules();
    expect(() => buildObject([m.release], { target: '4.19' })).toThrow(DslError);
    expect(() => buildObject([m.release], { target: '4.19' })).toThrow(/target 4.19 has no CGROUP_INET_SOCK_RELEASE hook/);
    const spec = buildObject([m.create, m.bind4, m.bind6], { target: '4.19' });
    expect(spec.programs).toHaveLength(3);
    if (kernel) {
      using obj = loadSpec(spec);
      expect(obj.programs.size).toBe(3);
    }
  });

  it.skipIf(!kernel)('sockops sees a real TCP connection of a child in the test cgroup: ops, ports, reply (6.6)', async () => {
    const Ops = struct('cx_ops', { connect: u32, active: u32, passive: u32, activeRemote: u32, activeLocal: u32, passiveLocal: u32 });
    const ops = arrayMap('cx_ops', Ops, { maxEntries: 1 });
    const p = program('sockops', 'cx_sockops', (b, ctx) => {
      const o = b.lookup(ops, 0).orReturn(1);
      // BPF_SOCK_OPS_TCP_CONNECT_CB = 3, ACTIVE_ESTABLISHED_CB = 4, PASSIVE_ESTABLISHED_CB = 5.
      b.switch(ctx.op, {
        3: () => o.connect.atomicAdd(1),
        4: () => {
          o.active.atomicAdd(1);
          o.activeRemote.set(ctx.remote_port.to(u32));
          o.activeLocal.set(ctx.local_port);
        },
        5: () => {
          o.passive.atomicAdd(1);
          o.passiveLocal.set(ctx.local_port);
        },
      });
      ctx.reply.set(0);
      b.return(1);
    });
    const bytes = writeObject(buildObject([p], { target: '6.6' }));
    const cg = createTestCgroup('dslops');
    const ns = createNetns('dslops');
    const obj = loadObject(bytes, { objectName: 'dslops' });
    try {
      const att = attachCgroup(obj.program('cx_sockops'), { hook: 'sock_ops', cgroup: cg.path });
      try {
        expect(await connectProbe(cg.path, ns, 7243, '127.0.0.1', 7243)).toMatchObject({ ok: true, data: 'listener-7243' });
      } finally {
        att instanceof BpfLink ? att.close() : att.detach();
      }
      const o = Ops.decode(obj.map('cx_ops').get(new Uint8Array(4) as never) as unknown as Uint8Array);
      expect(o).toEqual({ connect: 1, active: 1, passive: 1, activeRemote: 7243, activeLocal: expect.any(Number), passiveLocal: 7243 });
      expect(o.activeLocal).toBeGreaterThan(0);
      expect(o.activeLocal).not.toBe(7243);
    } finally {
      obj.close();
      deleteNetns(ns);
      cg.cleanup();
    }
  });

  for (const target of ['4.19', '6.6'] as const) {
    it.skipIf(!kernel)(`sockops and sk_msg programs build and load with their typed contexts (${target})`, () => {
      const ops = program('sockops', 'cx_ops_load', (b, ctx) => {
        b.if(ctx.op.eq(4).and(ctx.family.eq(2)), () => ctx.reply.set(ctx.remote_ip4.bits(u32).xor(ctx.local_port)));
        b.return(1);
      });
      const msg = program('sk_msg', 'cx_msg', (b, ctx) => {
        const first = b.parse(u8, 0).orReturn(1); // SK_PASS without data
        b.if(first.eq(0x41).and(ctx.local_port.eq(80)).or(ctx.remote_port.to(u32).eq(8080)), () => b.return(0));
        b.return(1);
      });
      using obj = loadSpec(buildObject([ops, msg], { target }));
      expect([...obj.programs.keys()]).toEqual(['cx_ops_load', 'cx_msg']);
    });

    it.skipIf(!kernel)(`sk_skb stream parser and verdict programs read packets and write tc_index (${target})`, () => {
      const parser = program('sk_skb/stream_parser', 'cx_parser', (b, ctx) => b.return(ctx.len));
      const verdict = program('sk_skb/stream_verdict', 'cx_verdict', (b, ctx) => {
        ctx.tc_index.set(ctx.local_port);
        ctx.priority.set(1);
        const first = b.parse(u8, 0).orReturn(1);
        b.if(first.eq(0x41).and(ctx.remote_port.ne(0)), () => b.return(0));
        b.return(1);
      });
      using obj = loadSpec(buildObject([parser, verdict], { target }));
      expect([...obj.programs.keys()]).toEqual(['cx_parser', 'cx_verdict']);
    });
  }

  it('writes the kernel forbids are build errors naming the line (also refused by the types)', () => {
    const p1 = program('cgroup/post_bind4', 'cx_bad1', (b, ctx) => {
      // @ts-expect-error src_port is read-only in post_bind4
      ctx.src_port.set(1);
      b.return(1);
    });
    expect(() => build([p1], { target: '6.6' })).toThrow(/src_port|read-only|not writable/);
    const p2 = program('cgroup/post_bind4', 'cx_bad2', (b, ctx) => {
      // @ts-expect-error mark is only accessible in sock_create / sock_release
      ctx.mark.set(1);
      b.return(1);
    });
    expect(() => build([p2], { target: '6.6' })).toThrow(/mark/);
    const p3 = program('cgroup/sock_create', 'cx_bad3', (b, ctx) => {
      // @ts-expect-error no src_ip4 in sock_create
      b.return(ctx.src_ip4.bits(u32));
    });
    expect(() => build([p3], { target: '6.6' })).toThrow(/src_ip4/);
    const p4 = program('sk_skb/stream_verdict', 'cx_bad4', (b, ctx) => {
      // @ts-expect-error mark is not accessible in sk_skb
      b.return(ctx.mark);
    });
    expect(() => build([p4], { target: '6.6' })).toThrow(/mark/);
    const p6 = program('sockops', 'cx_bad6', (b, ctx) => {
      // @ts-expect-error only reply and sk_txhash are writable in sockops
      ctx.snd_cwnd.set(10);
      b.return(1);
    });
    expect(() => build([p6], { target: '6.6' })).toThrow(/snd_cwnd is read-only/);
    const p7 = program('sk_msg', 'cx_bad7', (b, ctx) => {
      // @ts-expect-error sk_msg contexts are read-only
      ctx.family.set(2);
      b.return(1);
    });
    expect(() => build([p7], { target: '6.6' })).toThrow(/read-only/);
    const p5 = program('sk_skb/stream_verdict', 'cx_bad5', (b, ctx) => {
      // @ts-expect-error cb is read-only in sk_skb
      ctx.cb.at(0).set(1);
      b.return(1);
    });
    expect(() => build([p5], { target: '6.6' })).toThrow(/read-only/);
  });
});
