/**
 * Path-MTU discovery through NodePort end to end: the two-node topology of
 * nodeport-e2e-topology.ts plus a router on the lan with a client behind it,
 * whose link towards that client has a smaller MTU (1,280 bytes, the IPv6
 * minimum) than the client's own interface (1,500: the client announces MSS 1,460
 * and the backend sends full-sized segments). The router answers the backend's
 * big segments — the node's translated replies — with fragmentation needed /
 * packet too big to node A; node A translates them to the backend (about
 * backend → node A:snatPort for the remote pod, → client for the local one), the
 * backend's kernel lowers its path MTU and the transfer completes. Without the
 * translation the segments are lost for good (a PMTU black hole). TCP, IPv4 and
 * IPv6, remote and local backend; 6.6 with tcx, 4.19 (tail-call split) with
 * netlink tc. Bounded: one transfer of 256 KiB per case, time limits everywhere.
 */
import { describe, expect, it } from 'vitest';
import { attachTc } from '../../loader/links/index.js';
import { pathCounters } from '../../programs/tc/nodeport-agent.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { createNetns, deleteNetns, ip, nsExec, runBounded } from '../support/netns.js';
import { E2E_BUILDS, loadNodePort, writeNodePortService, type E2eLink } from './nodeport-e2e-datapath.js';
import { ADDRS, createNodePortTopology } from './nodeport-e2e-topology.js';

const ok = need({ kernel: true, tools: ['ip'] });
const BYTES = 256 * 1024;
/** The router's lan addresses, and the far client's network behind it. */
const ROUTER = { lan4: '10.77.0.20', lan6: 'fd00:77::20', gw4: '10.77.9.1', gw6: 'fd00:77:9::1', client4: '10.77.9.2', client6: 'fd00:77:9::2', mac: '02:77:00:00:00:20' };

/** Server `node -e BULK port`: sends BYTES bytes to every connection (IPv4 and IPv6), then closes it; prints `ready`. */
const BULK = `
const net = require('node:net');
const port = Number(process.argv[1]);
let up = 0;
for (const host of ['0.0.0.0', '::'])
  net.createServer((c) => { c.on('error', () => {}); c.end(Buffer.alloc(${BYTES}, 0x61)); }).listen({ port, host, ipv6Only: host === '::' }, () => { if (++up === 2) process.stdout.write('ready\\n'); });
setTimeout(() => process.exit(0), 60000);
`;

