/**
 * NodePort reached from the node itself: a connect to loopback or to one of the
 * node's addresses (lb4/6_node_addrs) on a port in the NodePort range finds the
 * wildcard frontend; other addresses, ports outside the range and addresses not
 * marked as the node's are left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipv4 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';
import { TCP_CLIENT, UDP_CLIENT, type TcpResult, type UdpResult } from './clients.js';
import { addNodeAddress, fillService } from './fill.js';
import { BACKEND_PORT, openSockLab, type SockLab } from './lab.js';

const NODE_PORT = 30080;

describe.skipIf(!need({ kernel: true }))('socket LB: NodePort from the node', () => {
  let lab: SockLab;
  beforeAll(async () => {
    lab = await openSockLab({ subnet: 63, target: 'host', nodePortRange: [30000, 32767] });
    fillService(lab.obj, { address: '0.0.0.0', port: NODE_PORT, proto: 'tcp', revNatIndex: 1, backends: lab.backends4.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
    fillService(lab.obj, { address: '0.0.0.0', port: NODE_PORT, proto: 'udp', revNatIndex: 2, firstBackendId: 10, backends: lab.backends4.map((a) => ({ address: a, port: BACKEND_PORT.udp })) });
    fillService(lab.obj, { address: '::', port: NODE_PORT, proto: 'tcp', revNatIndex: 3, firstBackendId: 20, backends: lab.backends6.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
    // A wildcard frontend outside the NodePort range: never looked up.
    fillService(lab.obj, { address: '0.0.0.0', port: 8999, proto: 'tcp', revNatIndex: 4, firstBackendId: 30, backends: lab.backends4.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
    addNodeAddress(lab.obj, lab.client4);
    addNodeAddress(lab.obj, lab.client6);
  });
  afterAll(() => {
    lab?.close();
    if (lab) expect(listNetns().filter((n) => n === lab.net.a || n === lab.net.b)).toEqual([]);
  });

  const spread = (r: TcpResult[], backends: readonly string[]) => {
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(r.map((x) => x.data))).toEqual(new Set(backends.map((a) => `backend ${a}`)));
  };

  it('127.0.0.1:nodePort and 127.1.2.3:nodePort reach both backends; getpeername is what was dialled', async () => {
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, ['127.0.0.1', NODE_PORT, 30]);
    spread(r, lab.backends4);
    expect(new Set(r.map((x) => x.peer))).toEqual(new Set([`127.0.0.1:${NODE_PORT}`]));
    spread(await lab.client<TcpResult[]>(TCP_CLIENT, ['127.1.2.3', NODE_PORT, 30]), lab.backends4);
  });

  it("the node's own address:nodePort reaches both backends", async () => {
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, [lab.client4, NODE_PORT, 30]);
    spread(r, lab.backends4);
    expect(new Set(r.map((x) => x.peer))).toEqual(new Set([`${lab.client4}:${NODE_PORT}`]));
  });

  it('IPv6: [::1]:nodePort and the node IPv6 address reach the IPv6 backends', async () => {
    spread(await lab.client<TcpResult[]>(TCP_CLIENT, ['::1', NODE_PORT, 30]), lab.backends6);
    spread(await lab.client<TcpResult[]>(TCP_CLIENT, [lab.client6, NODE_PORT, 30]), lab.backends6);
  });

  it('UDP to 127.0.0.1:nodePort: replies come from 127.0.0.1:nodePort', async () => {
    const r = await lab.client<UdpResult[]>(UDP_CLIENT, ['127.0.0.1', NODE_PORT, 5, 'unconnected', 4, 'one']);
    expect(r.filter((x) => !x.ok)).toEqual([]);
    expect(new Set(r.map((x) => x.from))).toEqual(new Set([`127.0.0.1:${NODE_PORT}`]));
    expect(lab.backends4).toContain(r[0]!.data!.split(' ')[1]);
  });

  it('left alone: a remote address on a node port, a port outside the range, an address not marked as the node', async () => {
    expect(await lab.client<TcpResult[]>(TCP_CLIENT, ['10.96.0.99', NODE_PORT, 1])).toEqual([{ ok: false, code: 'ENETUNREACH' }]);
    // Nothing listens on these in the client namespace: refused by the local stack, not translated.
    expect(await lab.client<TcpResult[]>(TCP_CLIENT, ['127.0.0.1', 8999, 1])).toEqual([{ ok: false, code: 'ECONNREFUSED' }]);
    lab.obj.map('lb4_node_addrs').delete(ipv4.encode(lab.client4) as never);
    try {
      expect(await lab.client<TcpResult[]>(TCP_CLIENT, [lab.client4, NODE_PORT, 1])).toEqual([{ ok: false, code: 'ECONNREFUSED' }]);
    } finally {
      addNodeAddress(lab.obj, lab.client4);
    }
  });
});
