/**
 * A dedicated cgroup v2 directory per test, under the cgroup2 mount found in
 * /proc/mounts (on this machine `/sys/fs/cgroup/unified`). Only processes the test
 * starts are moved into it; it is removed in `cleanup()`. Never the root cgroup.
 */
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { runBounded, uniqueName, type ChildResult } from './netns.js';

/** The cgroup2 mount point, preferring the hybrid layout's `unified` directory. */
export function cgroup2Mount(): string {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup2')
    .map((f) => f[1]!);
  if (mounts.length === 0) throw new Error('no cgroup2 filesystem mounted (see /proc/mounts)');
  return mounts.find((m) => m.endsWith('/unified')) ?? mounts[0]!;
}

/** A test cgroup. */
export interface TestCgroup extends Disposable {
  readonly path: string;
  /** Process ids currently in the cgroup. */
  procs(): number[];
  /** Removes the directory (waits briefly for exiting children to leave). */
  cleanup(): void;
}

/** Creates `<cgroup2 mount>/tsbpf-<tag>-<pid>-<hex>`. */
export function createTestCgroup(tag = 'cg'): TestCgroup {
  const mount = cgroup2Mount();
  const path = join(mount, uniqueName(tag));
  if (path === mount) throw new Error('refusing to use the root cgroup');
  mkdirSync(path);
  const procs = () =>
    readFileSync(join(path, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map(Number);
  const cleanup = () => {
    const deadline = Date.now() + 3000;
    for (;;) {
      try {
        rmdirSync(path);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY' || Date.now() > deadline) throw e;
        // Children we started are exiting; wait for the cgroup to empty.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
  };
  return { path, procs, cleanup, [Symbol.dispose]: cleanup };
}

/**
 * Runs `argv` as a child that first moves itself into `cgroupPath` (so nothing but
 * this child and its descendants is in the cgroup), optionally inside `netns`.
 */
export function runInCgroup(cgroupPath: string, argv: readonly string[], options: { netns?: string; timeoutMs?: number } = {}): Promise<ChildResult> {
  const inner = options.netns ? ['ip', 'netns', 'exec', options.netns, ...argv] : [...argv];
  // `$0` is the cgroup.procs file; "$@" the command: the shell joins the cgroup, then becomes the command.
  return runBounded(['sh', '-c', 'echo $$ > "$0" && exec "$@"', join(cgroupPath, 'cgroup.procs'), ...inner], options.timeoutMs ?? 5000);
}

const CONNECT_PROBE = `
const net = require('node:net');
const [listenPort, host, port, listenHost] = process.argv.slice(1);
const out = (o) => { process.stdout.write(JSON.stringify(o) + '\\n'); process.exit(0); };
setTimeout(() => out({ ok: false, code: 'TIMEOUT' }), 3000);
const srv = net.createServer((s) => s.end('listener-' + listenPort));
srv.listen(Number(listenPort), listenHost || '127.0.0.1', () => {
  const c = net.connect({ host, port: Number(port) });
  let data = '';
  c.on('data', (d) => (data += d));
  c.on('end', () => out({ ok: true, data, peer: c.remoteAddress + ':' + c.remotePort }));
  c.on('error', (e) => out({ ok: false, code: e.code }));
});
`;

/** What a connect probe saw. */
export interface ConnectResult {
  readonly ok: boolean;
  /** What the listener sent (`listener-<port>`), when connected. */
  readonly data?: string;
  /** getpeername() of the client socket. */
  readonly peer?: string;
  /** errno code when the connect failed (e.g. ENETUNREACH). */
  readonly code?: string;
}

/**
 * In a child that joins `cgroupPath` (inside `netns`): listens on
 * `listenHost` (default 127.0.0.1):`listenPort`, then connect()s to `host:port`
 * and reports what answered.
 * Bounded to 3 s inside the child and 6 s outside.
 */
export async function connectProbe(
  cgroupPath: string,
  netns: string,
  listenPort: number,
  host: string,
  port: number,
  listenHost = '127.0.0.1',
): Promise<ConnectResult> {
  const r = await runInCgroup(cgroupPath, [process.execPath, '-e', CONNECT_PROBE, String(listenPort), host, String(port), listenHost], { netns, timeoutMs: 6000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`connect probe gave no result (code ${r.code}, timed out ${r.timedOut}): ${r.stderr}`);
  return JSON.parse(line) as ConnectResult;
}
