/**
 * The socket-LB test lab: a client namespace and a backend namespace joined by a
 * veth (IPv4 10.200.S.1 ↔ .2/.3, IPv6 fd00:200:S::1 ↔ ::2/::3), a test cgroup the
 * client processes join, the socket-LB programs compiled for a target, loaded
 * with their maps pinned in a private bpffs and attached to that cgroup, and a
 * backend server (TCP, UDP echo, DNS) listening on each backend address.
 * Everything goes in `close()`.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { loadObject, type LoadedObject } from '../../loader/index.js';
import { attachCgroup, BpfLink, type CgroupLegacyAttachment } from '../../loader/links/index.js';
import { compileSocketLb, type SocketLb, type SocketLbOptions } from '../../programs/sock/index.js';
import { createPinDir, type PinDir } from '../support/bpffs.js';
import { createTestCgroup, runInCgroup, type TestCgroup } from '../support/cgroup.js';
import { createNetnsPair, ip, nsExec, runBounded, type NetnsPair } from '../support/netns.js';

/** Ports the backend server listens on (each backend address). */
export const BACKEND_PORT = { tcp: 8080, udp: 8053, dns: 5353 } as const;

/** The server each backend address runs: TCP says who it is, UDP echoes with who it is, DNS answers A queries. */
const SERVER = `
const net = require('node:net');
const dgram = require('node:dgram');
const [tcpPort, udpPort, dnsPort, ...addrs] = process.argv.slice(1);
let pending = addrs.length * 3;
const up = () => { if (--pending === 0) process.stdout.write('ready\\n'); };
const dnsAnswer = (q) => {
  // Header: same id, response + recursion available, 1 question, 1 answer; then the question, then A 10.1.2.3.
  let end = 12;
  while (q[end] !== 0) end += q[end] + 1;
  end += 5;
  const head = Buffer.from(q.subarray(0, 12));
  head.writeUInt16BE(0x8180, 2); head.writeUInt16BE(1, 4); head.writeUInt16BE(1, 6); head.writeUInt16BE(0, 8); head.writeUInt16BE(0, 10);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
  return Buffer.concat([head, q.subarray(12, end), answer]);
};
for (const a of addrs) {
  const fam = a.includes(':') ? 'udp6' : 'udp4';
  net.createServer((s) => s.end('backend ' + a)).listen(Number(tcpPort), a, up);
  const u = dgram.createSocket(fam);
  u.on('message', (m, r) => u.send(Buffer.from('backend ' + a + ' ' + m.toString()), r.port, r.address));
  u.bind(Number(udpPort), a, up);
  const d = dgram.createSocket(fam);
  d.on('message', (m, r) => d.send(dnsAnswer(m), r.port, r.address));
  d.bind(Number(dnsPort), a, up);
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/** A running lab. */
export interface SockLab {
  readonly net: NetnsPair;
  readonly cgroup: TestCgroup;
  readonly pins: PinDir;
  readonly lb: SocketLb;
  readonly obj: LoadedObject;
  /** Backend addresses (in the backend namespace). */
  readonly backends4: readonly [string, string];
  /** More IPv4 backend addresses (`extraBackends4`), .4 onwards. */
  readonly extra4: readonly string[];
  readonly backends6: readonly [string, string];
  /** The client namespace's own addresses. */
  readonly client4: string;
  readonly client6: string;
  /** Runs a Node script in the client namespace, inside the test cgroup; parses its last JSON line. */
  client<T>(script: string, args: readonly (string | number)[], timeoutMs?: number): Promise<T>;
  /**
   * Starts a Node script in the client namespace inside the test cgroup and
   * resolves with its first JSON line; `ask(line)` writes a line to its stdin and
   * resolves with the next JSON line; `end()` closes its stdin (the script exits
   * then) and waits for it.
   */
  start<T>(script: string, args: readonly (string | number)[]): Promise<{ first: T; ask(line: string): Promise<T>; end(): Promise<void> }>;
  /** Runs a command (e.g. dig) in the client namespace inside the test cgroup. */
  run(argv: readonly string[], timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
  close(): void;
}

/** Options of {@link openSockLab}. */
export interface SockLabOptions extends SocketLbOptions {
  /** Third octet of the lab's IPv4 addresses (keep distinct per test file). */
  readonly subnet: number;
  /** Attach the programs (default true). */
  readonly attach?: boolean;
  /** IPv4 backend addresses beyond the two (default 0, at most 20). */
  readonly extraBackends4?: number;
  /** Host-namespace-only mode with the client namespace as the "host" (its SO_NETNS_COOKIE as hostNetnsCookie). */
  readonly clientIsHost?: boolean;
}

/** SO_NETNS_COOKIE (5.14) of a socket in namespace `ns`, read with Python's getsockopt. */
export function netnsCookie(ns: string): bigint {
  const out = nsExec(ns, 'python3', '-c', 'import socket,struct; s=socket.socket(); print(struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])');
  return BigInt(out.trim());
}

/** Builds the lab (cleaning up what it made if a step fails). */
export async function openSockLab(o: SockLabOptions): Promise<SockLab> {
  const { subnet, attach = true, clientIsHost = false, extraBackends4 = 0, ...options } = o;
  if (!Number.isInteger(extraBackends4) || extraBackends4 < 0 || extraBackends4 > 20) throw new Error('openSockLab: extraBackends4 must be 0..20');
  const undo: (() => void)[] = [];
  const close = () => {
    for (const u of undo.reverse()) {
      try {
        u();
      } catch {
        // Keep cleaning up.
      }
    }
  };
  try {
    const net = createNetnsPair(subnet);
    undo.push(() => net.cleanup());
    const backends4 = [`10.200.${subnet}.2`, `10.200.${subnet}.3`] as const;
    const client6 = `fd00:200:${subnet}::1`;
    const backends6 = [`fd00:200:${subnet}::2`, `fd00:200:${subnet}::3`] as const;
    const extra4 = Array.from({ length: extraBackends4 }, (_, k) => `10.200.${subnet}.${4 + k}`);
    for (const a of [backends4[1], ...extra4]) ip('-n', net.b, 'addr', 'add', `${a}/24`, 'dev', net.vethB);
    ip('-n', net.a, 'addr', 'add', `${client6}/64`, 'dev', net.vethA, 'nodad');
    for (const a of backends6) ip('-n', net.b, 'addr', 'add', `${a}/64`, 'dev', net.vethB, 'nodad');

    const cgroup = createTestCgroup('socklb');
    undo.push(() => cgroup.cleanup());
    const pins = createPinDir('socklb');
    undo.push(() => pins.cleanup());
    const lbOptions: SocketLbOptions = clientIsHost ? { ...options, hostNamespaceOnly: true, hostNetnsCookie: netnsCookie(net.a) } : options;
    const { elf, lb } = compileSocketLb(lbOptions);
    const obj = loadObject(elf, { objectName: 'socklb', pinRoot: pins.path });
    undo.push(() => obj.close());
    const links: (BpfLink | CgroupLegacyAttachment)[] = [];
    undo.push(() => {
      for (const l of links) l instanceof BpfLink ? l.close() : l.detach();
    });
    if (attach) for (const a of lb.attach) links.push(attachCgroup(obj.program(a.program), { hook: a.hook, cgroup: cgroup.path }));

    const server = await startServer(net.b, [...backends4, ...extra4, ...backends6]);
    undo.push(() => stopServer(server));

    const run = (argv: readonly string[], timeoutMs = 8000) => runInCgroup(cgroup.path, argv, { netns: net.a, timeoutMs });
    const start = async <T,>(script: string, args: readonly (string | number)[]) => {
      // JSON lines in order; each waiter takes the next one.
      const lines: T[] = [];
      const waiters: ((v: T) => void)[] = [];
      let buf = '';
      const argv = ['sh', '-c', 'echo $$ > "$0" && exec "$@"', join(cgroup.path, 'cgroup.procs'), 'ip', 'netns', 'exec', net.a, process.execPath, '-e', script, ...args.map(String)];
      const child = runBounded(argv, 15_000, (c) => {
        buf += c;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.startsWith('{')) continue;
          const v = JSON.parse(line) as T;
          const w = waiters.shift();
          if (w) w(v);
          else lines.push(v);
        }
      });
      const exited = child.then((x): never => {
        throw new Error(`client exited before its result (code ${x.code}): ${x.stderr}`);
      });
      exited.catch(() => {});
      const next = () => Promise.race([lines.length ? Promise.resolve(lines.shift()!) : new Promise<T>((r) => waiters.push(r)), exited]);
      const first = await next();
      return {
        first,
        ask: (line: string) => {
          child.child.stdin!.write(line + '\n');
          return next();
        },
        end: async () => {
          child.child.stdin!.end();
          await child;
        },
      };
    };
    return {
      net, cgroup, pins, lb, obj, backends4, extra4, backends6, client4: net.addrA, client6,
      run,
      start,
      async client<T>(script: string, args: readonly (string | number)[], timeoutMs = 8000): Promise<T> {
        const r = await run([process.execPath, '-e', script, ...args.map(String)], timeoutMs);
        const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{') || l.startsWith('[')).pop();
        if (!line) throw new Error(`client gave no result (code ${r.code}): ${r.stderr}`);
        return JSON.parse(line) as T;
      },
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}

async function startServer(ns: string, addrs: string[]): Promise<ChildProcess & { done: Promise<unknown> }> {
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const run = runBounded(['ip', 'netns', 'exec', ns, process.execPath, '-e', SERVER, String(BACKEND_PORT.tcp), String(BACKEND_PORT.udp), String(BACKEND_PORT.dns), ...addrs], 120_000, (c) => {
    if (c.includes('ready')) ready();
  });
  const exited = run.then((r) => {
    throw new Error(`backend server exited early (code ${r.code}): ${r.stderr}`);
  });
  await Promise.race([isReady, exited]);
  exited.catch(() => {});
  return Object.assign(run.child, { done: run });
}

function stopServer(child: ChildProcess): void {
  child.stdin?.end();
  if (child.exitCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
