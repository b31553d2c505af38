/**
 * sk_msg and sk_skb programs with their typed contexts, run for real: both are
 * attached to a sockmap holding this test's own TCP client socket (127.0.0.1), so
 * the sk_msg verdict sees what the client sends and the sk_skb stream verdict what
 * it receives; what the programs saw (sizes, first bytes, ports) lands in a map.
 */
import { createServer, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { arrayMap, buildObject, program } from '../../dsl/program/index.js';
import { BpfAttachType } from '../../dsl/kernel/index.js';
import { struct, u8, u32 } from '../../dsl/types/index.js';
import { BpfMap } from '../../loader/index.js';
import { progAttach, progDetach } from '../../loader/sys/bpf.js';
import { need } from '../support/env.js';
import { loadSpec } from './support.js';

const kernel = need({ kernel: true });
const Seen = struct('sm_seen', { msgs: u32, msgSize: u32, msgFirst: u32, msgPort: u32, skbs: u32, skbLen: u32, skbFirst: u32, skbPort: u32 });

const fdOf = (s: Socket) => (s as unknown as { _handle: { fd: number } })._handle.fd;
const once = <T>(f: (done: (v: T) => void) => void) => new Promise<T>((resolve) => f(resolve));

describe.skipIf(!kernel)('sk_msg and sk_skb on a real socket', () => {
  it('the verdict programs see the client\'s sends and receives through their typed contexts (6.6)', async () => {
    const seen = arrayMap('sm_seen', Seen, { maxEntries: 1 });
    const msg = program('sk_msg', 'sm_msg', (b, ctx) => {
      const s = b.lookup(seen, 0).orReturn(1);
      s.msgs.atomicAdd(1);
      s.msgSize.set(ctx.size);
      s.msgPort.set(ctx.remote_port.to(u32));
      b.parse(u8, 0).ifPresent((first) => s.msgFirst.set(first.to(u32)));
      b.return(1); // SK_PASS
    });
    const verdict = program('sk_skb/stream_verdict', 'sm_skb', (b, ctx) => {
      const s = b.lookup(seen, 0).orReturn(1);
      s.skbs.atomicAdd(1);
      s.skbLen.set(ctx.len);
      s.skbPort.set(ctx.remote_port.to(u32));
      // A received TCP skb need not be linear, so fall back to bpf_skb_load_bytes.
      b.parse(u8, 0).ifPresent(
        (first) => s.skbFirst.set(first.to(u32)),
        () => {
          const t = b.local(u8);
          b.if(b.skbLoadBytes(0, t, 1).eq(0), () => s.skbFirst.set(t.to(u32)));
        },
      );
      b.return(1); // SK_PASS
    });
    using obj = loadSpec(buildObject([msg, verdict], { target: '6.6' }));
    using sockmap = BpfMap.create({ type: 'SOCKMAP', name: 'sm_map', key: 4, maxEntries: 1 });
    const server = createServer();
    await once<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    const port = (server.address() as { port: number }).port;
    const accepted = once<Socket>((done) => server.once('connection', done));
    const client = connect(port, '127.0.0.1');
    const attached: number[] = [];
    try {
      await once<void>((done) => client.once('connect', () => done()));
      const peer = await accepted;
      for (const [prog, type] of [['sm_msg', BpfAttachType.SK_MSG_VERDICT], ['sm_skb', BpfAttachType.SK_SKB_STREAM_VERDICT]] as const) {
        progAttach({ target_fd: sockmap.fd, attach_bpf_fd: obj.programs.get(prog)!.fd, attach_type: type });
        attached.push(type);
      }
      sockmap.update(0 as never, fdOf(client) as never);
      const got = once<string>((done) => peer.once('data', (d) => done(d.toString())));
      client.write('Ahello');
      expect(await got).toBe('Ahello');
      const back = once<string>((done) => client.once('data', (d) => done(d.toString())));
      peer.write('Zworld!');
      expect(await back).toBe('Zworld!');
      const s = obj.maps.get('sm_seen')!.get(0);
      expect(s).toEqual({ msgs: 1, msgSize: 6, msgFirst: 0x41, msgPort: port, skbs: 1, skbLen: 7, skbFirst: 0x5a, skbPort: port });
      peer.destroy();
    } finally {
      for (const type of attached) {
        const prog = type === BpfAttachType.SK_MSG_VERDICT ? 'sm_msg' : 'sm_skb';
        progDetach({ target_fd: sockmap.fd, attach_bpf_fd: obj.programs.get(prog)!.fd, attach_type: type });
      }
      client.destroy();
      server.close();
    }
  });
});
