/**
 * Turns a stream of store changes into few, small datapath updates. Changes
 * mark service keys dirty; the first change of a burst opens a short window
 * (`debounceMs`) in which further changes join it, then one `apply` programs
 * the latest state of exactly the dirty services. Nothing is programmed before
 * both informers have listed (`begin()`): a restarted agent keeps serving from
 * its pinned maps until it knows the whole desired state, then one full sync
 * removes what disappeared while it was away. A failed apply is retried for
 * the same keys (the programmer applies only differences, so that is safe).
 */
import type { ProgramResult, ServiceProgrammer } from './programmer.js';
import type { ServiceState, ServiceStore, StoreChange } from './store.js';

/** What one sync did, for logs and metrics. */
export interface SyncReport {
  /** The first sync after start: every service, stale ones removed. */
  readonly full: boolean;
  /** Services programmed. */
  readonly services: number;
  readonly result: ProgramResult;
  /** Time spent in the programmer. */
  readonly durationMs: number;
  /** Per change that went into this sync: time from the informer event to programmed. */
  readonly eventLatenciesMs: readonly number[];
  /** Per EndpointSlice change with a trigger-time annotation: time from the trigger to programmed. */
  readonly triggerLatenciesMs: readonly number[];
}

/** Options of {@link SyncLoop}. */
export interface SyncLoopOptions {
  readonly store: ServiceStore;
  readonly programmer: ServiceProgrammer;
  /** Coalescing window after the first change of a burst (default 1 ms). */
  readonly debounceMs?: number;
  /** Delay before retrying a failed apply (default 1 s). */
  readonly retryMs?: number;
  readonly onSync?: (report: SyncReport) => void;
  readonly onError?: (err: unknown, services: number) => void;
  /** Clock in ms (default `performance.timeOrigin + performance.now()`, comparable with wall-clock trigger times). */
  readonly now?: () => number;
}

/** The agent's sync loop; see the module comment. */
export class SyncLoop {
  private readonly dirty = new Map<string, number>();
  private triggers: number[] = [];
  private started = false;
  private fullPending = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private waiters: Array<() => void> = [];
  private closed = false;
  private readonly now: () => number;
  /** Syncs completed. */
  syncs = 0;
  /** Applies that threw. */
  failures = 0;

  constructor(private readonly options: SyncLoopOptions) {
    this.now = options.now ?? (() => performance.timeOrigin + performance.now());
  }

  /** Records a store change (call after applying it to the store). */
  changed(change: StoreChange): void {
    if (this.closed) return;
    const at = this.now();
    for (const key of change.keys) if (!this.dirty.has(key)) this.dirty.set(key, at);
    if (change.triggeredAt !== undefined) this.triggers.push(change.triggeredAt);
    this.schedule(this.options.debounceMs ?? 1);
  }

  /** Both informers have listed: program everything once (full), then follow changes. */
  begin(): void {
    if (this.started) return;
    this.started = true;
    this.fullPending = true;
    this.schedule(0);
  }

  /** Whether the first full sync has completed. */
  get programmed(): boolean {
    return this.started && !this.fullPending && this.syncs > 0;
  }

  /** How long the oldest change not yet programmed has waited (0 when none). */
  pendingForMs(): number {
    let oldest = Infinity;
    for (const at of this.dirty.values()) oldest = Math.min(oldest, at);
    return oldest === Infinity ? 0 : Math.max(0, this.now() - oldest);
  }

  /** Resolves when no change is waiting and no sync is running (after `begin()`). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops scheduling syncs; a running one finishes. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private isIdle(): boolean {
    return this.started && !this.running && !this.fullPending && this.dirty.size === 0;
  }

  private schedule(delayMs: number): void {
    if (!this.started || this.running || this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delayMs);
  }

  private async run(): Promise<void> {
    if (this.running || this.closed) return;
    const full = this.fullPending;
    const { store, programmer } = this.options;
    const taken = new Map(this.dirty);
    const triggers = this.triggers;
    this.dirty.clear();
    this.triggers = [];
    const changes = new Map<string, ServiceState | undefined>();
    if (full) for (const state of store.allStates()) changes.set(state.key, state);
    for (const key of taken.keys()) if (!changes.has(key)) changes.set(key, store.state(key));
    this.running = true;
    const t0 = performance.now();
    try {
      const result = await programmer.apply(changes, full);
      const durationMs = performance.now() - t0;
      const done = this.now();
      this.fullPending = false;
      this.syncs++;
      this.options.onSync?.({
        full,
        services: changes.size,
        result,
        durationMs,
        eventLatenciesMs: [...taken.values()].map((at) => done - at),
        triggerLatenciesMs: triggers.map((at) => Math.max(0, done - at)),
      });
    } catch (err) {
      this.failures++;
      for (const [key, at] of taken) if (!this.dirty.has(key)) this.dirty.set(key, at);
      this.triggers.push(...triggers);
      this.options.onError?.(err, changes.size);
      this.running = false;
      if (!this.closed) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          void this.run();
        }, this.options.retryMs ?? 1000);
      }
      return;
    }
    this.running = false;
    if (this.dirty.size > 0) this.schedule(this.options.debounceMs ?? 1);
    else if (this.isIdle()) for (const w of this.waiters.splice(0)) w();
  }
}
