/**
 * The worker threads of parallel helper probing, kept apart from the prober so
 * the CLI can start them before it imports the rest of loader/probe: a worker
 * boots (V8 isolate, koffi, libc binding) on another core while this thread is
 * still loading modules, and is ready when the helper matrix starts. It then
 * waits (Atomics.wait) for its jobs; see parallel.ts for the protocol.
 *
 * The worker is plain JavaScript (a string run with `eval: true`), so it works
 * the same from the TypeScript sources (tsx, vitest) and from dist/. Its log
 * line readers are log-lines.ts's functions, embedded as source; a test
 * checks that the parallel and sequential probes give identical reports.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { bpfSyscallNumber } from '../sys/ffi.js';
import { lastLogLine, logLineAt } from './log-lines.js';

/** Shared Int32 slots: jobs posted flag, next job index, finished-worker count, then one state per worker. */
export const Slot = { JOBS_READY: 0, NEXT_JOB: 1, FINISHED: 2, WORKER_STATE: 3 } as const;
/** Worker states: still booting, claimed by the worker, cancelled by the main thread (it finished first). */
export const WorkerState = { BOOTING: 0, RUNNING: 1, CANCELLED: 2 } as const;

// The log readers are the prober's own functions, as source text.
const WORKER_SOURCE = String.raw`
'use strict';
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { koffiPath, sysno, index, port } = workerData;
const st = new Int32Array(workerData.state);
const lineAt = ${logLineAt.toString()};
const lastLine = ${lastLogLine.toString()};
// Load koffi and bind libc while the main thread is still busy elsewhere.
let koffi, lib, syscall, close;
try {
  koffi = require(koffiPath);
  lib = koffi.load('libc.so.6');
  syscall = lib.func('long syscall(long number, ...)');
  close = lib.func('int close(int fd)');
} catch (err) {
  koffi = undefined;
  port.postMessage({ error: String((err && err.stack) || err) });
}
/* bound above */
function run() {
  if (!koffi) throw new Error('koffi unavailable in the worker');
  while (Atomics.load(st, 0) === 0) Atomics.wait(st, 0, 0);
  const { jobs, needles, license, cmd, layout, logBytes, logged } = receiveMessageOnPort(port).message;
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

/** Started worker threads and their channels; owned by one probe at a time. */
export class HelperWorkers {
  /** The shared slots (see {@link Slot}). */
  readonly state: Int32Array;
  readonly workers: Worker[] = [];
  /** This thread's end of each worker's channel. */
  readonly ports: MessagePort[] = [];
  /** Asynchronous worker errors ('error' events). */
  readonly errors: string[] = [];

  private constructor(readonly threads: number) {
    this.state = new Int32Array(new SharedArrayBuffer(4 * (Slot.WORKER_STATE + threads)));
    const koffiPath = createRequire(import.meta.url).resolve('koffi');
    for (let index = 0; index < threads; index++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { koffiPath, sysno: bpfSyscallNumber(), index, port: port2, state: this.state.buffer },
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

  /** Starts `threads` workers; undefined when threads < 1 or they cannot be started. */
  static spawn(threads: number): HelperWorkers | undefined {
    if (threads < 1) return undefined;
    try {
      return new HelperWorkers(threads);
    } catch {
      return undefined;
    }
  }

  /** Ends the workers (idle, waiting for jobs, or finished). */
  close(): void {
    Atomics.store(this.state, Slot.JOBS_READY, 1);
    Atomics.notify(this.state, Slot.JOBS_READY);
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
  }
}

let prestarted: HelperWorkers | undefined;

/**
 * Starts helper workers now (default: one per extra core) for the next probe to
 * use — for the CLI, before it imports the prober. Unused ones end at exit.
 */
export function prestartHelperWorkers(threads = availableParallelism() - 1): void {
  prestarted ??= HelperWorkers.spawn(threads);
}

/** Workers for a probe: the prestarted ones if their count fits, else new ones. */
export function takeHelperWorkers(threads: number): HelperWorkers | undefined {
  const ready = prestarted;
  prestarted = undefined;
  if (ready && ready.threads === threads) return ready;
  ready?.close();
  return HelperWorkers.spawn(threads);
}

/** Ends prestarted workers no probe took (e.g. the probe turned out to lack privileges). */
export function releasePrestartedWorkers(): void {
  prestarted?.close();
  prestarted = undefined;
}
