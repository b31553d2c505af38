/**
 * NodePort ICMP errors end to end (two nodes in namespaces, see
 * nodeport-e2e-topology.ts), with real sockets, whose kernels report an error
 * only when its embedded packet matches what the socket sent:
 * - errors about requests: a client's connected UDP socket sends to a NodePort
 *   whose backend has nothing listening; the backend's port unreachable (about
 *   node A:snatPort → pod for the remote backend, client → pod for the local
 *   one) is translated back to client → node A:nodePort and the socket gets
 *   ECONNREFUSED;
 * - errors about replies: a backend connects its UDP socket to the peer it got
 *   a datagram from and answers after the client has closed its socket; the
 *   client's port unreachable (about node A:nodePort → client) is translated
 *   to the backend (about pod → node A:snatPort, or → client for the local
 *   backend) and the backend's socket gets ECONNREFUSED.
 * IPv4 and IPv6 programs on the same hooks; 6.6 with tcx, 4.19 (tail-call
 * split ingress) with netlink tc. Bounded: a few datagrams, time limits everywhere.
 */
import { describe, expect, it } from 'vitest';
import { attachTc } from '../../loader/links/index.js';
import { pathCounters } from '../../programs/tc/nodeport-agent.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { runBounded } from '../support/netns.js';
import { UDP_ERROR_CLIENT } from './clusterip-e2e-topology.js';
import { E2E_BUILDS, loadNodePort, writeNodePortService, type E2eLink } from './nodeport-e2e-datapath.js';
import { ADDRS, createNodePortTopology } from './nodeport-e2e-topology.js';

const ok = need({ kernel: true, tools: ['ip'] });

/**
 * Backend `node -e CONNECTED_REPLIER port`: on the first datagram it connects
 * its socket to the sender, then sends it two answers 300 ms apart; prints
 * `error:<code>` when the kernel reports an error on the socket, else `TIMEOUT`.
 * Prints `ready` once bound (IPv4 and IPv6).
 */
const CONNECTED_REPLIER = `
const dgram = require('node:dgram');
const port = Number(process.argv[1]);
let up = 0;
for (const type of ['udp4', 'udp6']) {
  const u = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  u.on('error', (e) => { process.stdout.write('error:' + e.code + '\\n'); process.exit(0); });
  u.once('message', (m, r) => u.connect(r.port, r.address, () => { setTimeout(() => u.send('a'), 200); setTimeout(() => u.send('b'), 500); }));
  u.bind(port, type === 'udp4' ? '0.0.0.0' : '::', () => { if (++up === 2) process.stdout.write('ready\\n'); });
}
setTimeout(() => { process.stdout.write('TIMEOUT\\n'); process.exit(0); }, 4000);
`;

/** Client `node -e SEND_AND_CLOSE host port`: one datagram, then the socket is closed (its port unreachable from then on). */
const SEND_AND_CLOSE = `
const dgram = require('node:dgram');
const [host, port] = process.argv.slice(1);
const u = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
u.send('hello', Number(port), host, () => { u.close(); process.stdout.write('sent\\n'); });
`;

describe.skipIf(!ok)('NodePort ICMP errors end to end', () => {
  for (const { build, mode } of E2E_BUILDS) {
    it(`${build} (${mode}): port unreachable from remote and local backends reaches the client's socket, the client's reaches the backends'`, async () => {
      const topo = createNodePortTopology();
      const pins = createPinDir('tcnpicmp');
      const closers: { close(): void }[] = [];
      try {
        const obj = loadNodePort(build, pins, topo);
        closers.push(obj);
        for (const [iface, progs] of [[topo.native.ifname, ['np4_ingress', 'np6_ingress']], [topo.podAVeth.ifname, ['np4_from_pod', 'np6_from_pod']]] as const)
          progs.forEach((p, i) => closers.push(attachTc(obj.program(p), { iface, netns: topo.nodeA, direction: 'ingress', mode, priority: i + 1 }) as unknown as E2eLink));
        for (const [v6, fam] of [[false, ADDRS.v4], [true, ADDRS.v6]] as const) {
          // Nothing listens on 5999; the connected replier listens on 6000.
          writeNodePortService(obj, v6, { port: 30090, proto: 'udp', revNatIndex: 1, backends: [{ id: 1, address: fam.podB, port: 5999, local: false }] });
          writeNodePortService(obj, v6, { port: 30091, proto: 'udp', revNatIndex: 2, backends: [{ id: 2, address: fam.podA, port: 5999, local: true }] });
          writeNodePortService(obj, v6, { port: 30092, proto: 'udp', revNatIndex: 3, backends: [{ id: 3, address: fam.podB, port: 6000, local: false }] });
          writeNodePortService(obj, v6, { port: 30093, proto: 'udp', revNatIndex: 4, backends: [{ id: 4, address: fam.podA, port: 6000, local: true }] });
        }
        let errors = 0n;
        for (const fam of [ADDRS.v4, ADDRS.v6]) {
          for (const [port, where] of [[30090, 'remote'], [30091, 'local']] as const) {
            const r = await runBounded(['ip', 'netns', 'exec', topo.client, process.execPath, '-e', UDP_ERROR_CLIENT, fam.nodeA, String(port)], 10_000);
            expect(r.stdout.trim(), `${fam.nodeA}:${port} (${where} backend without listener): ${r.stderr}`).toBe('error:ECONNREFUSED');
            errors++;
          }
          for (const [port, pod, where] of [[30092, topo.podB, 'remote'], [30093, topo.podA, 'local']] as const) {
            let ready!: () => void;
            const listening = new Promise<void>((res) => (ready = res));
            const backend = runBounded(['ip', 'netns', 'exec', pod, process.execPath, '-e', CONNECTED_REPLIER, '6000'], 10_000, (c) => {
              if (c.includes('ready')) ready();
            });
            await Promise.race([listening, backend.then((b) => Promise.reject(new Error(`replier exited: ${b.stdout} ${b.stderr}`)))]);
            const c = await runBounded(['ip', 'netns', 'exec', topo.client, process.execPath, '-e', SEND_AND_CLOSE, fam.nodeA, String(port)], 10_000);
            expect(c.stdout.trim(), c.stderr).toBe('sent');
            const b = await backend;
            expect(b.stdout.trim().split('\n').pop(), `${fam.nodeA}:${port} (${where} backend's answer to a closed client port): ${b.stderr}`).toBe('error:ECONNREFUSED');
            errors++;
          }
        }
        expect(pathCounters(obj).ICMP_ERROR).toBeGreaterThanOrEqual(errors);
      } finally {
        for (const c of closers.reverse()) c.close();
        topo.cleanup();
        pins.cleanup();
      }
    }, 120_000);
  }
});