/** Client `node -e FETCH host port`: connects, counts the bytes up to the server's close; prints `bytes:<n>` or `TIMEOUT:<n>`. */
const FETCH = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
let n = 0;
const c = net.connect({ host, port: Number(port) });
c.on('data', (d) => (n += d.length));
c.on('end', () => { process.stdout.write('bytes:' + n + '\\n'); process.exit(0); });
c.on('error', (e) => { process.stdout.write('error:' + e.code + ':' + n + '\\n'); process.exit(0); });
setTimeout(() => { process.stdout.write('TIMEOUT:' + n + '\\n'); process.exit(0); }, 6000);
`;

describe.skipIf(!ok)('NodePort path-MTU discovery end to end', () => {
  for (const { build, mode } of E2E_BUILDS) {
    it(`${build} (${mode}): a router's fragmentation needed / packet too big reaches remote and local backends, the transfer completes`, async () => {
      const topo = createNodePortTopology();
      const pins = createPinDir('tcnppmtu');
      const made: string[] = [];
      const closers: { close(): void }[] = [];
      const servers: ReturnType<typeof runBounded>[] = [];
      try {
        // The router on the lan and the far client behind it (the small-MTU hop is the router's side of that link).
        const router = createNetns('nprt');
        made.push(router);
        const far = createNetns('npfc');
        made.push(far);
        ip('-n', topo.lan, 'link', 'add', 'p-rt', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', router);
        ip('-n', topo.lan, 'link', 'set', 'p-rt', 'master', 'br0');
        ip('-n', topo.lan, 'link', 'set', 'p-rt', 'up');
        ip('-n', router, 'link', 'set', 'eth0', 'address', ROUTER.mac);
        ip('-n', router, 'addr', 'add', `${ROUTER.lan4}/24`, 'dev', 'eth0');
        ip('-n', router, '-6', 'addr', 'add', `${ROUTER.lan6}/64`, 'dev', 'eth0', 'nodad');
        ip('-n', router, 'link', 'set', 'eth0', 'up');
        ip('-n', router, 'link', 'add', 'down0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', far);
        ip('-n', router, 'addr', 'add', `${ROUTER.gw4}/24`, 'dev', 'down0');
        ip('-n', router, '-6', 'addr', 'add', `${ROUTER.gw6}/64`, 'dev', 'down0', 'nodad');
        // (Below 1,280 the kernel would take IPv6 off the link.)
        ip('-n', router, 'link', 'set', 'down0', 'mtu', '1280', 'up');
        ip('-n', far, 'addr', 'add', `${ROUTER.client4}/24`, 'dev', 'eth0');
        ip('-n', far, '-6', 'addr', 'add', `${ROUTER.client6}/64`, 'dev', 'eth0', 'nodad');
        ip('-n', far, 'link', 'set', 'eth0', 'up');
        ip('-n', far, 'route', 'add', 'default', 'via', ROUTER.gw4);
        ip('-n', far, '-6', 'route', 'add', 'default', 'via', ROUTER.gw6);
        for (const s of ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']) nsExec(router, 'sysctl', '-qw', s);
        // Node A reaches the far client through the router (a permanent neighbour: the 4.19 build needs the FIB to have it).
        ip('-n', topo.nodeA, 'route', 'add', '10.77.9.0/24', 'via', ROUTER.lan4);
        ip('-n', topo.nodeA, '-6', 'route', 'add', 'fd00:77:9::/64', 'via', ROUTER.lan6);
        for (const a of [ROUTER.lan4, ROUTER.lan6]) ip('-n', topo.nodeA, 'neigh', 'replace', a, 'lladdr', ROUTER.mac, 'dev', 'eth0', 'nud', 'permanent');

        const obj = loadNodePort(build, pins, topo);
        closers.push(obj);
        for (const [iface, progs] of [[topo.native.ifname, ['np4_ingress', 'np6_ingress']], [topo.podAVeth.ifname, ['np4_from_pod', 'np6_from_pod']]] as const)
          progs.forEach((p, i) => closers.push(attachTc(obj.program(p), { iface, netns: topo.nodeA, direction: 'ingress', mode, priority: i + 1 }) as unknown as E2eLink));
        for (const [v6, fam] of [[false, ADDRS.v4], [true, ADDRS.v6]] as const) {
          writeNodePortService(obj, v6, { port: 30081, proto: 'tcp', revNatIndex: 1, backends: [{ id: 1, address: fam.podB, port: 7070, local: false }] });
          writeNodePortService(obj, v6, { port: 30080, proto: 'tcp', revNatIndex: 2, backends: [{ id: 2, address: fam.podA, port: 7070, local: true }] });
        }
        for (const pod of [topo.podA, topo.podB]) {
          let ready!: () => void;
          const up = new Promise<void>((r) => (ready = r));
          const s = runBounded(['ip', 'netns', 'exec', pod, process.execPath, '-e', BULK, '7070'], 70_000, (c) => {
            if (c.includes('ready')) ready();
          });
          servers.push(s);
          await Promise.race([up, s.then((r) => Promise.reject(new Error(`bulk server exited: ${r.stderr}`)))]);
        }
        for (const fam of [ADDRS.v4, ADDRS.v6]) {
          for (const [port, where] of [[30081, 'remote'], [30080, 'local']] as const) {
            const r = await runBounded(['ip', 'netns', 'exec', far, process.execPath, '-e', FETCH, fam.nodeA, String(port)], 15_000);
            expect(r.stdout.trim(), `${fam.nodeA}:${port} (${where} backend) through the small-MTU router: ${r.stderr}`).toBe(`bytes:${BYTES}`);
          }
        }
        expect(pathCounters(obj).ICMP_ERROR).toBeGreaterThanOrEqual(4n);
      } finally {
        for (const s of servers) {
          if (s.child.exitCode === null) s.child.kill();
          await s.catch(() => undefined);
        }
        for (const c of closers.reverse()) c.close();
        made.reverse().forEach(deleteNetns);
        topo.cleanup();
        pins.cleanup();
      }
    }, 120_000);
  }
});
