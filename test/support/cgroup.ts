/**
 * A dedicated cgroup v2 directory per test, under the cgroup2 mount found in
 * /proc/mounts (on this machine `/sys/fs/cgroup/unified`). Only processes the test
 * starts are moved into it; it is removed in `cleanup()`. Never the root cgroup.
 */
import { join } from 'node:path';
import { runBounded, type ChildResult } from './netns.js';
import { createCgroup, type LabCgroup } from '../../programs/lab/cgroup.js';

/** The cgroup2 mount point (the lab's; prefers the hybrid layout's `unified` directory). */
export { cgroup2Mount } from '../../programs/lab/cgroup.js';

/** A test cgroup: the lab's cgroup (path, procs(), cleanup() waiting briefly for exiting children). */
export type TestCgroup = LabCgroup;

/** Creates `<cgroup2 mount>/tsbpf-<tag>-<pid>-<hex>` (never the root cgroup) via the lab. */
export function createTestCgroup(tag = 'cg'): TestCgroup {
  return createCgroup(tag);
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
