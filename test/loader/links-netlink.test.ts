/**
 * The rtnetlink layer: attribute/message codec properties (round trip, nesting,
 * alignment, malformed input → typed error), and against the real kernel in a
 * test namespace with iproute2 as the oracle in both directions (what we create
 * `ip`/`tc` show; what `tc` creates we decode).
 */
import { readlinkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addBpfFilter,
  addClsact,
  AttrSet,
  bytesAttr,
  decodeAttrs,
  decodeMessages,
  encodeAttrs,
  attrsLength,
  encodeMessage,
  getInterface,
  hasClsact,
  listFilters,
  listInterfaces,
  nestedAttr,
  NetlinkError,
  NetlinkSocket,
  NetlinkUsageError,
  nlAlign,
  s32Attr,
  stringAttr,
  u32Attr,
  withNetns,
  type Attr,
  type DecodedAttr,
} from '../../loader/netlink/index.js';
import { objPin } from '../../loader/sys/bpf.js';
import { progInfo } from '../../loader/sys/info.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { createNetns, createNetnsPair, deleteNetns, ip, nsExec } from '../support/netns.js';
import { createCounter, tcProgram } from './links-fixtures.js';

type Tree = { type: number; data: Uint8Array } | { type: number; nested: Tree[] };

const leaf = fc.record({ type: fc.integer({ min: 1, max: 0x3fff }), data: fc.uint8Array({ maxLength: 40 }) });
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.record({ type: fc.integer({ min: 1, max: 0x3fff }), nested: fc.array(tie('tree'), { maxLength: 4 }) })),
}));

function decodeTree(attrs: readonly DecodedAttr[]): Tree[] {
  return attrs.map((a) => (a.nestedFlag ? { type: a.type, nested: decodeTree(decodeAttrs(a.data)) } : { type: a.type, data: new Uint8Array(a.data) }));
}

describe('netlink codec', () => {
  it('attribute lists round-trip, nested to any depth, each attribute 4-byte aligned', () => {
    fc.assert(
      fc.property(fc.array(tree as fc.Arbitrary<Tree>, { maxLength: 6 }), (attrs) => {
        const size = attrsLength(attrs as Attr[]);
        const buf = new Uint8Array(size);
        expect(encodeAttrs(attrs as Attr[], buf, 0)).toBe(size);
        expect(size % 4).toBe(0);
        expect(decodeTree(decodeAttrs(buf))).toEqual(attrs);
      }),
      { numRuns: 3000, seed: 0x7b9f },
    );
  });

  it('messages round-trip through encode/decode, several per datagram', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            type: fc.integer({ min: 16, max: 0xffff }),
            flags: fc.integer({ min: 0, max: 0xffff }),
            seq: fc.nat(),
            header: fc.uint8Array({ maxLength: 24 }),
            attrs: fc.array(leaf, { maxLength: 4 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (msgs) => {
          const parts = msgs.map((m) => encodeMessage(m));
          const joined = new Uint8Array(Buffer.concat(parts));
          const back = decodeMessages(joined);
          expect(back.map((m) => ({ type: m.type, flags: m.flags, seq: m.seq }))).toEqual(msgs.map((m) => ({ type: m.type, flags: m.flags, seq: m.seq })));
          back.forEach((m, i) => {
            const hdrLen = nlAlign(msgs[i]!.header.length);
            expect(m.payload.subarray(0, msgs[i]!.header.length)).toEqual(msgs[i]!.header);
            expect(decodeTree(decodeAttrs(m.payload.subarray(hdrLen)))).toEqual(msgs[i]!.attrs);
          });
        },
      ),
      { numRuns: 2000, seed: 0x51 },
    );
  });

  it('malformed bytes give a NetlinkUsageError, never a crash or a hang', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        for (const decode of [decodeAttrs, decodeMessages]) {
          try {
            decode(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(NetlinkUsageError);
          }
        }
      }),
      { numRuns: 5000, seed: 99 },
    );
    expect(() => decodeAttrs(new Uint8Array([8, 0, 1, 0, 0]))).toThrow(/attribute at offset 0: length 8, 5 bytes left/);
  });

  it('typed accessors read what the helpers wrote', () => {
    const attrs = [u32Attr(1, 0xdeadbeef), s32Attr(2, -1), stringAttr(3, 'clsact'), nestedAttr(4, [u32Attr(6, 7)]), bytesAttr(5, new Uint8Array([9]))];
    const buf = new Uint8Array(attrsLength(attrs));
    encodeAttrs(attrs, buf, 0);
    const set = AttrSet.decode(buf);
    expect([set.u32(1), set.s32(2), set.string(3), set.nested(4)?.u32(6), set.u8(5), set.has(9)]).toEqual([0xdeadbeef, -1, 'clsact', 7, 9, false]);
    expect(() => AttrSet.decode(buf).u32(5)).toThrow(NetlinkUsageError);
  });
});

