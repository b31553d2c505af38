/**
 * The `tsbpf` command line. Each subcommand lives in its own file under
 * `cli/commands/` and registers itself on the program here.
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { formatCliError } from './errors.js';
import { commands } from './commands/index.js';

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

/** Builds the commander program with every subcommand attached. */
export function createProgram(): Command {
  const program = new Command('tsbpf')
    .description('TypeScript toolchain for eBPF: assemble, build, inspect, load and probe')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI on `argv` (as in `process.argv`); reports every error as one line (cli/errors.ts), never a stack trace. */
export async function main(argv: string[]): Promise<void> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`tsbpf: ${formatCliError(err)}\n`);
    process.exitCode = 1;
  }
}
