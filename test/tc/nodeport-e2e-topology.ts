/**
 * A two-node cluster in network namespaces for the NodePort end-to-end tests.
 * A "lan" namespace holds a bridge joining a client outside the cluster, node
 * A's native device and node B's; node A has a local backend pod and a client
 * pod behind veths, node B a remote backend pod. Addresses exist only inside
 * these namespaces; every one goes with `cleanup()`.
 *
 *   client [eth0 10.77.0.10] ─┐
 *   node A [eth0 10.77.0.1]  ─┼─ lan br0        node A: lxc1 10.77.1.1 ── podA eth0 10.77.1.2 (local backend)
 *   node B [eth0 10.77.0.2]  ─┘                         lxc2 10.77.3.1 ── cpod eth0 10.77.3.2 (ClusterIP client)
 *                                                node B: lxc1 10.77.2.1 ── podB eth0 10.77.2.2 (remote backend)
 * (IPv6: fd00:77::/64 on the lan, fd00:77:1::, :2::, :3:: for the pods.)
 *
 * Node A and node B know each other's pod networks through routes via the lan;
 * node A has permanent neighbours for the client and node B (the 4.19 build has
 * no bpf_redirect_neigh, so the FIB must have them).
 */
import { createNetns, deleteNetns, ip, nsExec, runBounded } from '../support/netns.js';
import { longClientScript } from './clusterip-e2e-topology.js';

/** One family's addresses of the topology. */
export interface FamilyAddrs {
  readonly client: string;
  readonly nodeA: string;
  readonly nodeB: string;
  readonly podA: string;
  readonly podB: string;
  readonly cpod: string;
}

/** Addresses by family. */
export const ADDRS: { readonly v4: FamilyAddrs; readonly v6: FamilyAddrs } = {
  v4: { client: '10.77.0.10', nodeA: '10.77.0.1', nodeB: '10.77.0.2', podA: '10.77.1.2', podB: '10.77.2.2', cpod: '10.77.3.2' },
  v6: { client: 'fd00:77::10', nodeA: 'fd00:77::1', nodeB: 'fd00:77::2', podA: 'fd00:77:1::2', podB: 'fd00:77:2::2', cpod: 'fd00:77:3::2' },
};

/** The created namespaces plus what the datapath needs to know about node A. */
export interface NodePortTopology extends Disposable {
  readonly lan: string;
  readonly client: string;
  readonly nodeA: string;
  readonly nodeB: string;
  readonly podA: string;
  readonly podB: string;
  readonly cpod: string;
  /** Node A's native device (ifindex and MAC inside node A). */
  readonly native: { readonly ifname: 'eth0'; readonly ifindex: number; readonly mac: string };
  /** Node A's veth to the local backend pod. */
  readonly podAVeth: { readonly ifname: 'lxc1'; readonly ifindex: number; readonly hostMac: string; readonly podMac: string };
  /** Node A's veth to the ClusterIP client pod. */
  readonly cpodVeth: 'lxc2';
  cleanup(): void;
}

function linkInfo(ns: string, dev: string): { ifindex: number; mac: string } {
  const j = JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', dev))[0];
  return { ifindex: Number(j.ifindex), mac: String(j.address) };
}