const ok = need({ kernel: true, tools: ['ip', 'tc'] });

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

describe.skipIf(!ok)('rtnetlink against the kernel (test namespace, iproute2 as oracle)', () => {
  it('lists the same interfaces as `ip -j link`, by name and index', () => {
    const net = createNetnsPair(41);
    try {
      using sock = NetlinkSocket.open({ netns: net.a });
      const ours = listInterfaces(sock).map((i) => ({ index: i.index, name: i.name }));
      const theirs = (JSON.parse(ip('-j', '-n', net.a, 'link', 'show')) as { ifindex: number; ifname: string }[]).map((l) => ({ index: l.ifindex, name: l.ifname }));
      expect(ours).toEqual(theirs);
      const veth = getInterface(sock, net.vethA);
      expect(getInterface(sock, veth.index).name).toBe(net.vethA);
      expect(veth.xdp.mode).toBe('none');
      let err: unknown;
      try {
        getInterface(sock, 'no-such-if');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NetlinkError);
      expect(err).toMatchObject({ errnoName: 'ENODEV', code: 'NETLINK_ENODEV' });
      expect((err as Error).message).toMatch(/RTM_GETLINK \(interface no-such-if\) failed: ENODEV/);
    } finally {
      net.cleanup();
    }
  });

  it('decodes a cls_bpf filter that `tc` installed; `tc` shows the one we installed', () => {
    const ns = createNetns('nl');
    const pins = createPinDir();
    const counter = createCounter();
    const prog = tcProgram(counter, 9, 'drop');
    try {
      ip('-n', ns, 'link', 'add', 'dummy-t', 'type', 'veth', 'peer', 'name', 'dummy-p');
      objPin(prog.value, join(pins.path, 'p'));
      nsExec(ns, 'tc', 'qdisc', 'add', 'dev', 'dummy-t', 'clsact');
      nsExec(ns, 'tc', 'filter', 'add', 'dev', 'dummy-t', 'egress', 'pref', '3', 'handle', '0x2', 'bpf', 'object-pinned', join(pins.path, 'p'), 'da');
      using sock = NetlinkSocket.open({ netns: ns });
      const ifindex = getInterface(sock, 'dummy-t').index;
      expect(hasClsact(sock, ifindex)).toBe(true);
      expect(addClsact(sock, ifindex)).toBe(false);
      expect(listFilters(sock, ifindex, 'egress')).toEqual([
        expect.objectContaining({ priority: 3, handle: 2, kind: 'bpf', directAction: true, progId: progInfo(prog.value).id, tag: progInfo(prog.value).tag }),
      ]);
      addBpfFilter(sock, { ifindex, direction: 'egress', priority: 4, handle: 5, progFd: prog.value, name: 'ours' });
      expect(nsExec(ns, 'tc', 'filter', 'show', 'dev', 'dummy-t', 'egress')).toMatch(/pref 4 bpf .*handle 0x5 ours direct-action.*id \d+/s);

      // The kernel's extended-ack text reaches the error.
      let err: unknown;
      try {
        addBpfFilter(sock, { ifindex, direction: 'egress', priority: 4, handle: 5, progFd: prog.value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NetlinkError);
      expect((err as NetlinkError).errnoName).toBe('EEXIST');
      expect((err as NetlinkError).request).toMatch(/RTM_NEWTFILTER \(add bpf filter on ifindex \d+ egress prio 4 handle 0x5\)/);
    } finally {
      prog.close();
      counter.close();
      pins.cleanup();
      deleteNetns(ns);
    }
  });

  it('withNetns switches only for the callback, also when it throws; sockets do not leak', () => {
    const ns = createNetns('nl');
    try {
      const home = readlinkSync('/proc/thread-self/ns/net');
      const base = openFds();
      const inside = withNetns(ns, () => readlinkSync('/proc/thread-self/ns/net'));
      expect(inside).not.toBe(home);
      expect(inside).toBe(nsInode(ns));
      expect(() => withNetns(ns, () => {
        throw new Error('boom');
      })).toThrow('boom');
      expect(readlinkSync('/proc/thread-self/ns/net')).toBe(home);
      expect(() => withNetns(ns, () => Promise.resolve(1))).toThrow(/must be synchronous/);
      expect(readlinkSync('/proc/thread-self/ns/net')).toBe(home);
      for (let i = 0; i < 300; i++) {
        using sock = NetlinkSocket.open({ netns: ns });
        getInterface(sock, 'lo');
      }
      expect(openFds()).toBe(base);
      expect(() => withNetns('no-such-netns-tsbpf', () => 1)).toThrow(NetlinkUsageError);
    } finally {
      deleteNetns(ns);
    }
  });
});

function nsInode(ns: string): string {
  // `ip netns exec` reads the same nsfs inode the test switched into.
  return nsExec(ns, 'readlink', '/proc/self/ns/net').trim();
}
