/**
 * Path-MTU discovery through the ClusterIP NAT end to end: the pod uploads to a
 * service whose backend sits behind a smaller-MTU hop — the node's side of the
 * backend's veth has 1,280 bytes (the IPv6 minimum) while the pod's link and the
 * backend's own interface have 1,500, so the backend announces a full-sized MSS
 * and the pod sends 1,500-byte packets. The node, routing the DNATed segments,
 * answers with packet too big (IPv6) / fragmentation needed (IPv4) about
 * pod → backend; the to-pod program on the pod's veth egress translates it
 * (embedded destination back to the frontend), the pod's kernel finds its
 * socket, lowers the path MTU and the upload completes. Without the translation
 * the error matches no socket and the big segments are lost for good (a PMTU
 * black hole). IPv4 and IPv6; 6.6 with tcx, 4.19 (tail-call split) with netlink
 * tc. Bounded: one 256 KiB upload per family, time limits on every child.
 */
import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { ip, runBounded } from '../support/netns.js';
import type { BuildName } from './clusterip-harness.js';
import { withClusterIpRun, type AttachMode } from './clusterip-e2e-run.js';

const ok = need({ kernel: true, tools: ['ip', 'tc'] });
const BYTES = 256 * 1024;
const BACKEND_PORT = 9090;

/** Server `node -e COUNTER`: on port BACKEND_PORT (IPv4 and IPv6) counts what each connection sends and answers `got:<n>` at its end; prints `ready`. */
const COUNTER = `
const net = require('node:net');
let up = 0;
for (const host of ['0.0.0.0', '::'])
  net.createServer((c) => { let n = 0; c.on('error', () => {}); c.on('data', (d) => (n += d.length)); c.on('end', () => c.end('got:' + n)); })
    .listen({ port: ${BACKEND_PORT}, host, ipv6Only: host === '::' }, () => { if (++up === 2) process.stdout.write('ready\\n'); });
setTimeout(() => process.exit(0), 30000);
`;

/** Client `node -e UPLOAD host`: sends BYTES bytes to host:80, half-closes, prints the answer or `TIMEOUT`. */
const UPLOAD = `
const net = require('node:net');
const c = net.connect({ host: process.argv[1], port: 80 }, () => c.end(Buffer.alloc(${BYTES}, 0x62)));
let answer = '';
c.on('data', (d) => (answer += d));
c.on('end', () => { process.stdout.write(answer + '\\n'); process.exit(0); });
c.on('error', (e) => { process.stdout.write('error:' + e.code + '\\n'); process.exit(0); });
setTimeout(() => { process.stdout.write('TIMEOUT\\n'); process.exit(0); }, 8000);
`;

describe.skipIf(!ok)('ClusterIP path-MTU discovery end to end', () => {
  const cases: [BuildName, AttachMode][] = [['6.6', 'tcx'], ['4.19-split', 'netlink']];
  for (const [build, mode] of cases) {
    it(`${build} (${mode}), remote backend: the node's packet too big / fragmentation needed reaches the pod's socket, the upload completes`, () =>
      withClusterIpRun(build, mode, async ({ topo, dp, attachFor }) => {
        for (const [vip, backend] of [['10.96.0.80', topo.backendAddr4], ['fd00:96::80', topo.backendAddr6]] as const)
          dp.addService({ vip, port: 80, proto: 'tcp', revNatIndex: 81, backends: [{ id: 81, address: backend, port: BACKEND_PORT }] });
        // The small hop: only the node's end of the backend's veth (the backend keeps 1,500 and announces MSS 1,460 / 1,440).
        ip('-n', topo.node, 'link', 'set', topo.backendVeth, 'mtu', '1280');
        attachFor('remote');
        let listening!: () => void;
        const ready = new Promise<void>((resolve) => (listening = resolve));
        const server = runBounded(['ip', 'netns', 'exec', topo.backend, process.execPath, '-e', COUNTER], 35_000, (c) => c.includes('ready') && listening());
        try {
          await Promise.race([ready, server.then((r) => Promise.reject(new Error(`counter server exited: ${r.stderr}`)))]);
          for (const vip of ['10.96.0.80', 'fd00:96::80']) {
            const r = await runBounded(['ip', 'netns', 'exec', topo.pod, process.execPath, '-e', UPLOAD, vip], 12_000);
            expect(r.stdout.trim(), `${vip}: ${r.stderr}`).toBe(`got:${BYTES}`);
          }
        } finally {
          server.child.kill();
          await server.catch(() => undefined);
        }
      }), 60_000);
  }
});
