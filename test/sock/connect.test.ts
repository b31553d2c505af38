/**
 * connect4/connect6 of the socket LB with real TCP traffic: a ClusterIP spreads
 * new connections over both backends, getpeername() reports the service, and a
 * connection straight to a backend is left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';
import { TCP_CLIENT, type TcpResult } from './clients.js';
import { fillService } from './fill.js';
import { BACKEND_PORT, openSockLab, type SockLab } from './lab.js';

const VIP4 = '10.96.0.10';
const VIP6 = 'fd00:96::10';
const CONNECTIONS = 40;

describe.skipIf(!need({ kernel: true }))('socket LB: TCP connect to a ClusterIP', () => {
  let lab: SockLab;
  beforeAll(async () => {
    lab = await openSockLab({ subnet: 61, target: 'host' });
    fillService(lab.obj, { address: VIP4, port: 80, proto: 'tcp', revNatIndex: 1, backends: lab.backends4.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
    fillService(lab.obj, { address: VIP6, port: 80, proto: 'tcp', revNatIndex: 2, firstBackendId: 10, backends: lab.backends6.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
  });
  afterAll(() => {
    lab?.close();
    if (lab) expect(listNetns().filter((n) => n === lab.net.a || n === lab.net.b)).toEqual([]);
  });

  it('IPv4: every connection reaches a backend, both backends get some, getpeername is the VIP', async () => {
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP4, 80, CONNECTIONS]);
    expect(r).toHaveLength(CONNECTIONS);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    const seen = new Map<string, number>();
    for (const x of r) seen.set(x.data!, (seen.get(x.data!) ?? 0) + 1);
    expect([...seen.keys()].sort()).toEqual(lab.backends4.map((a) => `backend ${a}`).sort());
    // Random per connection: with 40 draws, each backend gets at least 5 unless the draw is broken (p < 1e-6).
    for (const n of seen.values()) expect(n).toBeGreaterThanOrEqual(5);
    expect(new Set(r.map((x) => x.peer))).toEqual(new Set([`${VIP4}:80`]));
  });

  it('IPv6: connections to the IPv6 VIP reach both IPv6 backends', async () => {
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP6, 80, CONNECTIONS]);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(r.map((x) => x.data))).toEqual(new Set(lab.backends6.map((a) => `backend ${a}`)));
    expect(new Set(r.map((x) => x.peer))).toEqual(new Set([`${VIP6}:80`]));
  });

  it('dual-stack: an IPv6 socket dialling the IPv4-mapped VIP reaches both IPv4 backends', async () => {
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [`::ffff:${VIP4}`, 80, CONNECTIONS]);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(r.map((x) => x.data))).toEqual(new Set(lab.backends4.map((a) => `backend ${a}`)));
    expect(new Set(r.map((x) => x.peer))).toEqual(new Set([`::ffff:${VIP4}:80`]));
  });

  it('a connection straight to a backend is not rewritten (peer stays the backend)', async () => {
    const [b4] = lab.backends4;
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [b4, BACKEND_PORT.tcp, 3]);
    expect(r).toEqual(Array(3).fill({ ok: true, data: `backend ${b4}`, peer: `${b4}:${BACKEND_PORT.tcp}` }));
  });

  it('an address that is no service passes through untouched (here: unreachable)', async () => {
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, ['10.96.0.11', 80, 1]);
    expect(r).toEqual([{ ok: false, code: 'ENETUNREACH' }]);
  });
});
