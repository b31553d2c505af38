/**
 * sendmsg4/6 + recvmsg4/6 (+ connect for connected UDP) with real datagrams:
 * replies come back from the service address, one socket stays on one backend,
 * fresh sockets spread, a real `dig` resolves through a DNS service VIP, and a socket
 * talking to a backend directly sees the backend's address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';
import { UDP_CLIENT, UDP_STEPS, type UdpResult } from './clients.js';
import { deleteService, dumpSockRevNat4, fillService } from './fill.js';
import { BACKEND_PORT, openSockLab, type SockLab } from './lab.js';

const VIP4 = '10.96.0.20';
const VIP6 = 'fd00:96::20';
const DNS_VIP = '10.96.0.53';

describe.skipIf(!need({ kernel: true, tools: ['dig'] }))('socket LB: UDP to a ClusterIP', () => {
  let lab: SockLab;
  beforeAll(async () => {
    lab = await openSockLab({ subnet: 62, target: 'host' });
    const udp = (backends: readonly string[]) => backends.map((a) => ({ address: a, port: BACKEND_PORT.udp }));
    fillService(lab.obj, { address: VIP4, port: 7000, proto: 'udp', revNatIndex: 1, backends: udp(lab.backends4) });
    fillService(lab.obj, { address: VIP6, port: 7000, proto: 'udp', revNatIndex: 2, firstBackendId: 10, backends: udp(lab.backends6) });
    fillService(lab.obj, { address: DNS_VIP, port: 53, proto: 'udp', revNatIndex: 3, firstBackendId: 20, backends: lab.backends4.map((a) => ({ address: a, port: BACKEND_PORT.dns })) });
  });
  afterAll(() => {
    lab?.close();
    if (lab) expect(listNetns().filter((n) => n === lab.net.a || n === lab.net.b)).toEqual([]);
  });

  const backendOf = (r: UdpResult) => r.data?.split(' ')[1];

  it('IPv4 sendto/recvfrom: replies come from the VIP, one socket stays on one backend', async () => {
    const r = await lab.client<UdpResult[]>(UDP_CLIENT, [VIP4, 7000, 10, 'unconnected', 4, 'one']);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(r).toHaveLength(10);
    expect(new Set(r.map((x) => x.from))).toEqual(new Set([`${VIP4}:7000`]));
    expect(new Set(r.map(backendOf)).size).toBe(1);
    expect(lab.backends4).toContain(backendOf(r[0]!));
  });

  it('IPv4: fresh sockets are spread over both backends', async () => {
    const r = await lab.client<UdpResult[]>(UDP_CLIENT, [VIP4, 7000, 30, 'unconnected', 4, 'fresh']);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(r.map(backendOf))).toEqual(new Set(lab.backends4));
    expect(new Set(r.map((x) => x.from))).toEqual(new Set([`${VIP4}:7000`]));
  });

  it('IPv4 connected UDP: replies and getpeername are the VIP', async () => {
    const r = await lab.client<UdpResult[]>(UDP_CLIENT, [VIP4, 7000, 5, 'connected', 4, 'one']);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(r.map((x) => `${x.from} ${x.peer}`))).toEqual(new Set([`${VIP4}:7000 ${VIP4}:7000`]));
    expect(new Set(r.map(backendOf)).size).toBe(1);
  });

  it('IPv6 sendto/recvfrom and connected UDP: replies from the IPv6 VIP', async () => {
    const r = await lab.client<UdpResult[]>(UDP_CLIENT, [VIP6, 7000, 5, 'unconnected', 6, 'one']);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(r.map((x) => x.from))).toEqual(new Set([`${VIP6}:7000`]));
    expect(lab.backends6).toContain(backendOf(r[0]!));
    const c = await lab.client<UdpResult[]>(UDP_CLIENT, [VIP6, 7000, 5, 'connected', 6, 'fresh']);
    expect(c.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(c.map((x) => `${x.from} ${x.peer}`))).toEqual(new Set([`${VIP6}:7000 ${VIP6}:7000`]));
  });

  it('dual-stack: an IPv6 socket to the IPv4-mapped VIP gets replies from it (sendto and connected)', async () => {
    const mapped = `::ffff:${VIP4}`;
    for (const mode of ['unconnected', 'connected'] as const) {
      const r = await lab.client<UdpResult[]>(UDP_CLIENT, [mapped, 7000, 4, mode, 6, 'one']);
      expect(r.filter((x) => !x.ok)).toEqual([]);
      expect(new Set(r.map((x) => x.from))).toEqual(new Set([`${mapped}:7000`]));
      if (mode === 'connected') expect(new Set(r.map((x) => x.peer))).toEqual(new Set([`${mapped}:7000`]));
      expect(lab.backends4).toContain(backendOf(r[0]!));
    }
  });

  it('a socket sending straight to a backend gets replies from the backend, while another socket has an entry for it', async () => {
    // Socket A talks to the VIP: the backend it got now has a reverse-NAT entry (A's cookie).
    const a = await lab.start<UdpResult>(UDP_STEPS, [4]);
    try {
      const viaVip = await a.ask(`${VIP4} 7000`);
      expect(viaVip).toMatchObject({ ok: true, from: `${VIP4}:7000` });
      const x = backendOf(viaVip)!;
      expect(dumpSockRevNat4(lab.obj).map((e) => e.backend)).toContain(`${x}:${BACKEND_PORT.udp}`);
      // Socket B sends to that backend directly: nothing to restore for B's cookie.
      const r = await lab.client<UdpResult[]>(UDP_CLIENT, [x, BACKEND_PORT.udp, 3, 'unconnected', 4, 'one']);
      expect(r.map((y) => [y.ok, y.from, backendOf(y)])).toEqual(Array(3).fill([true, `${x}:${BACKEND_PORT.udp}`, x]));
    } finally {
      await a.end();
    }
  });

  it('once the service is deleted, replies from its old backend are no longer given its address', async () => {
    const svc = { address: '10.96.0.21', port: 7001, proto: 'udp', revNatIndex: 9, firstBackendId: 90, backends: [{ address: lab.backends4[1], port: BACKEND_PORT.udp }] } as const;
    fillService(lab.obj, svc);
    const a = await lab.start<UdpResult>(UDP_STEPS, [4]);
    try {
      expect(await a.ask(`${svc.address} ${svc.port}`)).toMatchObject({ ok: true, from: `${svc.address}:${svc.port}`, data: `backend ${lab.backends4[1]} step` });
      // While the service exists, the same socket hearing from the backend sees the service.
      expect(await a.ask(`${lab.backends4[1]} ${BACKEND_PORT.udp}`)).toMatchObject({ ok: true, from: `${svc.address}:${svc.port}` });
      deleteService(lab.obj, svc);
      expect(await a.ask(`${lab.backends4[1]} ${BACKEND_PORT.udp}`)).toMatchObject({ ok: true, from: `${lab.backends4[1]}:${BACKEND_PORT.udp}` });
    } finally {
      await a.end();
    }
  });

  // dig talks over a connected UDP socket (connect4 picks the backend; the kernel
  // matches replies to the connected peer), so this is the connected-UDP DNS path
  // end to end; the sendto/recvfrom tests above are what needs recvmsg4.
  it('dig resolves through the DNS service VIP', async () => {
    const r = await lab.run(['dig', `@${DNS_VIP}`, '-p', '53', 'svc.example.test', 'A', '+tries=1', '+time=2', '+short']);
    expect({ code: r.code, out: r.stdout.trim(), err: r.stderr.trim() }).toEqual({ code: 0, out: '10.1.2.3', err: '' });
    const full = await lab.run(['dig', `@${DNS_VIP}`, '-p', '53', 'svc.example.test', 'A', '+tries=1', '+time=2']);
    expect(full.stdout).toMatch(new RegExp(`SERVER: ${DNS_VIP.replace(/\./g, '\\.')}#53`));
    expect(full.stdout).not.toMatch(/unexpected source/);
  });
});
