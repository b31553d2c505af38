/**
 * The `tsbpf` CLI run in this process: `main()` from cli/main.ts with captured
 * writers, so a test pays for one import of the CLI instead of a Node + tsx
 * start per command. What only the real process shows (the bin entry, its exit
 * status, signals, `npm start`) is tested by spawning it, in test/cli/process.test.ts.
 */
import { Readable } from 'node:stream';
import { main } from '../../cli/main.js';

/** What one CLI run produced. */
export interface CliResult {
  /** The exit code the process would have had. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where and with what the CLI runs. */
export interface RunCliOptions {
  /** Working directory for relative paths (the process changes into it for the run; forks pool only). */
  readonly cwd?: string;
  /** Environment the CLI sees (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Text on standard input (default: empty). */
  readonly stdin?: string;
}

/** Runs `tsbpf ARGS…` in-process and returns its exit code and output. */
export async function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'tsbpf', ...args], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    env: options.env ?? process.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  return { code, stdout, stderr };
}
