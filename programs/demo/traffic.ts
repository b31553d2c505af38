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
const [targetsText, count, parallel, timeoutMs] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
// host,port pairs separated by spaces; connection i goes to target i % n (interleaved, so they are measured alike).
const targets = targetsText.split(' ').map((t) => { const k = t.lastIndexOf(','); return { host: t.slice(0, k), port: Number(t.slice(k + 1)) }; });
const now = () => performance.timeOrigin + performance.now();
const answers = {}; const latenciesUs = []; const byTarget = targets.map(() => []); const failures = [];
const deadline = Date.now() + timeoutMs;
let started = 0;
let finished = 0;
// Progress lines let a caller act at a point in the run (e.g. remove a backend a third of the way in).
const settled = () => { if (++finished % 100 === 0) process.stdout.write('progress ' + finished + '\\n'); };
function one(k) {
  return new Promise((resolve) => {
    const t0 = now();
    const c = net.connect(targets[k % targets.length]);
    let data = '';
    let done = false;
    const fail = (code) => { if (done) return; done = true; failures.push({ code, startMs: t0, endMs: now() }); c.destroy(); settled(); resolve(); };
    c.setTimeout(3000, () => fail('ETIMEDOUT'));
    c.on('connect', () => c.write('hi'));
    c.on('data', (d) => (data += d));
    c.on('end', () => {
      if (done) return;
      done = true;
      const id = data.split(' ')[0];
      if (!id) { failures.push({ code: 'EMPTY', startMs: t0, endMs: now() }); settled(); resolve(); return; }
      const us = (now() - t0) * 1000;
      byTarget[k % targets.length].push(us);
      if (k % targets.length === 0) { latenciesUs.push(us); answers[id] = (answers[id] || 0) + 1; }
      settled();
      resolve();
    });
    c.on('error', (e) => fail(e.code || e.message));
  });
}
async function worker() { while (started < count && Date.now() < deadline) await one(started++); }
Promise.all(Array.from({ length: parallel }, worker)).then(() => {
  process.stdout.write(JSON.stringify({ answers, latenciesUs, byTarget, failures, attempted: started }) + '\\n');
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
  /** Server id → connections to the (first) target it answered. */
  readonly answers: Readonly<Record<string, number>>;
  /** Per successful connection to the (first) target, connect to close (µs). */
  readonly latenciesUs: readonly number[];
  /** The same latencies per target of {@link ClientOptions.also} (index 0: host:port). */
  readonly byTarget: readonly (readonly number[])[];
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
  /** Further targets, interleaved with host:port (connection i goes to target i mod n); failures count for all. */
  readonly also?: readonly { readonly host: string; readonly port: number }[];
  /** Connections to make (over all targets), 1..100,000. */
  readonly count: number;
  /** Connections in flight at once (default 1). */
  readonly parallel?: number;
  /** Stop starting new connections after this long (default 20 s). */
  readonly timeoutMs?: number;
  /** Called with the number of connections finished (succeeded or failed), every 100. */
  readonly onProgress?: (finished: number) => void;
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
  const targets = [{ host: o.host, port: o.port }, ...(o.also ?? [])].map((t) => `${t.host},${t.port}`).join(' ');
  const child = startChild([process.execPath, '-e', CLIENT, targets, String(o.count), String(parallel), String(timeoutMs)], {
    netns: o.netns,
    ...(o.cgroup ? { cgroup: o.cgroup } : {}),
    timeoutMs: timeoutMs + 10_000,
    ...(o.onProgress ? { onStdout: progressParser(o.onProgress) } : {}),
  });
  const report = child.done.then((r) => {
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`client gave no report (exit ${r.code ?? r.signal}${r.timedOut ? ', timed out' : ''}): ${r.stderr.trim()}`);
    return JSON.parse(line) as ClientReport;
  });
  return { child, report };
}

/** Turns the client's stdout chunks into progress calls. */
function progressParser(onProgress: (finished: number) => void): (chunk: string) => void {
  let partial = '';
  return (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l.startsWith('progress ')) onProgress(Number(l.slice('progress '.length)));
  };
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