/** Creates the topology (see the file comment). */
export function createNodePortTopology(): NodePortTopology {
  const made: string[] = [];
  const cleanup = () => made.splice(0).reverse().forEach(deleteNetns);
  const ns = (tag: string) => {
    const n = createNetns(tag);
    made.push(n);
    return n;
  };
  try {
    const lan = ns('nplan');
    const client = ns('npcl');
    const nodeA = ns('npna');
    const nodeB = ns('npnb');
    const podA = ns('nppa');
    const podB = ns('nppb');
    const cpod = ns('npcp');
    ip('-n', lan, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', lan, 'link', 'set', 'br0', 'up');
    const up = (n: string, dev: string, a4?: string, a6?: string) => {
      if (a4) ip('-n', n, 'addr', 'add', a4, 'dev', dev);
      if (a6) ip('-n', n, '-6', 'addr', 'add', a6, 'dev', dev, 'nodad');
      ip('-n', n, 'link', 'set', dev, 'up');
    };
    const { v4, v6 } = ADDRS;
    for (const [n, port, a4, a6, mac] of [
      [client, 'p-cl', v4.client, v6.client, '02:77:00:00:00:10'],
      [nodeA, 'p-na', v4.nodeA, v6.nodeA, '02:77:00:00:00:01'],
      [nodeB, 'p-nb', v4.nodeB, v6.nodeB, '02:77:00:00:00:02'],
    ] as const) {
      ip('-n', lan, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n);
      ip('-n', lan, 'link', 'set', port, 'master', 'br0');
      up(lan, port);
      ip('-n', n, 'link', 'set', 'eth0', 'address', mac);
      up(n, 'eth0', `${a4}/24`, `${a6}/64`);
    }
    const pod = (node: string, veth: string, p: string, a4: string, a6: string, gw4: string, gw6: string) => {
      ip('-n', node, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p);
      up(node, veth, `${gw4}/24`, `${gw6}/64`);
      up(p, 'eth0', `${a4}/24`, `${a6}/64`);
      ip('-n', p, 'route', 'add', 'default', 'via', gw4);
      ip('-n', p, '-6', 'route', 'add', 'default', 'via', gw6);
    };
    pod(nodeA, 'lxc1', podA, v4.podA, v6.podA, '10.77.1.1', 'fd00:77:1::1');
    pod(nodeA, 'lxc2', cpod, v4.cpod, v6.cpod, '10.77.3.1', 'fd00:77:3::1');
    pod(nodeB, 'lxc1', podB, v4.podB, v6.podB, '10.77.2.1', 'fd00:77:2::1');
    ip('-n', nodeA, 'route', 'add', '10.77.2.0/24', 'via', v4.nodeB);
    ip('-n', nodeA, '-6', 'route', 'add', 'fd00:77:2::/64', 'via', v6.nodeB);
    for (const net of ['10.77.1.0/24', '10.77.3.0/24']) ip('-n', nodeB, 'route', 'add', net, 'via', v4.nodeA);
    for (const net of ['fd00:77:1::/64', 'fd00:77:3::/64']) ip('-n', nodeB, '-6', 'route', 'add', net, 'via', v6.nodeA);
    for (const [a, m] of [[v4.client, '02:77:00:00:00:10'], [v6.client, '02:77:00:00:00:10'], [v4.nodeB, '02:77:00:00:00:02'], [v6.nodeB, '02:77:00:00:00:02']])
      ip('-n', nodeA, 'neigh', 'replace', a!, 'lladdr', m!, 'dev', 'eth0', 'nud', 'permanent');
    for (const n of [nodeA, nodeB]) {
      for (const s of ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'])
        nsExec(n, 'sysctl', '-qw', s);
      for (const dev of ['eth0', 'lxc1']) nsExec(n, 'sysctl', '-qw', `net.ipv4.conf.${dev}.rp_filter=0`);
    }
    const native = linkInfo(nodeA, 'eth0');
    const host = linkInfo(nodeA, 'lxc1');
    const inPod = linkInfo(podA, 'eth0');
    return {
      lan, client, nodeA, nodeB, podA, podB, cpod,
      native: { ifname: 'eth0', ...native },
      podAVeth: { ifname: 'lxc1', ifindex: host.ifindex, hostMac: host.mac, podMac: inPod.mac },
      cpodVeth: 'lxc2',
      cleanup, [Symbol.dispose]: cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/**
 * Backend server `node -e BACKEND name tcpPort udpPort deadlineMs`: answers each
 * TCP connection's first chunk and each UDP datagram with
 * `pong:<name>:<data>:<peer address>`; on tcpPort+1 echoes every chunk as
 * `echo:<name>:<data>` on a connection that stays open. Prints `ready` once
 * listening (IPv4 and IPv6); ends on stdin end or at the deadline.
 */
export const BACKEND = `
const net = require('node:net'), dgram = require('node:dgram');
const [name, tcpPort, udpPort, deadlineMs] = [process.argv[1], ...process.argv.slice(2).map(Number)];
let up = 0;
const ready = () => { if (++up === 6) process.stdout.write('ready\\n'); };
for (const host of ['0.0.0.0', '::']) {
  const v6 = host === '::';
  net.createServer((c) => c.once('data', (d) => c.end('pong:' + name + ':' + d + ':' + c.remoteAddress))).listen({ port: tcpPort, host, ipv6Only: v6 }, ready);
  net.createServer((c) => c.on('data', (d) => c.write('echo:' + name + ':' + d))).listen({ port: tcpPort + 1, host, ipv6Only: v6 }, ready);
  const u = v6 ? dgram.createSocket({ type: 'udp6', ipv6Only: true }) : dgram.createSocket('udp4');
  u.on('error', (e) => { process.stderr.write(String(e) + '\\n'); process.exit(1); });
  u.on('message', (m, r) => u.send('pong:' + name + ':' + m + ':' + r.address, r.port, r.address));
  u.bind(udpPort, host, ready);
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), deadlineMs);
`;

/**
 * Client `node -e CLIENT host tcpPort udpPort count parallel timeoutMs`: `count`
 * TCP connections (at most `parallel` at a time; each sends ping-i and reads the
 * answer up to the server's close) and `count` UDP datagrams from one
 * unconnected socket (udpPort 0: none). Each TCP result carries the time it
 * started (ms since the client began); a line written to its stdin is recorded
 * in `marks` with the same clock, so tests can relate connections to changes
 * they make. Prints `done <n>` after every 50 connections, then one JSON line.
 */
export const CLIENT = `
const net = require('node:net'), dgram = require('node:dgram');
const [host, tcpPort, udpPort, count, parallel, timeoutMs] = [process.argv[1], ...process.argv.slice(2).map(Number)];
const t0 = Date.now();
const tcp = new Array(count);
const marks = {};
let done = 0;
process.stdin.setEncoding('utf8').on('data', (d) => { for (const l of d.split('\\n')) if (l) marks[l] = Date.now() - t0; });
const tcpOne = (i) => new Promise((res) => {
  const at = Date.now() - t0;
  const c = net.connect({ host, port: tcpPort }, () => c.write('ping-' + i));
  let data = '';
  c.setTimeout(timeoutMs, () => { c.destroy(); res({ i, at, ok: false, code: 'TIMEOUT' }); });
  c.on('data', (d) => (data += d));
  c.on('end', () => { res({ i, at, ok: true, data, peer: c.remoteAddress + ':' + c.remotePort }); c.destroy(); });
  c.on('error', (e) => res({ i, at, ok: false, code: e.code }));
});
(async () => {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      tcp[i] = await tcpOne(i);
      if (++done % 50 === 0) process.stdout.write('done ' + done + '\\n');
    }
  };
  if (tcpPort > 0) await Promise.all(Array.from({ length: parallel }, worker));
  const udp = [];
  if (udpPort > 0) {
    const u = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    u.on('message', (m, r) => udp.push({ data: String(m), peer: r.address + ':' + r.port }));
    for (let i = 0; i < count; i++) {
      u.send('dgram-' + i, udpPort, host);
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 400));
    u.close();
  }
  process.stdout.write(JSON.stringify({ tcp: tcpPort > 0 ? tcp : [], udp, marks }) + '\\n', () => process.exit(0));
})();
`;

/** Long client `node -e LONG host port` ({@link longClientScript}) with a 30 s limit. */
export const LONG = longClientScript(30000);

/** A TCP result of {@link CLIENT}. */
export interface TcpResult {
  readonly i: number;
  readonly at: number;
  readonly ok: boolean;
  readonly data?: string;
  readonly peer?: string;
  readonly code?: string;
}

/** What {@link CLIENT} prints. */
export interface ClientResult {
  readonly tcp: TcpResult[];
  readonly udp: { data: string; peer: string }[];
  /** Client-clock time (ms) of each line written to its stdin. */
  readonly marks: Record<string, number>;
}

/** A running backend server (see {@link BACKEND}); `stop()` ends it and waits. */
export interface Backend {
  readonly child: ReturnType<typeof runBounded>;
  stop(): Promise<void>;
}

/** Starts {@link BACKEND} named `name` in `ns` on TCP `tcpPort` (and +1) and UDP `udpPort`; resolves once it listens. */
export async function startBackend(ns: string, name: string, opts: { tcpPort?: number; udpPort?: number; lifetimeMs?: number } = {}): Promise<Backend> {
  const lifetimeMs = opts.lifetimeMs ?? 60_000;
  let ready!: () => void;
  const up = new Promise<void>((r) => (ready = r));
  const child = runBounded(['ip', 'netns', 'exec', ns, process.execPath, '-e', BACKEND, name, String(opts.tcpPort ?? 8080), String(opts.udpPort ?? 5353), String(lifetimeMs)], lifetimeMs + 5_000, (c) => {
    if (c.includes('ready')) ready();
  });
  const stop = async () => {
    if (child.child.exitCode === null) child.child.stdin!.end();
    await child.catch(() => undefined);
  };
  try {
    await Promise.race([up, child.then((r) => Promise.reject(new Error(`backend ${name} exited: ${r.stderr}`)))]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { child, stop };
}

/** Options of {@link startClient}. */
export interface ClientOptions {
  readonly tcpPort: number;
  readonly udpPort?: number;
  readonly count: number;
  readonly parallel?: number;
  /** Per-connection time limit (default 2,000 ms). */
  readonly timeoutMs?: number;
  /** Limit for the whole client (default 60 s). */
  readonly limitMs?: number;
}

/** A running {@link CLIENT}: its result, how many connections finished so far, and `mark(label)`. */
export interface RunningClient {
  readonly result: Promise<ClientResult>;
  /** Connections finished (in steps of 50). */
  progress(): number;
  /** Records `label` at the client's current time (see `ClientResult.marks`). */
  mark(label: string): void;
  finished(): boolean;
}

/** Starts {@link CLIENT} in `ns` against `host`. */
export function startClient(ns: string, host: string, opts: ClientOptions): RunningClient {
  const args = [host, opts.tcpPort, opts.udpPort ?? 0, opts.count, opts.parallel ?? 1, opts.timeoutMs ?? 2_000].map(String);
  let progress = 0;
  let finished = false;
  const child = runBounded(['ip', 'netns', 'exec', ns, process.execPath, '-e', CLIENT, ...args], opts.limitMs ?? 60_000, (c) => {
    for (const m of c.matchAll(/^done (\d+)$/gm)) progress = Math.max(progress, Number(m[1]));
  });
  const result = child.then((r) => {
    finished = true;
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`client gave no result (code ${r.code}, timed out ${r.timedOut}): ${r.stderr}`);
    return JSON.parse(line) as ClientResult;
  });
  return {
    result,
    progress: () => progress,
    mark: (label) => void child.child.stdin!.write(`${label}\n`),
    finished: () => finished,
  };
}

/** Runs {@link CLIENT} in `ns` to the end and returns its result. */
export function runClient(ns: string, host: string, opts: ClientOptions): Promise<ClientResult> {
  return startClient(ns, host, opts).result;
}
