/**
 * `tsbpf build MODULE.ts [-o OUT.o] [--target NAME|host|PROFILE.json] [--explain] [--json]`:
 * loads a TypeScript module directly (through tsx; no compile step for the user)
 * and writes what `compile()` (dsl/compile) makes of it for the target: every
 * exported program built, fitted to the profile (checks, automatic tail-call
 * splitting) and serialised as one ELF object. Same module + same target ⇒ the
 * same bytes.
 *
 * `--target host` uses `tsbpf-host-profile.json` in the current directory when
 * it exists (written by `tsbpf probe --profile`), else a profile derived from
 * `uname -r`; building never probes the kernel itself.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { buildModule, type CompileResult } from '../../dsl/compile/index.js';
import { formatFitReports } from '../../dsl/fit/index.js';
import { profileNames } from '../../dsl/kernel/index.js';
import { cliIo } from '../io.js';

/** Options of the command. */
interface BuildCliOptions {
  readonly output?: string;
  readonly target: string;
  readonly explain?: boolean;
  readonly json?: boolean;
  /** false with --no-typecheck. */
  readonly typecheck?: boolean;
}

/** The text `tsbpf build` prints for a compiled module written to `out`. */
export function buildSummary(module: string, out: string, built: CompileResult, opts: BuildCliOptions): string {
  if (opts.json) {
    const programs = built.reports.map((r) => ({ ...r, sourceLoops: built.sourceLoops[r.program] ?? 0, loopsUnrolled: !built.profile.boundedLoops }));
    const report = { module, output: out, target: built.profile.name, bytes: built.elf.length, programs };
    return `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
  }
  if (opts.explain)
    return `${formatFitReports(built.reports, { loops: built.sourceLoops, unrolled: !built.profile.boundedLoops })}\nwrote ${out} (${built.elf.length} bytes)\n`;
  const pieces = built.object.programs.length;
  return `wrote ${out}: ${built.reports.length} program(s)${pieces !== built.reports.length ? ` in ${pieces} pieces` : ''} for target ${built.profile.name}\n`;
}

/** Registers `tsbpf build`. */
export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build the BPF programs a TypeScript module exports into an ELF object for a target kernel')
    .argument('<module>', 'TypeScript module exporting programs (DSL declarations, ObjectSpecs or assembler programs)')
    .option('-o, --output <file>', 'object file to write (default: MODULE name with .o, in the current directory)')
    .option('-t, --target <target>', `target kernel: ${profileNames().join(', ')}, host, or a profile JSON file`, 'latest')
    .option('--explain', 'print per program: target, instruction count vs limit, loops, split report')
    .option('--json', 'print the build report as JSON')
    .option('--no-typecheck', 'skip type-checking the module with the TypeScript compiler')
    .action(async (module: string, opts: BuildCliOptions) => {
      if (opts.typecheck !== false) await (await import('../typecheck.js')).typecheckModule(module);
      const built = await buildModule(module, { target: opts.target });
      const out = opts.output ?? `${basename(module, extname(module))}.o`;
      writeFileSync(out, built.elf);
      cliIo().stdout.write(buildSummary(module, out, built, opts));
    });
}
