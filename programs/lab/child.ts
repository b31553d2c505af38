/**
 * Bounded child processes, optionally inside a namespace and a cgroup. Each
 * child has a hard time limit after which it is killed by its PID (SIGKILL);
 * nothing is ever killed by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { LabError } from './errors.js';

/** Where and how long a child runs. */
export interface ChildOptions {
  /** Namespace to run in (`ip netns exec`). */
  readonly netns?: string;
  /** cgroup v2 directory the child joins before it runs the command (so only it and its descendants are in it). */
  readonly cgroup?: string;
  /** Hard limit; the child is killed by PID after this long (default 10 s). */
  readonly timeoutMs?: number;
  /** Sees stdout as it arrives. */
  readonly onStdout?: (chunk: string) => void;
}

/** How a child ended. */
export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the time limit killed it. */
  readonly timedOut: boolean;
}

/** A running child: `done` resolves when it exits; `stop()` kills it by PID. */
export interface LabChild {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly done: Promise<ChildResult>;
  /** Sends `signal` (default SIGTERM) to the child's PID if it is still running. */
  stop(signal?: NodeJS.Signals): void;
}

/** The argv that runs `argv` in the namespace and cgroup of `options`. */
export function wrappedArgv(argv: readonly string[], options: Pick<ChildOptions, 'netns' | 'cgroup'>): string[] {
  const inner = options.netns ? ['ip', 'netns', 'exec', options.netns, ...argv] : [...argv];
  if (!options.cgroup) return inner;
  // `$0` is the cgroup.procs file, "$@" the command: the shell joins the cgroup, then becomes the command.
  return ['sh', '-c', 'echo $$ > "$0" && exec "$@"', join(options.cgroup, 'cgroup.procs'), ...inner];
}

/** Starts `argv` as a bounded child. */
export function startChild(argv: readonly string[], options: ChildOptions = {}): LabChild {
  const full = wrappedArgv(argv, options);
  const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid === undefined) {
    child.on('error', () => undefined);
    throw new LabError('LAB_CHILD', `could not start \`${full.join(' ')}\``);
  }
  const pid = child.pid;
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const kill = (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Exited in between.
    }
  };
  const done = new Promise<ChildResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGKILL');
    }, options.timeoutMs ?? 10_000);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      options.onStdout?.(c);
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new LabError('LAB_CHILD', `\`${full.join(' ')}\`: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
  return { process: child, pid, done, stop: (signal = 'SIGTERM') => kill(signal) };
}

/** Runs `argv` as a bounded child to completion; a non-zero exit or a timeout is a `LAB_CHILD` error with its stderr. */
export async function runChild(argv: readonly string[], options: ChildOptions = {}): Promise<ChildResult> {
  const r = await startChild(argv, options).done;
  if (r.timedOut) throw new LabError('LAB_CHILD', `\`${argv.join(' ')}\` overran its ${options.timeoutMs ?? 10_000} ms limit and was killed; stderr: ${r.stderr.trim()}`);
  if (r.code !== 0) throw new LabError('LAB_CHILD', `\`${argv.join(' ')}\` exited with ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  return r;
}

/**
 * Starts a server child and waits until it prints a line containing `readyMark`
 * (default `ready`); a child that exits or stays silent for `readyTimeoutMs`
 * (default 5 s) is killed and reported.
 */
export async function startServer(argv: readonly string[], options: ChildOptions & { readyMark?: string; readyTimeoutMs?: number } = {}): Promise<LabChild> {
  const mark = options.readyMark ?? 'ready';
  let seen = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  const child = startChild(argv, {
    ...options,
    onStdout: (c) => {
      seen += c;
      if (seen.includes(mark)) onReady();
      options.onStdout?.(c);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<'silent'>((r) => (timer = setTimeout(() => r('silent'), options.readyTimeoutMs ?? 5000)));
  const outcome = await Promise.race([ready.then(() => 'ready' as const), child.done.then(() => 'exited' as const), silent]);
  clearTimeout(timer);
  if (outcome === 'ready') return child;
  child.stop('SIGKILL');
  const r = await child.done;
  throw new LabError('LAB_CHILD', `server \`${argv.join(' ')}\` ${outcome === 'exited' ? `exited (${r.code ?? r.signal})` : 'never became ready'}: ${r.stderr.trim()}`);
}
