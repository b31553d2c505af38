/**
 * Network namespaces for kernel tests. Everything here lives inside namespaces the
 * test creates (unique names with pid + random suffix): the veth pair is created
 * inside them and their addresses exist only there, so the host's interfaces and
 * routes are never touched. Traffic helpers run small Node children inside a
 * namespace (`ip netns exec`), bounded in packet count and wall time, and are
 * killed by PID if they overstay.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createNetns, deleteNetns } from '../../programs/lab/netns.js';

/** Runs `ip ARGS…`; throws with stderr on failure. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/** Runs a command inside a namespace (`ip netns exec NS cmd args…`) and returns stdout. */
export function nsExec(ns: string, cmd: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

/**
 * Unique names and namespace create/delete/list are the lab's own
 * (programs/lab/netns.ts): one implementation, so tests and the demo name and
 * clean up namespaces the same way (`tsbpf-<tag>-<pid>-<hex>`, deletes refused
 * for names the lab does not make).
 */
export { uniqueName, createNetns, deleteNetns, listNetns } from '../../programs/lab/netns.js';

/** Two namespaces joined by a veth pair, with an IPv4 /24 inside them. */
export interface NetnsPair extends Disposable {
  /** Namespace of side A (the sender in most tests). */
  readonly a: string;
  /** Namespace of side B. */
  readonly b: string;
  /** veth name in A. */
  readonly vethA: string;
  /** veth name in B. */
  readonly vethB: string;
  readonly addrA: string;
  readonly addrB: string;
  /** Deletes both namespaces (and so the veths and everything attached to them). */
  cleanup(): void;
}

/**
 * Creates namespaces A and B, a veth pair `veth-a` (in A) ↔ `veth-b` (in B), and
 * addresses 10.200.<subnet>.1/24 and .2/24, all up.
 */
export function createNetnsPair(subnet = 1): NetnsPair {
  const a = createNetns('a');
  let b: string | undefined;
  try {
    b = createNetns('b');
    const vethA = 'veth-a';
    const vethB = 'veth-b';
    ip('-n', a, 'link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB, 'netns', b);
    const addrA = `10.200.${subnet}.1`;
    const addrB = `10.200.${subnet}.2`;
    ip('-n', a, 'addr', 'add', `${addrA}/24`, 'dev', vethA);
    ip('-n', b, 'addr', 'add', `${addrB}/24`, 'dev', vethB);
    ip('-n', a, 'link', 'set', vethA, 'up');
    ip('-n', b, 'link', 'set', vethB, 'up');
    const bName = b;
    const cleanup = () => {
      deleteNetns(a);
      deleteNetns(bName);
    };
    return { a, b, vethA, vethB, addrA, addrB, cleanup, [Symbol.dispose]: cleanup };
  } catch (e) {
    deleteNetns(a);
    if (b) deleteNetns(b);
    throw e;
  }
}

// ---------------------------------------------------------------- child processes

/** Result of a bounded child run. */
export interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/**
 * Spawns `argv` and resolves when it exits, killing it (by PID, SIGKILL) after
 * `timeoutMs`. `onStdout` sees output as it arrives.
 */
export function runBounded(
  argv: readonly string[],
  timeoutMs: number,
  onStdout?: (chunk: string, child: ChildProcess) => void,
): Promise<ChildResult> & { child: ChildProcess } {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const promise = new Promise<ChildResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // Exited in between.
        }
      }
    }, timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      onStdout?.(c, child);
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
  return Object.assign(promise, { child });
}

const UDP_RECEIVER = `
const dgram = require('node:dgram');
const [port, deadlineMs] = process.argv.slice(1).map(Number);
const got = [];
const s = dgram.createSocket('udp4');
const finish = () => { process.stdout.write(JSON.stringify(got) + '\\n'); process.exit(0); };
s.on('message', (m) => got.push(m.toString('latin1')));
s.bind(port, '0.0.0.0', () => process.stdout.write('ready\\n'));
process.stdin.on('data', finish);
process.stdin.on('end', finish);
setTimeout(finish, deadlineMs);
`;

const UDP_SENDER = `
const dgram = require('node:dgram');
const [addr, port, count, prefix] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
let i = 0;
const next = () => {
  if (i >= Number(count)) { s.close(); return; }
  s.send(Buffer.from(prefix + '-' + i++, 'latin1'), Number(port), addr, () => setTimeout(next, 2));
};
next();
`;

/** Options of `udpExchange`. */
export interface UdpExchangeOptions {
  readonly fromNs: string;
  readonly toNs: string;
  readonly toAddr: string;
  readonly port: number;
  /** Datagrams to send (bounded; default 20). */
  readonly count?: number;
  /** Payload prefix; datagram i carries `${prefix}-${i}` (default `hello`). */
  readonly prefix?: string;
  /** Hard limit for the whole exchange (default 5000 ms). */
  readonly timeoutMs?: number;
}

/**
 * Sends `count` UDP datagrams from namespace `fromNs` to `toAddr:port` (a
 * listener in `toNs`) and returns the payloads that arrived, in arrival order.
 */
export async function udpExchange(o: UdpExchangeOptions): Promise<string[]> {
  const count = o.count ?? 20;
  if (count > 1000) throw new Error('udpExchange: keep traffic bounded (count ≤ 1000)');
  const timeoutMs = o.timeoutMs ?? 5000;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const receiver = runBounded(
    ['ip', 'netns', 'exec', o.toNs, process.execPath, '-e', UDP_RECEIVER, String(o.port), String(timeoutMs - 500)],
    timeoutMs,
    (chunk) => {
      if (chunk.includes('ready')) ready();
    },
  );
  try {
    await Promise.race([isReady, receiver.then(() => undefined)]);
    const sender = await runBounded(
      ['ip', 'netns', 'exec', o.fromNs, process.execPath, '-e', UDP_SENDER, o.toAddr, String(o.port), String(count), o.prefix ?? 'hello'],
      timeoutMs,
    );
    if (sender.code !== 0) throw new Error(`UDP sender failed (${sender.code}): ${sender.stderr}`);
    // Give the last datagrams time to cross the veth before asking for the result.
    await new Promise((r) => setTimeout(r, 150));
    receiver.child.stdin!.end('stop\n');
    const result = await receiver;
    const line = result.stdout.split('\n').find((l) => l.startsWith('['));
    if (!line) throw new Error(`UDP receiver gave no result (code ${result.code}, timed out ${result.timedOut}): ${result.stderr}`);
    return JSON.parse(line) as string[];
  } finally {
    if (receiver.child.exitCode === null && receiver.child.pid !== undefined) {
      try {
        process.kill(receiver.child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}
