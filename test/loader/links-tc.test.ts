/**
 * tc attach against the real kernel: a program that counts and rewrites UDP
 * packets, attached through tcx and through netlink (clsact + cls_bpf) on a veth
 * between two test namespaces. Real traffic proves it runs; detach restores the
 * original payloads; tcx queries, `tc filter show` and our own netlink dump prove
 * nothing is left behind.
 */
import { describe, expect, it } from 'vitest';
import { attachTc, attachTcNetlink, attachTcx, BpfLink, listTcFilters, queryTcx, TcNetlinkAttachment } from '../../loader/links/index.js';
import { NetlinkError } from '../../loader/netlink/index.js';
import { progInfo } from '../../loader/sys/info.js';
import { type PinDir, createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { createNetnsPair, nsExec, udpExchange } from '../support/netns.js';
import { createCounter, readCounter, tcProgram } from './links-fixtures.js';
import { existsSync } from 'node:fs';

const ok = need({ kernel: true, tools: ['ip', 'tc'] });
const PORT = 7001;

function payloads(n: number, first: string): string[] {
  return Array.from({ length: n }, (_, i) => `${first}ello-${i}`);
}

describe.skipIf(!ok)('tc attach (real kernel, test namespaces)', () => {
  it('tcx egress link counts and rewrites real packets; detach restores them; nothing left', async () => {
    const net = createNetnsPair(11);
    const counter = createCounter();
    const progX = tcProgram(counter, PORT, { rewrite: 'X' });
    try {
      const link = attachTcx(progX, { iface: net.vethA, netns: net.a, direction: 'egress' });
      expect(link).toBeInstanceOf(BpfLink);
      const q = queryTcx({ iface: net.vethA, netns: net.a }, 'egress');
      expect(q.progIds).toEqual([progInfo(progX.value).id]);
      expect(link.info()).toMatchObject({ type: 'TCX', attachType: 'TCX_EGRESS', progId: progInfo(progX.value).id });
      // Opened by id, the hook comes from what the kernel reports (an egress link stays egress).
      const byId = BpfLink.fromId(link.info().id);
      try {
        expect(byId.hook).toBe('tcx/egress');
      } finally {
        byId.close();
      }

      const got = await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 20 });
      expect(got.sort()).toEqual(payloads(20, 'X').sort());
      expect(readCounter(counter)).toBe(20n);

      link.detach();
      expect(queryTcx({ iface: net.vethA, netns: net.a }, 'egress').progIds).toEqual([]);
      const after = await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 10 });
      expect(after.sort()).toEqual(payloads(10, 'h').sort());
      expect(readCounter(counter)).toBe(20n);
    } finally {
      progX.close();
      counter.close();
      net.cleanup();
    }
  });

  it('tcx link: atomic replace swaps behaviour, pin survives close, unpin removes it', async () => {
    const net = createNetnsPair(12);
    const counter = createCounter();
    const progX = tcProgram(counter, PORT, { rewrite: 'X' });
    const progY = tcProgram(counter, PORT, { rewrite: 'Y' });
    let pinDir: PinDir | undefined;
    try {
      pinDir = createPinDir();
      const link = attachTcx(progX, { iface: net.vethB, netns: net.b, direction: 'ingress' });
      const pin = `${pinDir.path}/tcx`;
      link.pin(pin);
      link.close(); // the pin keeps it attached
      expect(queryTcx({ iface: net.vethB, netns: net.b }, 'ingress').progIds).toEqual([progInfo(progX.value).id]);
      expect(await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 5 })).toEqual(
        expect.arrayContaining(payloads(5, 'X')),
      );

      const reopened = BpfLink.open(pin);
      expect(reopened.hook).toBe('tcx/ingress');
      // Replace guarded by the wrong expected program is refused by the kernel.
      expect(() => reopened.replace(progY, { expected: progY })).toThrow(/EPERM|EINVAL/);
      reopened.replace(progY, { expected: progX });
      // The hook never became empty: the query always shows exactly one program.
      expect(queryTcx({ iface: net.vethB, netns: net.b }, 'ingress').progIds).toEqual([progInfo(progY.value).id]);
      expect((await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 5 })).sort()).toEqual(payloads(5, 'Y'));

      reopened.unpin();
      expect(existsSync(pin)).toBe(false);
      reopened.close(); // last reference: the kernel detaches
      expect(queryTcx({ iface: net.vethB, netns: net.b }, 'ingress').progIds).toEqual([]);
      expect((await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 5 })).sort()).toEqual(payloads(5, 'h'));
    } finally {
      progX.close();
      progY.close();
      counter.close();
      pinDir?.cleanup();
      net.cleanup();
    }
  });

  it("tcx position: 'first' goes before the programs already on the hook, the default after them", () => {
    const net = createNetnsPair(13);
    const counter = createCounter();
    const progs = [tcProgram(counter, PORT, { rewrite: 'X' }), tcProgram(counter, PORT, { rewrite: 'Y' }), tcProgram(counter, PORT, { rewrite: 'Z' })];
    const links: BpfLink[] = [];
    try {
      const at = (i: number, position?: 'first' | 'last') =>
        links.push(attachTcx(progs[i]!, { iface: net.vethB, netns: net.b, direction: 'ingress', ...(position ? { position } : {}) }));
      at(0);
      at(1, 'first');
      at(2);
      expect(queryTcx({ iface: net.vethB, netns: net.b }, 'ingress').progIds).toEqual([1, 0, 2].map((i) => progInfo(progs[i]!.value).id));
    } finally {
      for (const l of links) l.close();
      for (const p of progs) p.close();
      counter.close();
      net.cleanup();
    }
  });

  it('netlink clsact + cls_bpf (direct-action) counts, rewrites, replaces, detaches cleanly', async () => {
    const net = createNetnsPair(13);
    const counter = createCounter();
    const progX = tcProgram(counter, PORT, { rewrite: 'X' });
    const progY = tcProgram(counter, PORT, { rewrite: 'Y' });
    try {
      const att = attachTc(progX, { iface: net.vethB, netns: net.b, direction: 'ingress', mode: 'netlink', priority: 7, handle: 3, name: 'tsbpf_x' });
      expect(att).toBeInstanceOf(TcNetlinkAttachment);
      const nl = att as TcNetlinkAttachment;
      expect(nl.state.createdQdisc).toBe(true);

      // Oracle: iproute2 sees our qdisc and filter with prio, handle, name, direct-action.
      expect(nsExec(net.b, 'tc', 'qdisc', 'show', 'dev', net.vethB)).toMatch(/qdisc clsact ffff:/);
      const shown = nsExec(net.b, 'tc', 'filter', 'show', 'dev', net.vethB, 'ingress');
      expect(shown).toMatch(/pref 7 bpf/);
      expect(shown).toMatch(/handle 0x3 tsbpf_x direct-action/);
      expect(shown).toContain(`id ${progInfo(progX.value).id}`);
      expect(listTcFilters({ iface: net.vethB, netns: net.b }, 'ingress')).toEqual([
        expect.objectContaining({ priority: 7, handle: 3, kind: 'bpf', name: 'tsbpf_x', directAction: true, progId: progInfo(progX.value).id }),
      ]);

      expect((await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 20 })).sort()).toEqual(payloads(20, 'X').sort());
      expect(readCounter(counter)).toBe(20n);

      // Adding a second filter at the same prio/handle without replace is refused with a typed error.
      let err: unknown;
      try {
        attachTcNetlink(progY, { iface: net.vethB, netns: net.b, direction: 'ingress', priority: 7, handle: 3 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NetlinkError);
      expect((err as NetlinkError).errnoName).toBe('EEXIST');
      expect((err as NetlinkError).message).toMatch(/RTM_NEWTFILTER/);

      nl.replace(progY, { expected: progX });
      expect(listTcFilters({ iface: net.vethB, netns: net.b }, 'ingress').map((f) => f.progId)).toEqual([progInfo(progY.value).id]);
      expect((await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 10 })).sort()).toEqual(payloads(10, 'Y').sort());

      nl.detach();
      expect(listTcFilters({ iface: net.vethB, netns: net.b }, 'ingress')).toEqual([]);
      expect(nsExec(net.b, 'tc', 'filter', 'show', 'dev', net.vethB, 'ingress').trim()).toBe('');
      // The qdisc we created is gone too.
      expect(nsExec(net.b, 'tc', 'qdisc', 'show', 'dev', net.vethB)).not.toMatch(/clsact/);
      expect((await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 10 })).sort()).toEqual(payloads(10, 'h').sort());
    } finally {
      progX.close();
      progY.close();
      counter.close();
      net.cleanup();
    }
  });

  it('netlink tc leaves a clsact it did not create, and drop programs really drop', async () => {
    const net = createNetnsPair(14);
    const counter = createCounter();
    const drop = tcProgram(counter, PORT, 'drop');
    try {
      nsExec(net.a, 'tc', 'qdisc', 'add', 'dev', net.vethA, 'clsact');
      const att = attachTcNetlink(drop, { iface: net.vethA, netns: net.a, direction: 'egress' });
      expect(att.state.createdQdisc).toBe(false);
      expect(await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 10 })).toEqual([]);
      expect(readCounter(counter)).toBe(10n);
      att.detach();
      expect(nsExec(net.a, 'tc', 'qdisc', 'show', 'dev', net.vethA)).toMatch(/clsact/);
      expect(listTcFilters({ iface: net.vethA, netns: net.a }, 'egress')).toEqual([]);
      expect(await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 10 })).toHaveLength(10);
    } finally {
      drop.close();
      counter.close();
      net.cleanup();
    }
  });
});
