/**
 * Kernel feature probing: `probeKernel()` answers "what can this kernel do?" by
 * asking it (real loads, map creations, attach attempts against invalid targets),
 * never by version number. Results are cached per process, per section.
 */
import { createContext, type ProbeContext } from './context.js';
import type { LogStrategy } from './helpers.js';
import { loadableTypes, probeHelpers } from './helpers.js';
import { probeBtfKinds, probeKfuncs, probeMisc } from './misc.js';
import { SECTIONS, type Feature, type ProbeReport, type SectionName, type SystemInfo } from './result.js';
import { HelperPool } from './parallel.js';
import { probeSystem } from './system.js';
import { probeAttachTypes, probeLinkTypes, probeMapFlags, probeMapTypes, probeProgramTypes } from './types.js';

export * from './result.js';
export { classifyHelperFailure, REFUSAL_PHRASES } from './helpers.js';
export { parseProcessed, DATAPATH_KFUNCS } from './misc.js';
export { toTargetProfile, loadHostProfile, ProfileError, HOST_PROFILE_FILE } from './profile.js';
export { formatText, formatTs, type TextOptions } from './format.js';
export type { LogStrategy } from './helpers.js';

/** Options of {@link probeKernel}. */
export interface ProbeOptions {
  /** Sections to probe (default: all). Dependencies (program types for helpers) are probed as needed. */
  readonly sections?: readonly SectionName[];
  /** Verifier-log use in helper probing (default `always`: one logged load per pair). */
  readonly helperStrategy?: LogStrategy;
  /** Progress callback: section being probed; for helpers also done/total program types. */
  readonly onProgress?: (section: SectionName, done?: number, total?: number) => void;
  /**
   * Worker threads for helper probing, besides this thread (default: one per
   * extra core, `os.availableParallelism() - 1`; 0 probes on this thread only).
   */
  readonly threads?: number;
  /** Skip the per-process cache (benchmarks). */
  readonly fresh?: boolean;
  /** Kernel BTF to read type/helper names from (default /sys/kernel/btf/vmlinux); for tests. */
  readonly vmlinuxPath?: string;
}

type SectionValue = SystemInfo | Record<string, Feature> | Record<string, Record<string, Feature>>;
const cache = new Map<SectionName, SectionValue>();
let sharedContext: ProbeContext | undefined;

/** Sections that need bpf() with privileges. */
const KERNEL_SECTIONS: readonly SectionName[] = [
  'program_types',
  'map_types',
  'map_flags',
  'attach_types',
  'link_types',
  'helpers',
  'misc',
  'btf',
];

/** Forgets cached results (tests, benchmarks). */
export function clearProbeCache(): void {
  cache.clear();
  sharedContext = undefined;
}

/** Probes the running kernel. Sections not asked for are absent from the report. */
export function probeKernel(options: ProbeOptions = {}): ProbeReport {
  if (options.fresh) clearProbeCache();
  const wanted = new Set<SectionName>(options.sections ?? SECTIONS);
  const notes: string[] = [];
  const system = (cache.get('system') as SystemInfo | undefined) ?? probeSystem();
  cache.set('system', system);
  const canProbe = system.privileged && system.bpfSyscall.status === 'supported';
  if (!canProbe) {
    const skipped = KERNEL_SECTIONS.filter((s) => wanted.has(s));
    const why =
      system.bpfSyscall.status !== 'supported'
        ? `bpf() is not usable here (${system.bpfSyscall.reason ?? system.bpfSyscall.status})`
        : 'this process lacks CAP_BPF/CAP_SYS_ADMIN (run as root)';
    if (skipped.length) notes.push(`Not probed: ${skipped.join(', ')} — ${why}. Only the system section (and kfuncs, from BTF) is reported.`);
  }
  // Helper workers boot while this thread reads vmlinux BTF and probes the other sections.
  const pool = canProbe && wanted.has('helpers') && !cache.has('helpers') ? HelperPool.start(options.helperStrategy ?? 'always', options.threads) : undefined;
  try {
    return probeSections(options, wanted, system, canProbe, notes, pool);
  } finally {
    pool?.close();
  }
}

function probeSections(
  options: ProbeOptions,
  wanted: ReadonlySet<SectionName>,
  system: SystemInfo,
  canProbe: boolean,
  notes: string[],
  pool: HelperPool | undefined,
): ProbeReport {
  const ctx = (sharedContext ??= createContext(options.vmlinuxPath));
  const run = <T extends SectionValue>(name: SectionName, fn: () => T): T => {
    const hit = cache.get(name) as T | undefined;
    if (hit) return hit;
    options.onProgress?.(name);
    const v = fn();
    cache.set(name, v);
    return v;
  };
  const report: { -readonly [K in keyof ProbeReport]: ProbeReport[K] } = { schema: 'tsbpf-probe/1' };
  if (wanted.has('system')) report.system = system;
  if (canProbe) {
    const progTypes = () => run('program_types', () => probeProgramTypes(ctx));
    if (wanted.has('program_types')) report.program_types = progTypes();
    if (wanted.has('map_types')) report.map_types = run('map_types', () => probeMapTypes(ctx));
    if (wanted.has('map_flags')) report.map_flags = run('map_flags', () => probeMapFlags(ctx));
    if (wanted.has('attach_types')) report.attach_types = run('attach_types', () => probeAttachTypes(ctx));
    if (wanted.has('link_types')) report.link_types = run('link_types', () => probeLinkTypes(ctx));
    if (wanted.has('helpers'))
      report.helpers = run('helpers', () => {
        const progress = (done: number, total: number) => options.onProgress?.('helpers', done, total);
        const types = progTypes();
        if (!pool) return probeHelpers(ctx, types, options.helperStrategy ?? 'always', progress);
        return pool.probe(ctx, loadableTypes(types), progress);
      });
    if (wanted.has('misc')) report.misc = run('misc', () => probeMisc(ctx));
    if (wanted.has('btf')) report.btf = run('btf', () => probeBtfKinds(ctx));
  }
  if (wanted.has('kfuncs')) report.kfuncs = run('kfuncs', () => probeKfuncs(ctx));
  if (ctx.catalog.source !== 'vmlinux-btf')
    notes.push('Type and helper names come from tsbpf\'s UAPI tables (no readable vmlinux BTF); types newer than tsbpf are not probed.');
  if (notes.length) report.notes = notes;
  return report;
}
