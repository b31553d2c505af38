/**
 * The `tsbpf` command line. Each subcommand lives in its own file under
 * `cli/commands/` and registers itself on the program here. `main()` runs the
 * same way in the real process (bin/tsbpf.js) and in-process (tests): it writes
 * through the io it is given and returns the exit code instead of exiting.
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { formatCliError } from './errors.js';
import { commands } from './commands/index.js';
import { cliIo, processIo, withCliIo, writerHasColors, type CliIo } from './io.js';

/** The package manifest: `../package.json` from the sources, `../../package.json` from dist/. */
function readPackageJson(): { version: string } {
  const require = createRequire(import.meta.url);
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(candidate) as { name?: string; version: string };
      if (pkg.name === 'tsbpf') return pkg;
    } catch {
      // not at this level; try the next one up
    }
  }
  return { version: '0.0.0' };
}

const pkg = readPackageJson();

/**
 * Builds a fresh commander program with every subcommand attached, writing its
 * own output (help, usage errors) to `io`. A new one per run: commander keeps
 * parsed option values on the program, which must not leak between runs.
 */
export function createProgram(io: CliIo = cliIo()): Command {
  // commander's own default: the terminal's width, else 80.
  const columns = (w: CliIo['stdout']) => (w.isTTY ? (w as { columns?: number }).columns : undefined) ?? 80;
  const program = new Command('tsbpf')
    .description('TypeScript toolchain for eBPF: assemble, build, inspect, load and probe')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      getOutHelpWidth: () => columns(io.stdout),
      getErrHelpWidth: () => columns(io.stderr),
      getOutHasColors: () => writerHasColors(io.stdout, io.env),
      getErrHasColors: () => writerHasColors(io.stderr, io.env),
    });
  for (const register of commands) register(program);
  return program;
}

/** What `main()` may replace: the streams and environment, and the working directory. */
export interface MainOptions extends Partial<CliIo> {
  /**
   * Directory relative paths are resolved in. The process changes into it for
   * the run and back after (process-wide, so runs with a `cwd` must not
   * overlap, and worker threads cannot use it).
   */
  readonly cwd?: string;
}

/**
 * Runs the CLI on `argv` (as in `process.argv`) and returns the exit code;
 * reports typed errors without a stack trace. Output goes to `options`'s
 * writers, by default the process's streams.
 */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const { cwd, ...given } = options;
  const io: CliIo = { ...processIo(), ...given };
  return inDirectory(cwd, () => withCliIo(io, () => run(argv, io)));
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode;
    }
    io.stderr.write(`tsbpf: ${formatCliError(err)}\n`);
    return 1;
  }
}

/** Runs `fn` inside `dir` (when given) and changes back afterwards. */
async function inDirectory<T>(dir: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (dir === undefined) return fn();
  const home = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(home);
  }
}
