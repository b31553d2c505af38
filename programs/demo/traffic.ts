/**
 * A measuring TCP client for the demo and the service tests: it makes a
 * bounded number of new connections (connect, one small request, the
 * response, close), a few at a time, and reports who answered each (the first
 * word of the reply, as the lab's echo servers send their id), how long each
 * took, and every failure with its errno code and wall-clock window, so a
 * test can tell a failure to a backend it removed on purpose from a real one.
 */
import { startChild, type LabChild } from '../lab/index.js';

const CLIENT = `
const net = require('node:net');
const { performance } = require('node:perf_hooks');
const [host, port, count, parallel, timeoutMs] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const now = () => performance.timeOrigin + performance.now();
const answers = {}; const latenciesUs = []; const failures = [];
const deadline = Date.now() + timeoutMs;
let started = 0;
function one() {
  return new Promise((resolve) => {
    const t0 = now();
    const c = net.connect({ host, port });
    let data = '';
    let done = false;
    const fail = (code) => { if (done) return; done = true; failures.push({ code, startMs: t0, endMs: now() }); c.destroy(); resolve(); };
    c.setTimeout(3000, () => fail('ETIMEDOUT'));
    c.on('connect', () => c.write('hi'));
    c.on('data', (d) => (data += d));
    c.on('end', () => {
      if (done) return;
      done = true;
      const id = data.split(' ')[0];
      if (!id) { failures.push({ code: 'EMPTY', startMs: t0, endMs: now() }); resolve(); return; }
      latenciesUs.push((now() - t0) * 1000);
      answers[id] = (answers[id] || 0) + 1;
      resolve();
    });
    c.on('error', (e) => fail(e.code || e.message));
  });
}
async function worker() { while (started < count && Date.now() < deadline) { started++; await one(); } }
Promise.all(Array.from({ length: parallel }, worker)).then(() => {
  process.stdout.write(JSON.stringify({ answers, latenciesUs, failures, attempted: started }) + '\\n');
});
`;

/** One failed connection. */
export interface ConnectionFailure {
  /** errno code (`ECONNREFUSED`, `ETIMEDOUT`, …). */
  readonly code: string;
  /** Wall-clock ms (performance.timeOrigin based) when the connect started and when it failed. */
  readonly startMs: number;
  readonly endMs: number;
}

/** What a client run saw. */
export interface ClientReport {
  /** Server id → connections it answered. */
  readonly answers: Readonly<Record<string, number>>;
  /** Per successful connection, connect to close (µs). */
  readonly latenciesUs: readonly number[];
  readonly failures: readonly ConnectionFailure[];
  /** Connections tried (below `count` only when the time bound ran out). */
  readonly attempted: number;
}

/** Where the client runs and how much it does. */
export interface ClientOptions {
  readonly netns: string;
  /** cgroup the client joins first (the load balancer's). */
  readonly cgroup?: string;
  readonly host: string;
  readonly port: number;
  /** Connections to make, 1..100,000. */
  readonly count: number;
  /** Connections in flight at once (default 1). */
  readonly parallel?: number;
  /** Stop starting new connections after this long (default 20 s). */
  readonly timeoutMs?: number;
}

/** A running client: `report` resolves with what it saw. */
export interface RunningClient {
  readonly child: LabChild;
  readonly report: Promise<ClientReport>;
}

/** Starts the client (bounded in count and time, killed by PID if it overstays). */
export function startClient(o: ClientOptions): RunningClient {
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > 100_000) throw new RangeError(`client connection count must be 1..100000, got ${o.count}`);
  const parallel = o.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new RangeError(`client parallelism must be 1..64, got ${parallel}`);
  const timeoutMs = o.timeoutMs ?? 20_000;
  const child = startChild([process.execPath, '-e', CLIENT, o.host, String(o.port), String(o.count), String(parallel), String(timeoutMs)], {
    netns: o.netns,
    ...(o.cgroup ? { cgroup: o.cgroup } : {}),
    timeoutMs: timeoutMs + 10_000,
  });
  const report = child.done.then((r) => {
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`client gave no report (exit ${r.code ?? r.signal}${r.timedOut ? ', timed out' : ''}): ${r.stderr.trim()}`);
    return JSON.parse(line) as ClientReport;
  });
  return { child, report };
}

/** Runs the client to completion. */
export function runClient(o: ClientOptions): Promise<ClientReport> {
  return startClient(o).report;
}

/** The `q`-quantile (0..1) of `values`, nearest rank; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
