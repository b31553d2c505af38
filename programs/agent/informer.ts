/**
 * One resource kept in sync with the API server: the client library's
 * `ListWatch` (list, then watch from the list's resourceVersion; on 410 Gone a
 * re-list whose missing objects come out as deletes) made to survive what the
 * library leaves to its caller:
 *  - any watch or list error stops a `ListWatch`: here it is restarted with
 *    exponential backoff and jitter, resuming from the last resourceVersion
 *    (an expired one gets a 410 and so a re-list);
 *  - an `ERROR` event inside a watch stream ends that watch at once (the
 *    library only notes a 410 and waits for the server to close);
 *  - watches ask for bookmarks and a server-side timeout, and a watch that has
 *    been silent for longer than that timeout is treated as dead and re-opened.
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';

/** What an informer reports. Callbacks run on the event loop in the order the changes happened. */
export interface InformerHandlers<T> {
  /** An object appeared or changed. */
  upsert(obj: T): void;
  /** An object is gone (a DELETED event, or missing from a re-list). */
  delete(obj: T): void;
  /** A full list was applied: the cache now equals the server's state (initial list and every re-list). */
  listed?(count: number): void;
  /** The informer failed and restarts after `delayMs`. */
  failed?(err: unknown, attempt: number, delayMs: number): void;
}

/** Tuning of the restart behaviour. */
export interface InformerOptions<T extends KubernetesObject> {
  readonly config: KubeConfig;
  /** Watch path, e.g. `/api/v1/services`. */
  readonly path: string;
  /** Lists all objects of the resource (the client's typed list call). */
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly handlers: InformerHandlers<T>;
  /** First restart delay (default 250 ms); doubles per failure up to `maxBackoffMs`. */
  readonly initialBackoffMs?: number;
  /** Longest restart delay (default 30 s). */
  readonly maxBackoffMs?: number;
  /** Server-side watch timeout asked for (default 300 s; the server closes, we re-watch). */
  readonly watchTimeoutSeconds?: number;
  /** A watch with no event (bookmarks included) for this long is re-opened (default timeout + 30 s). */
  readonly idleTimeoutMs?: number;
}

/** Counters of one informer, for metrics and tests. */
export interface InformerStats {
  /** Completed lists (1 after start, +1 per re-list). */
  lists: number;
  /** Restarts after errors. */
  restarts: number;
  /** Watch events received (all types). */
  events: number;
  /** Last error, as text. */
  lastError?: string;
}

/** An error built from a watch `ERROR` event's Status object (code 410 for an expired resourceVersion). */
export class WatchStatusError extends Error {
  /** The Status code, read by `ListWatch` (410 → re-list). */
  readonly code: number | undefined;
  /** Same as `code`: `ListWatch` also looks here. */
  readonly statusCode: number | undefined;
  constructor(status: { code?: number; message?: string; reason?: string } | undefined) {
    super(`watch ERROR event: ${status?.code ?? '?'} ${status?.reason ?? ''} ${status?.message ?? ''}`.trim());
    this.code = status?.code;
    this.statusCode = status?.code;
  }
}

/**
 * A watch that ends itself on an `ERROR` event, asks for bookmarks and a
 * server timeout, and gives up on a silent connection.
 */
class ResilientWatch extends Watch {
  constructor(config: KubeConfig, private readonly timeoutSeconds: number, private readonly idleMs: number, private readonly onEvent: () => void) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    let finished = false;
    let controller: AbortController | undefined;
    let idle: NodeJS.Timeout | undefined;
    let lastEvent = performance.now();
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      controller?.abort();
      done(err);
    };
    // One timer per watch, re-armed from the time of the last event when it fires
    // (not re-created per event: at 1,000 events/s that is measurable).
    const check = (): void => {
      const quietMs = performance.now() - lastEvent;
      if (quietMs >= this.idleMs) finish(null);
      else {
        idle = setTimeout(check, this.idleMs - quietMs);
        idle.unref();
      }
    };
    const armIdle = (): void => {
      lastEvent = performance.now();
      if (idle === undefined) {
        idle = setTimeout(check, this.idleMs);
        idle.unref();
      }
    };
    const params = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds };
    controller = await super.watch(
      path,
      params,
      (phase, obj, raw) => {
        if (finished) return;
        this.onEvent();
        armIdle();
        callback(phase, obj, raw);
        if (phase === 'ERROR') finish(new WatchStatusError(obj));
      },
      finish,
    );
    if (finished) controller.abort();
    else armIdle();
    return controller;
  }
}

/** A resource informer that restarts itself; see the module comment. */
export class ResilientInformer<T extends KubernetesObject> {
  /** Counters since construction. */
  readonly stats: InformerStats = { lists: 0, restarts: 0, events: 0 };
  private readonly listWatch: ListWatch<T>;
  private stopped = true;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private firstList: { resolve: () => void; promise: Promise<void> };

  constructor(private readonly options: InformerOptions<T>) {
    const timeoutSeconds = options.watchTimeoutSeconds ?? 300;
    const watch = new ResilientWatch(options.config, timeoutSeconds, options.idleTimeoutMs ?? timeoutSeconds * 1000 + 30_000, () => {
      this.stats.events++;
      this.attempt = 0;
    });
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await options.list();
      // ListWatch applies the list synchronously once this promise settles;
      // setImmediate runs after that continuation, when the cache is complete.
      setImmediate(() => {
        if (this.stopped) return;
        this.stats.lists++;
        this.attempt = 0;
        options.handlers.listed?.(result.items.length);
        this.firstList.resolve();
      });
      return result;
    };
    this.listWatch = new ListWatch<T>(options.path, watch, list, false);
    this.listWatch.on('add', (o) => options.handlers.upsert(o));
    this.listWatch.on('update', (o) => options.handlers.upsert(o));
    this.listWatch.on('delete', (o) => options.handlers.delete(o));
    this.listWatch.on('error', (err) => this.failed(err));
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstList = { resolve, promise };
  }

  /** Whether at least one full list has been applied. */
  get synced(): boolean {
    return this.stats.lists > 0;
  }

  /** Starts listing and watching; resolves after the first complete list (retrying until then). */
  async start(): Promise<void> {
    this.stopped = false;
    void this.listWatch.start();
    await this.firstList.promise;
  }

  /** Stops watching (no restart); the cache is kept. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.listWatch.stop();
  }

  /** resourceVersion of the last list or event applied ('' before the first list). */
  get resourceVersion(): string {
    return this.listWatch.latestResourceVersion();
  }

  /** The cached objects. */
  list(): readonly T[] {
    return this.listWatch.list();
  }

  private failed(err: unknown): void {
    if (this.stopped) return; // aborting our own request on stop() reports an error too
    this.attempt++;
    this.stats.restarts++;
    this.stats.lastError = err instanceof Error ? err.message : String(err);
    const initial = this.options.initialBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.attempt - 1, 20));
    const delayMs = Math.round(base * (0.5 + Math.random() / 2));
    this.options.handlers.failed?.(err, this.attempt, delayMs);
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      if (!this.stopped) void this.listWatch.start();
    }, delayMs);
  }
}
