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
 * The workers themselves (plain JavaScript, startable early) are in workers.ts.
 */
import { availableParallelism } from 'node:os';
import { receiveMessageOnPort } from 'node:worker_threads';
import { Cmd } from '../sys/constants.js';
import type { ProbeContext } from './context.js';
import { helperFeature, helperLoadBase, LOG_BYTES, probeHelpersFor, REFUSAL_NEEDLES, type HelperOutcome, type LogStrategy } from './helpers.js';
import { helperCall } from './programs.js';
import { PROBE_LICENSE, PROG_LOAD_LAYOUT, progLoadTemplate } from './raw.js';
import type { Feature } from './result.js';
import { Slot, takeHelperWorkers, WorkerState, type HelperWorkers } from './workers.js';

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
  /** Worker errors, for diagnostics (answers are still complete). */
  readonly errors: string[] = [];
  /** Program types the workers answered in the last {@link HelperPool.probe} (the rest ran here). */
  answeredByWorkers = 0;

  private constructor(
    private readonly workers: HelperWorkers,
    private readonly strategy: LogStrategy,
  ) {}

  /** How many worker threads help this thread. */
  get threads(): number {
    return this.workers.threads;
  }

  /**
   * Takes `threads` workers (default: one per extra core; prestarted ones when
   * there are). Returns undefined when that is 0 or threads cannot be started:
   * the caller probes alone.
   *
   * Not reduced by the load average: measured on a busy 2-core machine (load
   * 2–3), a worker still cut the wall time by ~20% — with more runnable threads
   * the probe gets a larger share of the CPUs — at the price of ~50% more CPU.
   */
  static start(strategy: LogStrategy, threads = availableParallelism() - 1): HelperPool | undefined {
    const workers = takeHelperWorkers(threads);
    return workers && new HelperPool(workers, strategy);
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
    const st = this.workers.state;
    const message = {
      jobs,
      needles: REFUSAL_NEEDLES,
      license: PROBE_LICENSE,
      cmd: Cmd.PROG_LOAD,
      layout: PROG_LOAD_LAYOUT,
      logBytes: LOG_BYTES,
      logged: this.strategy === 'always',
    };
    for (const port of this.workers.ports) port.postMessage(message);
    Atomics.store(st, Slot.JOBS_READY, 1);
    Atomics.notify(st, Slot.JOBS_READY);
    const byIndex: (Record<string, Feature> | undefined)[] = new Array(types.length);
    this.answeredByWorkers = 0;
    for (;;) {
      const k = Atomics.add(st, Slot.NEXT_JOB, 1);
      if (k >= types.length) break;
      onProgress?.(k, types.length, types[k]!);
      byIndex[k] = probeHelpersFor(ctx, types[k]!, this.strategy);
    }
    // Workers that never got going are cancelled; the others finish what they claimed.
    let expected = 0;
    for (let w = 0; w < this.threads; w++) if (Atomics.compareExchange(st, Slot.WORKER_STATE + w, WorkerState.BOOTING, WorkerState.CANCELLED) !== WorkerState.BOOTING) expected++;
    // A worker stuck for a minute is given up on: its jobs are probed here below.
    const deadline = Date.now() + 60_000;
    for (let seen = Atomics.load(st, Slot.FINISHED); seen < expected && Date.now() < deadline; seen = Atomics.load(st, Slot.FINISHED))
      Atomics.wait(st, Slot.FINISHED, seen, 1000);
    for (const port of this.workers.ports)
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        const msg = m.message as JobAnswer | { error: string };
        if ('error' in msg) this.errors.push(msg.error);
        else {
          byIndex[msg.k] = this.answer(ctx, msg);
          this.answeredByWorkers++;
        }
      }
    this.errors.push(...this.workers.errors);
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
    this.workers.close();
  }
}
