/**
 * A service without backends refuses connect()/sendto() at once instead of
 * letting the client wait for a VIP nobody answers: ECONNREFUSED where the
 * kernel lets the program set the error (bpf_set_retval, 6.1), EPERM — the
 * default for a 0 verdict — for objects built for older targets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';
import { TCP_CLIENT, UDP_CLIENT, type TcpResult, type UdpResult } from './clients.js';
import { fillService } from './fill.js';
import { openSockLab, type SockLab } from './lab.js';

const EMPTY4 = '10.96.0.50';
const EMPTY6 = 'fd00:96::50';

for (const [target, errno, subnet] of [['host', 'ECONNREFUSED', 65], ['5.10', 'EPERM', 66]] as const) {
  describe.skipIf(!need({ kernel: true }))(`socket LB: a service without backends (built for ${target})`, () => {
    let lab: SockLab;
    beforeAll(async () => {
      lab = await openSockLab({ subnet, target });
      for (const proto of ['tcp', 'udp'] as const) {
        fillService(lab.obj, { address: EMPTY4, port: 80, proto, revNatIndex: proto === 'tcp' ? 1 : 2, backends: [] });
        fillService(lab.obj, { address: EMPTY6, port: 80, proto, revNatIndex: proto === 'tcp' ? 3 : 4, backends: [] });
      }
    });
    afterAll(() => {
      lab?.close();
      if (lab) expect(listNetns().filter((n) => n === lab.net.a || n === lab.net.b)).toEqual([]);
    });

    it(`the build ${target === 'host' ? 'uses' : 'cannot use'} bpf_set_retval`, () => {
      expect(lab.lb.features.setRetval).toBe(target === 'host');
    });

    it(`TCP connect fails with ${errno} (IPv4 and IPv6)`, async () => {
      // An errno per connect, none left waiting (the client would report fewer results after its 6 s limit).
      expect(await lab.client<TcpResult[]>(TCP_CLIENT, [EMPTY4, 80, 2])).toEqual(Array(2).fill({ ok: false, code: errno }));
      expect(await lab.client<TcpResult[]>(TCP_CLIENT, [EMPTY6, 80, 2])).toEqual(Array(2).fill({ ok: false, code: errno }));
    });

    it(`UDP sendto and connect fail with ${errno}`, async () => {
      for (const [vip, family] of [[EMPTY4, 4], [EMPTY6, 6]] as const) {
        expect(await lab.client<UdpResult[]>(UDP_CLIENT, [vip, 80, 1, 'unconnected', family, 'one'])).toEqual([{ ok: false, code: errno }]);
        expect(await lab.client<UdpResult[]>(UDP_CLIENT, [vip, 80, 1, 'connected', family, 'one'])).toEqual([{ ok: false, code: errno }]);
      }
    });
  });
}
