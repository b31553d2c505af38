/**
 * A three-namespace topology for the ClusterIP end-to-end test: a pod (no
 * socket LB: nothing attached to its cgroup), a node that routes between the
 * pod's veth and a backend's veth, and the backend. Addresses exist only inside
 * the namespaces; everything goes with `cleanup()`.
 *
 *   pod [c0 10.210.0.2, fd00:210::2] ── [c1 .0.1, fd00:210::1] node [b1 .1.1, fd00:211::1] ── [b0 10.210.1.2, fd00:211::2] backend
 */
import { createNetns, deleteNetns, ip, nsExec, runBounded } from '../support/netns.js';

/** The created namespaces and interface names. */
export interface ClusterIpTopology extends Disposable {
  readonly pod: string;
  readonly node: string;
  readonly backend: string;
  /** Node-side veth of the pod and of the backend (where the datapath attaches). */
  readonly podVeth: 'c1';
  readonly backendVeth: 'b1';
  readonly podAddr4: string;
  readonly backendAddr4: string;
  readonly podAddr6: string;
  readonly backendAddr6: string;
  cleanup(): void;
}

/** Creates the topology. */
export function createClusterIpTopology(): ClusterIpTopology {
  const made: string[] = [];
  const cleanup = () => made.forEach(deleteNetns);
  try {
    const pod = createNetns('pod');
    made.push(pod);
    const node = createNetns('node');
    made.push(node);
    const backend = createNetns('be');
    made.push(backend);
    ip('-n', node, 'link', 'add', 'c1', 'type', 'veth', 'peer', 'name', 'c0', 'netns', pod);
    ip('-n', node, 'link', 'add', 'b1', 'type', 'veth', 'peer', 'name', 'b0', 'netns', backend);
    const addr = (ns: string, dev: string, a4: string, a6: string) => {
      ip('-n', ns, 'addr', 'add', a4, 'dev', dev);
      ip('-n', ns, '-6', 'addr', 'add', a6, 'dev', dev, 'nodad');
      ip('-n', ns, 'link', 'set', dev, 'up');
    };
    addr(pod, 'c0', '10.210.0.2/24', 'fd00:210::2/64');
    addr(node, 'c1', '10.210.0.1/24', 'fd00:210::1/64');
    addr(node, 'b1', '10.210.1.1/24', 'fd00:211::1/64');
    addr(backend, 'b0', '10.210.1.2/24', 'fd00:211::2/64');
    ip('-n', pod, 'route', 'add', 'default', 'via', '10.210.0.1');
    ip('-n', pod, '-6', 'route', 'add', 'default', 'via', 'fd00:210::1');
    ip('-n', backend, 'route', 'add', 'default', 'via', '10.210.1.1');
    ip('-n', backend, '-6', 'route', 'add', 'default', 'via', 'fd00:211::1');
    for (const s of ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.c1.rp_filter=0', 'net.ipv4.conf.b1.rp_filter=0'])
      nsExec(node, 'sysctl', '-qw', s);
    return {
      pod, node, backend, podVeth: 'c1', backendVeth: 'b1',
      podAddr4: '10.210.0.2', backendAddr4: '10.210.1.2', podAddr6: 'fd00:210::2', backendAddr6: 'fd00:211::2',
      cleanup, [Symbol.dispose]: cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/**
 * Backend: answers each TCP connection's first chunk and each UDP datagram with
 * `pong:<data>:<peer address>`; on port tcpPort+1 (IPv4) echoes every chunk as
 * `echo:<data>` on a connection that stays open.
 */
export const BACKEND_SERVER = `
const net = require('node:net'), dgram = require('node:dgram');
const [tcpPort, udpPort, deadlineMs] = process.argv.slice(1).map(Number);
let up = 0;
const ready = () => { if (++up === 5) process.stdout.write('ready\\n'); };
net.createServer((c) => c.on('data', (d) => c.write('echo:' + d))).listen({ port: tcpPort + 1, host: '0.0.0.0' }, ready);
for (const host of ['0.0.0.0', '::']) {
  const t = net.createServer((c) => c.once('data', (d) => c.end('pong:' + d + ':' + c.remoteAddress)));
  t.listen({ port: tcpPort, host, ipv6Only: host === '::' }, ready);
  const u = host === '::' ? dgram.createSocket({ type: 'udp6', ipv6Only: true }) : dgram.createSocket('udp4');
  u.on('error', (e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
  u.on('message', (m, r) => u.send('pong:' + m + ':' + r.address, r.port, r.address));
  u.bind(udpPort, host, ready);
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), deadlineMs);
`;

/** A {@link BACKEND_SERVER} child started by {@link startBackendServer}. */
export interface BackendServer {
  /** The child's run (resolves when it exits). */
  readonly run: ReturnType<typeof runBounded>;
  /** Resolves once every socket listens; rejects if the child exits first. */
  readonly ready: Promise<void>;
  /** Asks the child to finish (closes its stdin) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts {@link BACKEND_SERVER} (TCP 8080, UDP 5353) in `netns`; it exits by itself after 25 s and is killed after 30 s. */
export function startBackendServer(netns: string): BackendServer {
  let listening!: () => void;
  const isReady = new Promise<void>((r) => (listening = r));
  const run = runBounded(['ip', 'netns', 'exec', netns, process.execPath, '-e', BACKEND_SERVER, '8080', '5353', '25000'], 30_000, (c) => {
    if (c.includes('ready')) listening();
  });
  const ready = Promise.race([isReady, run.then((r) => Promise.reject(new Error(`backend server in ${netns} exited: ${r.stderr}`)))]);
  const stop = async () => {
    if (run.child.pid !== undefined && run.child.exitCode === null) run.child.stdin!.end();
    await run.catch(() => undefined);
  };
  return { run, ready, stop };
}

/**
 * Pod: \`count\` TCP connections to host:port (each sends ping-i and reads the
 * answer) and \`count\` UDP datagrams from one unconnected socket; prints JSON
 * with what answered and from where.
 */
export const POD_CLIENT = `
const net = require('node:net'), dgram = require('node:dgram');
const [host, tcpPort, udpPort, count] = process.argv.slice(1);
const out = { tcp: [], udp: [] };
const tcpOne = (i) => new Promise((res) => {
  const c = net.connect({ host, port: Number(tcpPort) }, () => c.write('ping-' + i));
  let data = '';
  c.setTimeout(1500, () => { c.destroy(); res({ ok: false, code: 'TIMEOUT' }); });
  c.on('data', (d) => (data += d));
  c.on('end', () => res({ ok: true, data, peer: c.remoteAddress + ':' + c.remotePort }));
  c.on('error', (e) => res({ ok: false, code: e.code }));
});
(async () => {
  for (let i = 0; i < Number(count); i++) out.tcp.push(await tcpOne(i));
  const u = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  u.on('message', (m, r) => out.udp.push({ data: String(m), peer: r.address + ':' + r.port }));
  for (let i = 0; i < Number(count); i++) {
    u.send('dgram-' + i, Number(udpPort), host);
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 300));
  u.close();
  process.stdout.write(JSON.stringify(out) + '\\n');
})();
`;

/**
 * `node -e` script of a long client: one TCP connection to host:port (its
 * arguments) that sends `one`, prints each answer as `got:<data>`, sends `two`
 * when a line arrives on stdin, then closes after the second answer; it gives up
 * (exit 2) after `timeoutMs`.
 */
export function longClientScript(timeoutMs: number): string {
  return `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const c = net.connect({ host, port: Number(port) }, () => c.write('one'));
let n = 0;
c.on('data', (d) => {
  process.stdout.write('got:' + d + '\\n');
  if (++n === 1) process.stdin.once('data', () => c.write('two'));
  else c.end();
});
c.on('error', (e) => { process.stdout.write('error:' + e.code + '\\n'); process.exit(1); });
c.on('close', () => process.exit(0));
setTimeout(() => process.exit(2), ${timeoutMs});
`;
}

/** Pod: the long client ({@link longClientScript}) with a 15 s limit. */
export const LONG_CLIENT = longClientScript(15000);

/**
 * Pod: a UDP socket connected to host:port sends two datagrams and prints
 * `error:<code>` when the kernel reports an ICMP error for it (ECONNREFUSED for
 * port unreachable), `message:<data>` for an answer, or `TIMEOUT`.
 */
export const UDP_ERROR_CLIENT = `
const dgram = require('node:dgram');
const [host, port] = process.argv.slice(1);
const u = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
u.on('error', (e) => { process.stdout.write('error:' + e.code + '\\n'); process.exit(0); });
u.on('message', (m) => { process.stdout.write('message:' + m + '\\n'); process.exit(0); });
u.connect(Number(port), host, () => { u.send('x'); setTimeout(() => u.send('y'), 300); });
setTimeout(() => { process.stdout.write('TIMEOUT\\n'); process.exit(0); }, 2000);
`;
