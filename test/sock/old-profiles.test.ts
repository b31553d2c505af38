/**
 * The objects built for older targets load and work on this kernel: 4.19 has
 * connect/sendmsg only (UDP replies keep the backend's address, as its omission
 * note says), 5.4 adds recvmsg (replies from the VIP) but no getpeername. Neither
 * can name the client by its netns cookie, so a service with session affinity
 * is balanced like any other there (the build's `limitations` say so).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';
import { TCP_CLIENT, UDP_CLIENT, type TcpResult, type UdpResult } from './clients.js';
import { fillService } from './fill.js';
import { BACKEND_PORT, openSockLab, type SockLab } from './lab.js';

const VIP = '10.96.0.70';
const STICKY_VIP = '10.96.0.71';

for (const [target, subnet] of [['4.19', 68], ['5.4', 69]] as const) {
  describe.skipIf(!need({ kernel: true }))(`socket LB built for ${target}, on this kernel`, () => {
    let lab: SockLab;
    beforeAll(async () => {
      lab = await openSockLab({ subnet, target });
      fillService(lab.obj, { address: VIP, port: 80, proto: 'tcp', revNatIndex: 1, backends: lab.backends4.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
      fillService(lab.obj, { address: VIP, port: 7000, proto: 'udp', revNatIndex: 2, firstBackendId: 10, backends: lab.backends4.map((a) => ({ address: a, port: BACKEND_PORT.udp })) });
      fillService(lab.obj, { address: STICKY_VIP, port: 80, proto: 'tcp', revNatIndex: 3, firstBackendId: 20, affinitySeconds: 3600, backends: lab.backends4.map((a) => ({ address: a, port: BACKEND_PORT.tcp })) });
    });
    afterAll(() => {
      lab?.close();
      if (lab) expect(listNetns().filter((n) => n === lab.net.a || n === lab.net.b)).toEqual([]);
    });

    it('TCP to the ClusterIP reaches both backends; getpeername shows the backend (no getpeername hook)', async () => {
      const r = await lab.client<TcpResult[]>(TCP_CLIENT, [VIP, 80, 30]);
      expect(r.filter((x) => !x.ok)).toEqual([]);
      expect(new Set(r.map((x) => x.data))).toEqual(new Set(lab.backends4.map((a) => `backend ${a}`)));
      for (const x of r) expect(x.peer).toBe(`${x.data!.split(' ')[1]}:${BACKEND_PORT.tcp}`);
    });

    it(`UDP sendto reaches a backend; replies come from ${target === '4.19' ? 'the backend (no recvmsg hook)' : 'the VIP'}`, async () => {
      const r = await lab.client<UdpResult[]>(UDP_CLIENT, [VIP, 7000, 3, 'unconnected', 4, 'one']);
      expect(r.filter((x) => !x.ok)).toEqual([]);
      const backend = r[0]!.data!.split(' ')[1]!;
      expect(lab.backends4).toContain(backend);
      expect(new Set(r.map((x) => x.from))).toEqual(new Set([target === '4.19' ? `${backend}:${BACKEND_PORT.udp}` : `${VIP}:7000`]));
    });

    it('a service with session affinity is balanced per connection (no affinity without bpf_get_netns_cookie), as the build reports', async () => {
      expect(lab.lb.limitations.map((l) => l.feature)).toEqual(['sessionAffinity']);
      expect(lab.obj.maps.has('lb4_affinity')).toBe(false);
      const r = await lab.client<TcpResult[]>(TCP_CLIENT, [STICKY_VIP, 80, 30]);
      expect(r.filter((x) => !x.ok)).toEqual([]);
      // Random per connect: one backend in 30 draws of two would have p = 2^-29.
      expect(new Set(r.map((x) => x.data))).toEqual(new Set(lab.backends4.map((a) => `backend ${a}`)));
    });
  });
}
