/**
 * Where a `tsbpf` command reads and writes. A command never touches
 * `process.stdout`/`process.stderr`/`process.env` directly but asks `cliIo()`,
 * so `main()` can run in-process (tests, embedders) with its own writers, stdin
 * and environment while the real process gets the process's streams.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A text sink, such as `process.stdout` or a string collector. */
export interface CliWriter {
  write(text: string): unknown;
  /** True for a terminal: enables progress lines and colours. */
  readonly isTTY?: boolean;
}

/** The streams and environment of one CLI run. */
export interface CliIo {
  readonly stdout: CliWriter;
  readonly stderr: CliWriter;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
}

const current = new AsyncLocalStorage<CliIo>();

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** The io of the CLI run in progress (the process's streams outside of one). */
export function cliIo(): CliIo {
  return current.getStore() ?? processIo();
}

/** Runs `fn` (and everything it awaits) with `io` as the CLI's io. */
export function withCliIo<T>(io: CliIo, fn: () => T): T {
  return current.run(io, fn);
}

/** Whether `w` shows colours under `env` (NO_COLOR / FORCE_COLOR as commander reads them). */
export function writerHasColors(w: CliWriter, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR || env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return false;
  if (env.FORCE_COLOR || env.CLICOLOR_FORCE !== undefined) return true;
  const stream = w as CliWriter & { hasColors?: () => boolean };
  return Boolean(w.isTTY && stream.hasColors?.());
}
