/**
 * Helper probing on every core. The (program type × helper) matrix is thousands
 * of BPF_PROG_LOADs and nearly all of the probe's time is the verifier, which
 * runs on the calling thread's CPU — so worker threads, each with its own koffi
 * binding and its own attr/insn/log buffers, take program types from a shared
 * counter alongside the main thread.
 *
 * Everything stays synchronous (probeKernel() is a sync API): workers are started
 * early (they boot while the main thread probes the other sections), get their
 * jobs through a MessagePort read with `receiveMessageOnPort`, and the main thread
 * waits on an Atomics counter. A worker that fails to start or dies leaves its
 * jobs unclaimed or unanswered, and the main thread probes those itself, so a
 * broken worker costs time, never answers.
 *
 * The worker is plain JavaScript (a string run with `eval: true`), so it works
 * the same from the TypeScript sources (tsx, vitest) and from dist/. Its log
 * classification mirrors ProbeSyscalls.logIndexOf/logLineAt/lastLogLine; a test
 * checks that the parallel and sequential probes give identical reports.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { bpfSyscallNumber } from '../sys/ffi.js';
import { Cmd } from '../sys/constants.js';
import type { ProbeContext } from './context.js';
import { helperFeature, helperLoadBase, LOG_BYTES, probeHelpersFor, REFUSAL_NEEDLES, type HelperOutcome, type LogStrategy } from './helpers.js';
import { helperCall } from './programs.js';
import { PROBE_LICENSE, PROG_LOAD_LAYOUT, progLoadTemplate } from './raw.js';
import type { Feature } from './result.js';

/** Shared Int32 slots: jobs posted flag, next job index, finished-worker count, then one state per worker. */
const JOBS_READY = 0;
const NEXT_JOB = 1;
const FINISHED = 2;
const WORKER_STATE = 3;
/** Worker states: still booting, claimed by the worker, cancelled by the main thread (it finished first). */
const BOOTING = 0;
const CANCELLED = 2;

const WORKER_SOURCE = String.raw`
'use strict';
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { koffiPath, sysno, cmd, layout, logBytes, logged, index, port } = workerData;
const st = new Int32Array(workerData.state);
function lineAt(buf, at) {
  let end = buf.indexOf(10, at);
  const nul = buf.indexOf(0, at);
  if (end < 0 || (nul >= 0 && nul < end)) end = nul < 0 ? buf.length : nul;
  const start = buf.lastIndexOf(10, at) + 1;
  return buf.toString('utf8', start, end);
}
function lastLine(buf) {
  let end = buf.indexOf(0);
  if (end < 0) end = buf.length;
  while (end > 0) {
    while (end > 0 && (buf[end - 1] === 10 || buf[end - 1] === 32)) end--;
    if (end === 0) break;
    const start = buf.lastIndexOf(10, end - 1) + 1;
    const line = buf.toString('utf8', start, end).trim();
    if (line && !line.startsWith('processed ') && !line.startsWith('verification time')) return line;
    end = start;
  }
  return '';
}
function run() {
  const koffi = require(koffiPath);
  const lib = koffi.load('libc.so.6');
  const syscall = lib.func('long syscall(long number, ...)');
  const close = lib.func('int close(int fd)');
  while (Atomics.load(st, 0) === 0) Atomics.wait(st, 0, 0);
  const { jobs, needles, license } = receiveMessageOnPort(port).message;
  const lic = Buffer.from(license);
  const log = Buffer.alloc(logBytes);
  const licAddr = koffi.address(lic);
  const logAddr = koffi.address(log);
  const needleBufs = needles.map((n) => Buffer.from(n));
  for (;;) {
    const k = Atomics.add(st, 1, 1);
    if (k >= jobs.length) break;
    const job = jobs[k];
    const attr = Buffer.from(job.attr);
    const insns = Buffer.from(job.insns);
    attr.writeBigUInt64LE(koffi.address(insns), layout.insns);
    attr.writeBigUInt64LE(licAddr, layout.license);
    const setLog = (on) => {
      attr.writeUInt32LE(on ? 1 : 0, layout.logLevel);
      attr.writeUInt32LE(on ? logBytes : 0, layout.logSize);
      attr.writeBigUInt64LE(on ? logAddr : 0n, layout.logBuf);
    };
    const load = () => {
      log[0] = 0;
      const r = Number(syscall(sysno, 'int', cmd, 'void *', attr, 'unsigned int', attr.byteLength));
      return r >= 0 ? r : -koffi.errno();
    };
    setLog(logged);
    const ids = job.ids;
    const outcome = new Int32Array(ids.length * 2);
    const lines = new Array(ids.length).fill('');
    for (let h = 0; h < ids.length; h++) {
      insns.writeInt32LE(ids[h], job.immOffset);
      let r = load();
      if (r < 0 && !logged) {
        setLog(true);
        r = load();
        setLog(false);
      }
      if (r >= 0) {
        close(r);
        continue;
      }
      outcome[2 * h + 1] = -r;
      if (-r === 1) {
        outcome[2 * h] = 1;
        continue;
      }
      const nul = log.indexOf(0);
      let refused = -1;
      for (const n of needleBufs) {
        const at = log.indexOf(n);
        if (at >= 0 && !(nul >= 0 && nul < at)) {
          refused = at;
          break;
        }
      }
      if (refused >= 0) {
        outcome[2 * h] = 2;
        lines[h] = lineAt(log, refused).trim();
      } else {
        outcome[2 * h] = 3;
        lines[h] = lastLine(log);
      }
    }
    port.postMessage({ k, outcome, lines });
  }
}
// Claim this worker's slot first: if the main thread already cancelled it, do nothing.
const claimed = Atomics.compareExchange(st, 3 + index, 0, 1) === 0;
try {
  if (claimed) run();
} catch (err) {
  port.postMessage({ error: String((err && err.stack) || err) });
} finally {
  if (claimed) {
    Atomics.add(st, 2, 1);
    Atomics.notify(st, 2);
  }
}
`;

