/**
 * Kernel feature probing: `probeKernel()` answers "what can this kernel do?" by
 * asking it (real loads, map creations, attach attempts against invalid targets),
 * never by version number. Results are cached per process, per section, and
 * for the rest of the boot on disk (boot-cache.ts: keyed by everything that can
 * change an answer), so only the first probe after a boot asks the verifier.
 */
import { bootCacheKey, openBootCache, readBootCache, writeBootCache, type BootCache } from './boot-cache.js';
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
export { bootCacheDir } from './boot-cache.js';

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
  /** Ask the kernel again: ignore the per-process and boot caches (the boot cache is rewritten). */
  readonly fresh?: boolean;
  /**
   * Use the boot cache (default true): read answers probed earlier in this boot,
   * write new ones. `false` neither reads nor writes it. Its directory comes from
   * `$TSBPF_PROBE_CACHE` (`off` disables it), see boot-cache.ts.
   */
  readonly bootCache?: boolean;
  /** Kernel BTF to read type/helper names from (default /sys/kernel/btf/vmlinux); for tests. */
  readonly vmlinuxPath?: string;
}

type SectionValue = SystemInfo | Record<string, Feature> | Record<string, Record<string, Feature>>;
const cache = new Map<SectionName, SectionValue>();
let sharedContext: ProbeContext | undefined;
/** Where the kernel sections in `cache` came from, when a boot cache entry supplied them. */
let cachedFrom: { readonly file: string; readonly probedAt: string; readonly catalogSource: string } | undefined;

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
  cachedFrom = undefined;
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
  const boot = canProbe && options.bootCache !== false ? openBootCache(bootCacheKey(system, { helperStrategy: options.helperStrategy ?? 'always', vmlinuxPath: options.vmlinuxPath ?? null })) : undefined;
  const entry = boot && !options.fresh ? readBootCache(boot) : undefined;
  if (entry) {
    for (const [name, value] of Object.entries(entry.sections)) if (!cache.has(name as SectionName)) cache.set(name as SectionName, value as SectionValue);
    cachedFrom = { file: boot!.file, probedAt: entry.probedAt, catalogSource: entry.catalogSource };
  }
  // Helper workers boot while this thread reads vmlinux BTF and probes the other sections.
  const pool = canProbe && wanted.has('helpers') && !cache.has('helpers') ? HelperPool.start(options.helperStrategy ?? 'always', options.threads) : undefined;
  try {
    return probeSections(options, wanted, system, canProbe, notes, pool, boot);
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
  boot: BootCache | undefined,
): ProbeReport {
  // Made only when a section has to be asked of the kernel (it reads vmlinux BTF).
  const context = () => (sharedContext ??= createContext(options.vmlinuxPath));
  let probed = false;
  const run = <T extends SectionValue>(name: SectionName, fn: () => T): T => {
    const hit = cache.get(name) as T | undefined;
    if (hit) return hit;
    options.onProgress?.(name);
    const v = fn();
    cache.set(name, v);
    probed = true;
    return v;
  };
  const report: { -readonly [K in keyof ProbeReport]: ProbeReport[K] } = { schema: 'tsbpf-probe/1' };
  if (wanted.has('system')) report.system = system;
  if (canProbe) {
    const progTypes = () => run('program_types', () => probeProgramTypes(context()));
    if (wanted.has('program_types')) report.program_types = progTypes();
    if (wanted.has('map_types')) report.map_types = run('map_types', () => probeMapTypes(context()));
    if (wanted.has('map_flags')) report.map_flags = run('map_flags', () => probeMapFlags(context()));
    if (wanted.has('attach_types')) report.attach_types = run('attach_types', () => probeAttachTypes(context()));
    if (wanted.has('link_types')) report.link_types = run('link_types', () => probeLinkTypes(context()));
    if (wanted.has('helpers'))
      report.helpers = run('helpers', () => {
        const progress = (done: number, total: number) => options.onProgress?.('helpers', done, total);
        const types = progTypes();
        if (!pool) return probeHelpers(context(), types, options.helperStrategy ?? 'always', progress);
        return pool.probe(context(), loadableTypes(types), progress);
      });
    if (wanted.has('misc')) report.misc = run('misc', () => probeMisc(context()));
    if (wanted.has('btf')) report.btf = run('btf', () => probeBtfKinds(context()));
  }
  if (wanted.has('kfuncs')) report.kfuncs = run('kfuncs', () => probeKfuncs(context()));
  const catalogSource = sharedContext?.catalog.source ?? cachedFrom?.catalogSource ?? context().catalog.source;
  if (boot && probed) {
    const probedAt = new Date().toISOString();
    const sections = Object.fromEntries([...cache].filter(([name]) => name !== 'system'));
    if (writeBootCache(boot, { probedAt, catalogSource, sections })) cachedFrom = { file: boot.file, probedAt, catalogSource };
    if (cachedFrom) report.cache = { file: cachedFrom.file, hit: false, probedAt: cachedFrom.probedAt };
  } else if (boot && cachedFrom) report.cache = { file: cachedFrom.file, hit: true, probedAt: cachedFrom.probedAt };
  if (catalogSource !== 'vmlinux-btf')
    notes.push('Type and helper names come from tsbpf\'s UAPI tables (no readable vmlinux BTF); types newer than tsbpf are not probed.');
  if (notes.length) report.notes = notes;
  return report;
}
