/**
 * XDP attach against the real kernel on a veth between two test namespaces: a
 * program that drops (or passes) UDP to one port, attached as a link and over
 * rtnetlink IFLA_XDP in generic mode. Real traffic shows the verdicts; `ip link`
 * and our RTM_GETLINK query show what is attached; detach leaves nothing.
 */
import { describe, expect, it } from 'vitest';
import { attachXdp, attachXdpLink, attachXdpNetlink, BpfLink, queryXdp, XdpNetlinkAttachment } from '../../loader/links/index.js';
import { BpfError } from '../../loader/errors.js';
import { NetlinkError } from '../../loader/netlink/index.js';
import { progInfo } from '../../loader/sys/info.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { createNetnsPair, ip, udpExchange } from '../support/netns.js';
import { createCounter, readCounter, xdpProgram } from './links-fixtures.js';

const ok = need({ kernel: true, tools: ['ip'] });
const PORT = 7002;

describe.skipIf(!ok)('XDP attach (real kernel, test namespaces)', () => {
  it('XDP link (generic) drops real packets; replace with a pass program; detach restores', async () => {
    const net = createNetnsPair(21);
    const counter = createCounter();
    const drop = xdpProgram(counter, PORT, 'drop');
    const pass = xdpProgram(counter, PORT, 'pass');
    const pins = createPinDir();
    try {
      const target = { iface: net.vethB, netns: net.b };
      const link = attachXdp(drop, { ...target, mode: 'link', xdpMode: 'generic' });
      expect(link).toBeInstanceOf(BpfLink);
      expect(queryXdp(target)).toMatchObject({ mode: 'generic', genericProgId: progInfo(drop.value).id });
      // Oracle: iproute2 reports the generic-mode program on the interface.
      const shown = ip('-n', net.b, 'link', 'show', 'dev', net.vethB);
      expect(shown).toMatch(/ xdpgeneric /);
      expect(shown).toContain(`prog/xdp id ${progInfo(drop.value).id} `);

      expect(await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 15 })).toEqual([]);
      expect(readCounter(counter)).toBe(15n);

      // A second attach to an occupied hook fails rather than silently replacing.
      expect(() => attachXdpLink(pass, { ...target, xdpMode: 'generic' })).toThrow(BpfError);
      expect(() => attachXdpNetlink(pass, { ...target, xdpMode: 'generic' })).toThrow(NetlinkError);

      (link as BpfLink).pin(`${pins.path}/xdp`);
      const reopened = BpfLink.open(`${pins.path}/xdp`);
      expect(reopened.info()).toMatchObject({ type: 'XDP', progId: progInfo(drop.value).id });
      reopened.replace(pass, { expected: drop });
      reopened.close();
      expect(queryXdp(target).genericProgId).toBe(progInfo(pass.value).id);
      expect(await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 10 })).toHaveLength(10);
      expect(readCounter(counter)).toBe(25n);

      link.detach(); // also removes the pin this object made
      expect(queryXdp(target)).toMatchObject({ mode: 'none', progId: 0, genericProgId: 0 });
      expect(ip('-n', net.b, 'link', 'show', 'dev', net.vethB)).not.toMatch(/xdp/);
      expect(() => BpfLink.open(`${pins.path}/xdp`)).toThrow(/ENOENT/);
      expect(await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 10 })).toHaveLength(10);
      expect(readCounter(counter)).toBe(25n);
    } finally {
      drop.close();
      pass.close();
      counter.close();
      pins.cleanup();
      net.cleanup();
    }
  });

  it('netlink IFLA_XDP (generic): attach drops, UPDATE_IF_NOEXIST refuses, expected-fd replace, detach', async () => {
    const net = createNetnsPair(22);
    const counter = createCounter();
    const drop = xdpProgram(counter, PORT, 'drop');
    const pass = xdpProgram(counter, PORT, 'pass');
    try {
      const target = { iface: net.vethB, netns: net.b };
      const att = attachXdp(drop, { ...target, mode: 'netlink', xdpMode: 'generic', ifNotExists: true });
      expect(att).toBeInstanceOf(XdpNetlinkAttachment);
      expect(queryXdp(target)).toMatchObject({ mode: 'generic', progId: progInfo(drop.value).id });
      expect(ip('-n', net.b, 'link', 'show', 'dev', net.vethB)).toContain(`prog/xdp id ${progInfo(drop.value).id}`);
      expect(await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 12 })).toEqual([]);
      expect(readCounter(counter)).toBe(12n);

      let err: unknown;
      try {
        attachXdpNetlink(pass, { ...target, xdpMode: 'generic', ifNotExists: true });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NetlinkError);
      expect((err as NetlinkError).errnoName).toBe('EBUSY');
      expect(queryXdp(target).progId).toBe(progInfo(drop.value).id);

      // expected-fd replace: the wrong expectation is refused by our check, the right one swaps.
      expect(() => att.replace(pass, { expected: pass })).toThrow(/expected/);
      att.replace(pass, { expected: drop });
      expect(queryXdp(target).progId).toBe(progInfo(pass.value).id);
      expect(await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 8 })).toHaveLength(8);
      expect(readCounter(counter)).toBe(20n);

      att.detach();
      expect(queryXdp(target)).toMatchObject({ mode: 'none', progId: 0 });
      expect(ip('-n', net.b, 'link', 'show', 'dev', net.vethB)).not.toMatch(/xdp/);
      expect(await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: PORT, count: 8 })).toHaveLength(8);
      expect(readCounter(counter)).toBe(20n);
    } finally {
      drop.close();
      pass.close();
      counter.close();
      net.cleanup();
    }
  });

  it('netlink detach only removes its own program (IFLA_XDP_EXPECTED_FD)', () => {
    const net = createNetnsPair(23);
    const counter = createCounter();
    const first = xdpProgram(counter, PORT, 'drop');
    const second = xdpProgram(counter, PORT, 'pass');
    try {
      const target = { iface: net.vethB, netns: net.b };
      const att = attachXdpNetlink(first, { ...target, xdpMode: 'generic' });
      // Someone else replaces the program behind our back (plain attach without expectations).
      attachXdpNetlink(second, { ...target, xdpMode: 'generic' });
      expect(() => att.detach()).toThrow(NetlinkError);
      expect(queryXdp(target).progId).toBe(progInfo(second.value).id);
      new XdpNetlinkAttachment(net.b, att.ifindex, net.vethB, 'generic', progInfo(second.value).id).detach();
      expect(queryXdp(target).mode).toBe('none');
    } finally {
      first.close();
      second.close();
      counter.close();
      net.cleanup();
    }
  });

  it('driver (native) mode on veth through netlink and link', () => {
    const net = createNetnsPair(24);
    const counter = createCounter();
    const pass = xdpProgram(counter, PORT, 'pass');
    try {
      const target = { iface: net.vethB, netns: net.b };
      const att = attachXdpNetlink(pass, { ...target, xdpMode: 'driver' });
      expect(queryXdp(target)).toMatchObject({ mode: 'driver', driverProgId: progInfo(pass.value).id });
      expect(ip('-n', net.b, 'link', 'show', 'dev', net.vethB)).toMatch(/xdp /);
      // Generic next to native is refused; the kernel's extended-ack text reaches the error.
      let err: unknown;
      try {
        attachXdpNetlink(pass, { ...target, xdpMode: 'generic' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NetlinkError);
      expect((err as NetlinkError).kernelMessage).toMatch(/Native and generic XDP can't be active at the same time/);
      expect((err as NetlinkError).message).toMatch(/^RTM_SETLINK \(attach XDP program on ifindex \d+, mode generic\) failed: EEXIST — kernel says: /);
      att.detach();
      expect(queryXdp(target).mode).toBe('none');
      const link = attachXdpLink(pass, { ...target, xdpMode: 'driver' });
      expect(queryXdp(target)).toMatchObject({ mode: 'driver', driverProgId: progInfo(pass.value).id });
      link.close();
      expect(queryXdp(target).mode).toBe('none');
    } finally {
      pass.close();
      counter.close();
      net.cleanup();
    }
  });
});
