/**
 * Host-namespace-only mode: sockets of the host network namespace are
 * translated, sockets of other namespaces (pods) are left alone even though they
 * are in the same cgroup; with a configured host netns cookie, that namespace is
 * the host. The service address is on loopback so that an untranslated connect
 * from the initial namespace stays on this machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SocketLbError, socketLbPrograms } from '../../programs/sock/index.js';
import { runInCgroup } from '../support/cgroup.js';
import { need } from '../support/env.js';
import { LISTEN_AND_CONNECT, type TcpResult } from './clients.js';
import { fillService } from './fill.js';
import { netnsCookie, openSockLab, type SockLab } from './lab.js';

const VIP = '127.100.0.60';
// tcpmux: nothing listens there, so an untranslated connect is refused at once.
const VIP_PORT = 1;
// A port unlikely to be taken on the host (the listener binds 127.0.0.1 only).
const BACKEND_PORT = 20000 + (process.pid % 9000);

describe('host-namespace-only mode: needs bpf_get_netns_cookie', () => {
  it('is refused for targets without it (4.19, 5.4) and built for 5.10+', () => {
    for (const target of ['4.19', '5.4']) {
      expect(() => socketLbPrograms({ target, hostNamespaceOnly: true })).toThrow(SocketLbError);
      expect(() => socketLbPrograms({ target, hostNamespaceOnly: true })).toThrow(/hostNamespaceOnly needs bpf_get_netns_cookie .*kernel 5\.7/);
    }
    expect(socketLbPrograms({ target: '5.10', hostNamespaceOnly: true }).attach.length).toBe(9);
  });
});

describe.skipIf(!need({ kernel: true }))('socket LB: host-namespace-only mode with real connects', () => {
  let lab: SockLab;
  beforeAll(async () => {
    lab = await openSockLab({ subnet: 67, target: 'host', hostNamespaceOnly: true });
    fillService(lab.obj, { address: VIP, port: VIP_PORT, proto: 'tcp', revNatIndex: 1, backends: [{ address: '127.0.0.1', port: BACKEND_PORT }] });
  });
  afterAll(() => lab?.close());

  it('a socket in the host namespace is translated (getpeername reports the VIP)', async () => {
    expect(await probe(lab)).toEqual({ ok: true, data: `listener ${BACKEND_PORT}`, peer: `${VIP}:${VIP_PORT}` });
  });

  it('a socket in another namespace, same cgroup, is not', async () => {
    expect(await probe(lab, lab.net.a)).toEqual({ ok: false, code: 'ECONNREFUSED' });
  });
});

describe.skipIf(!need({ kernel: true, tools: ['python3'] }))('socket LB: host-namespace-only mode with a configured host netns cookie', () => {
  let lab: SockLab;
  beforeAll(async () => {
    lab = await openSockLab({ subnet: 71, target: 'host', clientIsHost: true });
    fillService(lab.obj, { address: VIP, port: VIP_PORT, proto: 'tcp', revNatIndex: 1, backends: [{ address: '127.0.0.1', port: BACKEND_PORT }] });
  });
  afterAll(() => lab?.close());

  it('the configured namespace is translated, the initial one is not', async () => {
    expect(lab.lb.options.hostNetnsCookie).toBe(netnsCookie(lab.net.a));
    expect(await probe(lab, lab.net.a)).toEqual({ ok: true, data: `listener ${BACKEND_PORT}`, peer: `${VIP}:${VIP_PORT}` });
    expect(await probe(lab)).toEqual({ ok: false, code: 'ECONNREFUSED' });
  });
});

/** Listens on 127.0.0.1:BACKEND_PORT and connects to the VIP, in the lab's cgroup (in `netns`, or the initial namespace). */
async function probe(lab: SockLab, netns?: string): Promise<TcpResult> {
  const r = await runInCgroup(lab.cgroup.path, [process.execPath, '-e', LISTEN_AND_CONNECT, String(BACKEND_PORT), VIP, String(VIP_PORT)], { ...(netns ? { netns } : {}), timeoutMs: 6000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`probe gave no result (code ${r.code}): ${r.stderr}`);
  return JSON.parse(line) as TcpResult;
}