/** One program type's share of the matrix, as a worker receives it. */
interface Job {
  readonly attr: Uint8Array;
  readonly insns: Uint8Array;
  readonly immOffset: number;
  readonly ids: Int32Array;
}

/** A worker's answer for one job. */
interface JobAnswer {
  readonly k: number;
  readonly outcome: Int32Array;
  readonly lines: string[];
}

/** Workers started for one probe; {@link HelperPool.close} ends them. */
export class HelperPool {
  private readonly state: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  /** Worker errors, for diagnostics (answers are still complete). */
  readonly errors: string[] = [];
  /** Program types the workers answered in the last {@link HelperPool.probe} (the rest ran here). */
  answeredByWorkers = 0;

  private constructor(
    readonly threads: number,
    private readonly strategy: LogStrategy,
  ) {
    this.state = new Int32Array(new SharedArrayBuffer(4 * (WORKER_STATE + threads)));
    const koffiPath = createRequire(import.meta.url).resolve('koffi');
    for (let index = 0; index < threads; index++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          koffiPath,
          sysno: bpfSyscallNumber(),
          cmd: Cmd.PROG_LOAD,
          layout: PROG_LOAD_LAYOUT,
          logBytes: LOG_BYTES,
          logged: strategy === 'always',
          index,
          port: port2,
          state: this.state.buffer,
        },
        transferList: [port2],
        stdout: false,
        stderr: false,
      });
      worker.unref();
      // An asynchronous error event would otherwise be thrown on the event loop.
      worker.on('error', (e) => this.errors.push(String(e)));
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /**
   * Starts `threads` workers (default: one per extra core). Returns undefined when
   * that is 0 or threads cannot be started: the caller probes alone.
   *
   * Not reduced by the load average: measured on a busy 2-core machine (load
   * 2–3), a worker still cut the wall time by ~20% — with more runnable threads
   * the probe gets a larger share of the CPUs — at the price of ~50% more CPU.
   */
  static start(strategy: LogStrategy, threads = availableParallelism() - 1): HelperPool | undefined {
    if (threads < 1) return undefined;
    try {
      return new HelperPool(threads, strategy);
    } catch {
      return undefined;
    }
  }

  /** Helper support of every given program type, shared between the workers and this thread. */
  probe(
    ctx: ProbeContext,
    types: readonly string[],
    onProgress?: (done: number, total: number, progType: string) => void,
  ): Record<string, Record<string, Feature>> {
    const insns = helperCall(0);
    const ids = Int32Array.from(ctx.catalog.helpers, (h) => h.value);
    const jobs: Job[] = types.map((t) => ({ attr: progLoadTemplate({ ...helperLoadBase(ctx, t), insns }), insns, immOffset: 4, ids }));
    const st = this.state;
    for (const port of this.ports) port.postMessage({ jobs, needles: REFUSAL_NEEDLES, license: PROBE_LICENSE });
    Atomics.store(st, JOBS_READY, 1);
    Atomics.notify(st, JOBS_READY);
    const byIndex: (Record<string, Feature> | undefined)[] = new Array(types.length);
    this.answeredByWorkers = 0;
    for (;;) {
      const k = Atomics.add(st, NEXT_JOB, 1);
      if (k >= types.length) break;
      onProgress?.(k, types.length, types[k]!);
      byIndex[k] = probeHelpersFor(ctx, types[k]!, this.strategy);
    }
    // Workers that never got going are cancelled; the others finish what they claimed.
    let expected = 0;
    for (let w = 0; w < this.threads; w++) if (Atomics.compareExchange(st, WORKER_STATE + w, BOOTING, CANCELLED) !== BOOTING) expected++;
    // A worker stuck for a minute is given up on: its jobs are probed here below.
    const deadline = Date.now() + 60_000;
    for (let seen = Atomics.load(st, FINISHED); seen < expected && Date.now() < deadline; seen = Atomics.load(st, FINISHED))
      Atomics.wait(st, FINISHED, seen, 1000);
    for (const port of this.ports)
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const msg = m.message as JobAnswer | { error: string };
        if ('error' in msg) this.errors.push(msg.error);
        else {
          byIndex[msg.k] = this.answer(ctx, msg);
          this.answeredByWorkers++;
        }
      }
    const out: Record<string, Record<string, Feature>> = {};
    types.forEach((t, k) => {
      out[t] = byIndex[k] ?? probeHelpersFor(ctx, t, this.strategy);
    });
    onProgress?.(types.length, types.length, '');
    return out;
  }

  private answer(ctx: ProbeContext, msg: JobAnswer): Record<string, Feature> {
    const out: Record<string, Feature> = {};
    ctx.catalog.helpers.forEach(({ name }, h) => {
      out[name] = helperFeature(msg.outcome[2 * h] as HelperOutcome, msg.outcome[2 * h + 1]!, msg.lines[h]!);
    });
    return out;
  }

  /** Ends the workers (they are idle or finished by now). */
  close(): void {
    Atomics.store(this.state, JOBS_READY, 1);
    Atomics.notify(this.state, JOBS_READY);
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
  }
}
