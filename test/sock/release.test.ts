/**
 * sock_release: while a translated socket is open its socket reverse-NAT entry
 * (and cookie → backend record) is in the maps; when it closes both are gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';
import { HOLD_CLIENT, TCP_CLIENT, type HoldResult, type TcpResult } from './clients.js';
import { dumpSockBackend4, dumpSockRevNat4, fillService } from './fill.js';
import { BACKEND_PORT, openSockLab, type SockLab } from './lab.js';

const UDP_VIP = '10.96.0.40';
const TCP_VIP = '10.96.0.41';

describe.skipIf(!need({ kernel: true }))('socket LB: sock_release cleans up the socket reverse NAT', () => {
  let lab: SockLab;
  beforeAll(async () => {
    lab = await openSockLab({ subnet: 64, target: 'host' });
    fillService(lab.obj, { address: UDP_VIP, port: 7000, proto: 'udp', revNatIndex: 1, backends: lab.backends4.map((a) => ({ address: a, port: BACKEND_PORT.udp })) });
    fillService(lab.obj, { address: TCP_VIP, port: 80, proto: 'tcp', revNatIndex: 2, firstBackendId: 10, backends: lab.backends4.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
  });
  afterAll(() => {
    lab?.close();
    if (lab) expect(listNetns().filter((n) => n === lab.net.a || n === lab.net.b)).toEqual([]);
  });

  const cases = [
    ['udp', UDP_VIP, 7000, BACKEND_PORT.udp],
    ['tcp', TCP_VIP, 80, BACKEND_PORT.tcp],
    // An IPv6 socket whose IPv4-mapped destination went through the IPv4 tables.
    ['udp', `::ffff:${UDP_VIP}`, 7000, BACKEND_PORT.udp],
    ['tcp', `::ffff:${TCP_VIP}`, 80, BACKEND_PORT.tcp],
  ] as const;
  for (const [proto, dialled, port, backendPort] of cases) {
    const vip = dialled.replace('::ffff:', '');
    it(`${proto} to ${dialled}: the entry exists while the socket is open and is deleted when it closes`, async () => {
      expect(dumpSockRevNat4(lab.obj)).toEqual([]);
      const held = await lab.start<HoldResult>(HOLD_CLIENT, [proto, dialled, port]);
      let cookie: bigint;
      try {
        expect(held.first.ok).toBe(true);
        const backend = held.first.data!.split(' ')[1]!;
        const entries = dumpSockRevNat4(lab.obj);
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({ backend: `${backend}:${backendPort}`, frontend: `${vip}:${port}` });
        cookie = entries[0]!.cookie;
        expect([...dumpSockBackend4(lab.obj)]).toEqual([[cookie, `${backend}:${backendPort}`]]);
      } finally {
        await held.end();
      }
      expect(dumpSockRevNat4(lab.obj)).toEqual([]);
      expect(dumpSockBackend4(lab.obj).size).toBe(0);
    });
  }

  it('many short TCP connections leave no entries behind', async () => {
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [TCP_VIP, 80, 30]);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(dumpSockRevNat4(lab.obj)).toEqual([]);
    expect(dumpSockBackend4(lab.obj).size).toBe(0);
  });
});
