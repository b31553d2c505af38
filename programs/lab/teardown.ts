/**
 * Teardown that also runs on Ctrl-C: cleanups registered here run in reverse
 * order when the lab is disposed, and, if the process gets SIGINT/SIGTERM
 * first, every live teardown runs and the process exits with 128 + signal.
 */

const live = new Set<Teardown>();

function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\n${signal}: tearing the lab down\n`);
  for (const t of [...live].reverse()) t[Symbol.dispose]();
  process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
}

function watchSignals(on: boolean): void {
  for (const s of ['SIGINT', 'SIGTERM'] as const) {
    if (on) process.on(s, onSignal);
    else process.off(s, onSignal);
  }
}

/** A stack of cleanups, run newest first. */
export class Teardown implements Disposable {
  readonly #steps: { what: string; fn: () => void }[] = [];

  constructor() {
    if (live.size === 0) watchSignals(true);
    live.add(this);
  }

  /** Registers `fn` (described by `what` in failure reports). */
  add(what: string, fn: () => void): void {
    this.#steps.push({ what, fn });
  }

  /** Runs every registered step newest first, once; returns what failed (each step runs even if an earlier one threw). */
  run(): string[] {
    const failures: string[] = [];
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      try {
        step.fn();
      } catch (e) {
        failures.push(`${step.what}: ${(e as Error).message}`);
      }
    }
    if (live.delete(this) && live.size === 0) watchSignals(false);
    return failures;
  }

  [Symbol.dispose](): void {
    const failures = this.run();
    if (failures.length > 0) process.stderr.write(`lab teardown: ${failures.join('; ')}\n`);
  }
}
