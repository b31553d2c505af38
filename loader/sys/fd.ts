/**
 * File-descriptor ownership. Every fd the loader obtains is wrapped in an `Fd`
 * at once; objects (maps, programs, links, BTF) own one and close it exactly
 * once. `FdScope` collects closeables so a whole load can be undone.
 */
import { LoaderError } from '../errors.js';
import { closeFd } from './ffi.js';

/** Anything that releases kernel resources. */
export interface Closeable {
  close(): void;
}

// Optional safety net: warn (never close — the number may be reused by then)
// when an Fd is garbage-collected while still open.
const leakWarning = new FinalizationRegistry<{ fd: number; what: string }>(({ fd, what }) => {
  if (process.env.TSBPF_WARN_FD_LEAKS) process.emitWarning(`tsbpf: ${what} (fd ${fd}) was garbage-collected without close()`, 'TsbpfFdLeak');
});

/** An owned file descriptor. `close()` is idempotent. */
export class Fd implements Closeable, Disposable {
  #fd: number;
  readonly #token = {};

  constructor(
    fd: number,
    /** What this fd is, for messages (`map "conntrack"`). */
    readonly what = 'bpf object',
  ) {
    if (!Number.isInteger(fd) || fd < 0) throw new LoaderError('LOADER_BAD_FD', `invalid file descriptor ${fd} for ${what}`);
    this.#fd = fd;
    leakWarning.register(this, { fd, what }, this.#token);
  }

  /** The raw number; throws once closed, so a stale number is never passed to the kernel. */
  get value(): number {
    if (this.#fd < 0) throw new LoaderError('LOADER_CLOSED', `${this.what} is closed`);
    return this.#fd;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Closes the descriptor; later calls do nothing. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    leakWarning.unregister(this.#token);
    closeFd(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return this.#fd < 0 ? `Fd(closed ${this.what})` : `Fd(${this.#fd} ${this.what})`;
  }
}

/**
 * Closes everything added to it, newest first (so programs go before the maps
 * they use). Double close is safe. Errors from individual closes are collected
 * and rethrown together after all were attempted.
 */
export class FdScope implements Closeable, Disposable {
  #items: Closeable[] = [];
  #closed = false;

  /** Registers `item` and returns it, for `const m = scope.add(BpfMap.create(…))`. */
  add<T extends Closeable>(item: T): T {
    if (this.#closed) {
      item.close();
      throw new LoaderError('LOADER_CLOSED', 'FdScope is already closed');
    }
    this.#items.push(item);
    return item;
  }

  /** Stops tracking `item` (its ownership moves elsewhere); returns it. */
  release<T extends Closeable>(item: T): T {
    const i = this.#items.lastIndexOf(item);
    if (i >= 0) this.#items.splice(i, 1);
    return item;
  }

  /** How many objects the scope still owns. */
  get size(): number {
    return this.#items.length;
  }

  close(): void {
    this.#closed = true;
    const errors: unknown[] = [];
    while (this.#items.length) {
      const item = this.#items.pop()!;
      try {
        item.close();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several objects failed to close');
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
