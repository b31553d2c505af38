/**
 * `tsbpf probe [kernel] [--json | --ts | --profile] [--full] [--only SECTION]`:
 * what the running kernel supports, asked of the kernel itself.
 */
import type { Command } from 'commander';
import { TsbpfError } from '../../dsl/errors.js';
import { SECTIONS, type ProbeReport, type SectionName } from '../../loader/probe/result.js';
import { cliIo } from '../io.js';

/** Options of `tsbpf probe`. */
export interface ProbeCliOptions {
  readonly json?: boolean;
  readonly ts?: boolean;
  readonly profile?: boolean;
  readonly full?: boolean;
  readonly only?: string[];
  /** Ask the kernel again, ignoring (and then rewriting) the boot cache. */
  readonly fresh?: boolean;
  /** commander's `--no-cache`: neither read nor write the boot cache. */
  readonly cache?: boolean;
}

/** Parses `--only a,b --only c` into section names; throws on an unknown one. */
export function parseSections(only: readonly string[] | undefined): SectionName[] | undefined {
  if (!only?.length) return undefined;
  const names = only.flatMap((o) => o.split(',')).map((s) => s.trim().replace(/-/g, '_')).filter(Boolean);
  for (const n of names)
    if (!(SECTIONS as readonly string[]).includes(n))
      throw new TsbpfError('PROBE_BAD_SECTION', `unknown section '${n}' for --only (one of: ${SECTIONS.join(', ')})`);
  return names as SectionName[];
}

/**
 * Runs the probe and renders it as the options ask: the text to print and the
 * report's notes. The prober (koffi, bpf()) is imported only here, so other
 * subcommands do not pay for loading it.
 */
export async function runProbe(opts: ProbeCliOptions, tty: { stdout: boolean; stderr: boolean }): Promise<{ text: string; notes: readonly string[] }> {
  const modes = [opts.json, opts.ts, opts.profile].filter(Boolean).length;
  if (modes > 1) throw new TsbpfError('PROBE_BAD_OPTIONS', 'choose one of --json, --ts, --profile');
  const sections = opts.profile ? undefined : parseSections(opts.only);
  // Helper workers boot on the other cores while this thread imports the prober —
  // unless the answers are likely in the boot cache (a wrong guess only means the
  // workers start later, from the prober).
  const workers = await import('../../loader/probe/workers.js');
  const cached = opts.cache !== false && !opts.fresh && (await import('../../loader/probe/boot-cache.js')).bootCacheHasEntries();
  if ((!sections || sections.includes('helpers')) && !cached) workers.prestartHelperWorkers();
  try {
    return await probeAndRender(opts, sections, tty);
  } finally {
    workers.releasePrestartedWorkers();
  }
}

async function probeAndRender(
  opts: ProbeCliOptions,
  sections: SectionName[] | undefined,
  tty: { stdout: boolean; stderr: boolean },
): Promise<{ text: string; notes: readonly string[] }> {
  const { probeKernel, toTargetProfile } = await import('../../loader/probe/index.js');
  const { formatText, formatTs } = await import('../../loader/probe/format.js');
  const progress = tty.stderr
    ? (section: SectionName, done?: number, total?: number) => {
        const tail = total ? ` ${done}/${total} program types` : '';
        cliIo().stderr.write(`\r\x1b[Kprobing ${section.replace(/_/g, ' ')}…${tail}`);
      }
    : undefined;
  let report: ProbeReport;
  try {
    report = probeKernel({ sections, onProgress: progress, fresh: opts.fresh, bootCache: opts.cache });
  } finally {
    if (progress) cliIo().stderr.write('\r\x1b[K');
  }
  const notes = report.notes ?? [];
  if (opts.profile) return { text: `${JSON.stringify(toTargetProfile(report), null, 2)}\n`, notes };
  if (opts.json) return { text: `${JSON.stringify(report, null, 2)}\n`, notes };
  if (opts.ts) return { text: formatTs(report), notes };
  return { text: formatText(report, { color: tty.stdout, full: opts.full }), notes: [] };
}

/** Registers `tsbpf probe`. */
export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description('probe the running kernel for BPF features (program/map/attach/link types, helpers, limits, BTF, kfuncs)')
    .argument('[target]', "what to probe: 'kernel' (the only target)", 'kernel')
    .option('--json', 'machine-readable report (schema tsbpf-probe/1)')
    .option('--ts', 'a TypeScript module of constants')
    .option('--profile', 'the target profile JSON that `tsbpf build --target host` reads')
    .option('--full', 'list every helper per program type and every reason')
    .option('--only <sections...>', `probe only these sections (${SECTIONS.join(', ')})`)
    .option('--fresh', 'ask the kernel again instead of reusing answers from earlier in this boot (rewrites the boot cache)')
    .option('--no-cache', 'neither read nor write the boot cache ($TSBPF_PROBE_CACHE=off does the same everywhere)')
    .action(async (target: string, opts: ProbeCliOptions) => {
      if (target !== 'kernel') throw new TsbpfError('PROBE_BAD_TARGET', `unknown probe target '${target}' (only 'kernel')`);
      const { text, notes } = await runProbe(opts, { stdout: Boolean(cliIo().stdout.isTTY), stderr: Boolean(cliIo().stderr.isTTY) });
      cliIo().stdout.write(text);
      // Machine-readable output keeps its notes inside; say it on stderr too so a human sees it.
      for (const n of notes) cliIo().stderr.write(`tsbpf probe: ${n}\n`);
    });
}
