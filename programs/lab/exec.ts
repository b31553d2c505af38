/**
 * Running commands for the lab: on the host (only `ip netns`/`ip link … netns`
 * style commands that create or delete the lab's own objects) or inside one of
 * the lab's namespaces (`ip netns exec NS …`). Every command has a time limit.
 */
import { execFileSync } from 'node:child_process';
import { LabError } from './errors.js';

/** Options of {@link run}. */
export interface RunOptions {
  /** Bytes or text written to the command's stdin. */
  readonly input?: string | Uint8Array;
  /** Kill the command after this long (default 10 s). */
  readonly timeoutMs?: number;
}

/** Runs `argv` to completion and returns its stdout; a failure is a `LAB_COMMAND` error with its stderr. */
export function run(argv: readonly string[], options: RunOptions = {}): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), {
      encoding: 'utf8',
      input: options.input,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 10_000,
      maxBuffer: 1 << 28,
    });
  } catch (e) {
    const err = e as { stderr?: string; status?: number | null; signal?: string | null; code?: string; message: string };
    const timeoutMs = options.timeoutMs ?? 10_000;
    const why = err.code === 'ETIMEDOUT' ? `timed out after ${timeoutMs} ms and was killed` : err.stderr?.trim() || (err.signal ? `killed by ${err.signal}` : err.message);
    throw new LabError('LAB_COMMAND', `\`${shown(argv)}\` failed (status ${err.status ?? '?'}): ${why}`, { cause: e });
  }
}

/** Runs `ip ARGS…`. */
export function ip(...args: string[]): string {
  return run(['ip', ...args]);
}

/** Runs `argv` inside namespace `ns` and returns its stdout. */
export function nsRun(ns: string, argv: readonly string[], options: RunOptions = {}): string {
  return run(['ip', 'netns', 'exec', ns, ...argv], options);
}

/** A command line as text for messages (long inputs abbreviated). */
function shown(argv: readonly string[]): string {
  const text = argv.join(' ');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
