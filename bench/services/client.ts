/**
 * The measurement client: bench/services/tcp-rr.c compiled with clang-19 at
 * bench time (so Node does not sit between the connections), run inside a
 * client pod's namespace (and, for the socket LB, its test cgroup).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runChild, startServer, type LabChild } from '../../programs/lab/index.js';

/** The compiled client/server binary and the directory to remove with it. */
export interface TcpRr extends Disposable {
  readonly path: string;
  cleanup(): void;
}

/** Compiles tcp-rr.c into a fresh temporary directory. */
export function compileTcpRr(): TcpRr {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-bench-tcprr-'));
  const path = join(dir, 'tcp-rr');
  try {
    run(['clang-19', '-O2', '-Wall', '-Wextra', '-D_GNU_SOURCE', '-o', path, join(import.meta.dirname, 'tcp-rr.c')], { timeoutMs: 60_000 });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  return { path, cleanup, [Symbol.dispose]: cleanup };
}

/** Starts `tcp-rr serve` in a backend pod; it answers with `id` and ends by itself after `seconds`. */
export function startBackend(bin: string, netns: string, port: number, id: string, seconds: number): Promise<LabChild> {
  return startServer([bin, 'serve', String(port), id, String(seconds)], { netns, timeoutMs: (seconds + 10) * 1000 });
}

/** What one client run saw. */
export interface ClientRun {
  /** Latency of every successful connection, ns. */
  readonly latenciesNs: number[];
  /** Replies by backend id. */
  readonly backends: Record<string, number>;
  /** Failed connections by errno name. */
  readonly errors: Record<string, number>;
}

/** Runs `count` connections (targets in turn) from `netns` (inside `cgroup` if given), bounded by 2 s per connection. */
export async function runClient(bin: string, o: { netns: string; cgroup?: string; count: number; targets: readonly string[] }): Promise<ClientRun> {
  const r = await runChild([bin, 'connect', String(o.count), ...o.targets], { netns: o.netns, cgroup: o.cgroup, timeoutMs: 10_000 + o.count * 2_500 });
  const out: ClientRun = { latenciesNs: [], backends: {}, errors: {} };
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [a, b = ''] = line.split(' ');
    if (a === 'ERR') out.errors[b] = (out.errors[b] ?? 0) + 1;
    else {
      out.latenciesNs.push(Number(a));
      out.backends[b] = (out.backends[b] ?? 0) + 1;
    }
  }
  return out;
}
