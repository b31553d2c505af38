/**
 * rtnetlink addresses, route lookups and the neighbour table, checked against
 * what `ip` reports in a namespace made for the test: a veth with IPv4 and IPv6
 * addresses (one secondary), a route via a gateway, a blackhole, and
 * resolution of a neighbour that answers.
 */
import { describe, expect, it } from 'vitest';
import {
  ipBytes, ipText, listAddresses, listInterfaces, listNeighbours, NetlinkSocket, NetlinkUsageError, resolveNeighbour, routeTo,
} from '../../loader/netlink/index.js';
import { need } from '../support/env.js';
import { createNetns, deleteNetns, ip } from '../support/netns.js';

describe('netlink: address text ↔ bytes', () => {
  it('round-trips IPv4 and IPv6 and names bad input', () => {
    expect([...ipBytes('10.1.2.3')]).toEqual([10, 1, 2, 3]);
    expect(ipText(ipBytes('fd00::1:2'))).toBe('fd00::1:2');
    expect(() => ipBytes('10.1.2')).toThrow(NetlinkUsageError);
    expect(() => ipBytes('nope')).toThrow(/"nope" is not an IPv4 or IPv6 address/);
    expect(() => ipText(new Uint8Array(5))).toThrow(/4 or 16 bytes/);
  });
});

describe.skipIf(!need({ kernel: true, tools: ['ip'] }))('netlink: addresses, routes, neighbours', () => {
  it('reads what ip(8) set up', async () => {
    const a = createNetns('nlra');
    const b = createNetns('nlrb');
    try {
      ip('-n', a, 'link', 'add', 'v0', 'address', '02:00:00:00:aa:01', 'type', 'veth', 'peer', 'name', 'v1', 'netns', b);
      ip('-n', a, 'addr', 'add', '10.61.0.1/24', 'dev', 'v0');
      ip('-n', a, 'addr', 'add', '10.61.0.5/24', 'dev', 'v0');
      ip('-n', a, '-6', 'addr', 'add', 'fd61::1/64', 'dev', 'v0', 'nodad');
      ip('-n', a, 'link', 'set', 'v0', 'up');
      ip('-n', b, 'link', 'set', 'v1', 'address', '02:00:00:00:bb:01');
      ip('-n', b, 'addr', 'add', '10.61.0.2/24', 'dev', 'v1');
      ip('-n', b, 'link', 'set', 'v1', 'up');
      ip('-n', a, 'route', 'add', '10.62.0.0/16', 'via', '10.61.0.2');
      ip('-n', a, 'route', 'add', 'blackhole', '10.63.0.0/16');
      using sock = NetlinkSocket.open({ netns: a });
      const v0 = listInterfaces(sock).find((i) => i.name === 'v0')!;
      expect(v0).toMatchObject({ mac: '02:00:00:00:aa:01', kind: 'veth' });
      expect(listInterfaces(sock).find((i) => i.name === 'lo')!.kind).toBeUndefined();

      const addrs = listAddresses(sock, v0.index);
      expect(addrs.filter((x) => x.family === 'ipv4').map((x) => [x.address, x.prefixLen, x.secondary])).toEqual([['10.61.0.1', 24, false], ['10.61.0.5', 24, true]]);
      expect(addrs.find((x) => x.address === 'fd61::1')).toMatchObject({ family: 'ipv6', prefixLen: 64, scope: 0, unusable: false });
      expect(addrs.find((x) => x.address.startsWith('fe80:'))).toMatchObject({ scope: 253 });
      expect(listAddresses(sock).some((x) => x.address === '127.0.0.1')).toBe(true);

      expect(routeTo(sock, '10.61.0.2')).toEqual({ type: 'unicast', oif: v0.index, gateway: undefined });
      expect(routeTo(sock, '10.62.3.4')).toEqual({ type: 'unicast', oif: v0.index, gateway: '10.61.0.2' });
      expect(routeTo(sock, '10.61.0.1')).toMatchObject({ type: 'local' });
      expect(routeTo(sock, 'fd61::9')).toEqual({ type: 'unicast', oif: v0.index, gateway: undefined });
      expect(() => routeTo(sock, '10.63.1.1')).toThrow(/RTM_GETROUTE 10\.63\.1\.1/);

      expect(listNeighbours(sock, v0.index).some((n) => n.address === '10.61.0.2')).toBe(false);
      resolveNeighbour(sock, v0.index, '10.61.0.2');
      const until = Date.now() + 3000;
      while (!listNeighbours(sock, v0.index).some((n) => n.address === '10.61.0.2') && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(listNeighbours(sock, v0.index).find((n) => n.address === '10.61.0.2')).toMatchObject({ mac: '02:00:00:00:bb:01', ifindex: v0.index });
      // Nobody answers for .9: its entry is being resolved or failed, never listed.
      resolveNeighbour(sock, v0.index, '10.61.0.9');
      expect(listNeighbours(sock).some((n) => n.address === '10.61.0.9')).toBe(false);
    } finally {
      deleteNetns(a);
      deleteNetns(b);
    }
  });
});
