/**
 * The probe report: the stable, documented shape of `tsbpf probe --json`.
 * Every individual answer is a {@link Feature}; sections group them by name.
 */

/** How a probe decided. `inconclusive` always comes with a reason. */
export type FeatureStatus = 'supported' | 'unsupported' | 'inconclusive';

/** One probed feature. */
export interface Feature {
  readonly status: FeatureStatus;
  /** Why: errno name and/or the verifier's own words. Required for `inconclusive`. */
  readonly reason?: string;
  /** First mainline kernel with the feature, when known (from the feature timeline). */
  readonly since?: string;
  /** A measured value, when the feature has one (e.g. the instruction limit). */
  readonly value?: number | string;
}

/** Section names, in report order; `--only` takes these. */
export const SECTIONS = [
  'system',
  'program_types',
  'map_types',
  'map_flags',
  'attach_types',
  'link_types',
  'helpers',
  'misc',
  'btf',
  'kfuncs',
] as const;
/** A section of the report. */
export type SectionName = (typeof SECTIONS)[number];

/** Facts about the machine, read from /proc and /sys rather than probed by bpf(). */
export interface SystemInfo {
  readonly kernel: { readonly release: string; readonly version: string; readonly machine: string };
  /** bpf(2) itself: supported, or why not (ENOSYS, EPERM…). */
  readonly bpfSyscall: Feature;
  /** Whether the probing process could load programs (root / CAP_BPF). */
  readonly privileged: boolean;
  /** /proc/sys/kernel/unprivileged_bpf_disabled (null when unreadable). */
  readonly unprivilegedBpfDisabled: number | null;
  /** /proc/sys/net/core/bpf_jit_{enable,harden,kallsyms,limit} (null when unreadable). */
  readonly jit: {
    readonly enable: number | null;
    readonly harden: number | null;
    readonly kallsyms: number | null;
    readonly limit: number | null;
  };
  /** Kernel config: where it came from (null = not found) and the BPF-relevant options (null = not set). */
  readonly config: { readonly source: string | null; readonly options: Readonly<Record<string, string | null>> };
  /** /sys/kernel/btf/vmlinux present and readable. */
  readonly vmlinuxBtf: Feature;
}

/** The full report. Sections not probed (see `--only`) are absent. */
export interface ProbeReport {
  /** Schema identifier; bumped on incompatible changes. */
  readonly schema: 'tsbpf-probe/1';
  readonly system?: SystemInfo;
  readonly program_types?: Readonly<Record<string, Feature>>;
  readonly map_types?: Readonly<Record<string, Feature>>;
  readonly map_flags?: Readonly<Record<string, Feature>>;
  readonly attach_types?: Readonly<Record<string, Feature>>;
  readonly link_types?: Readonly<Record<string, Feature>>;
  /** Program type → helper name (`bpf_map_lookup_elem`) → result. */
  readonly helpers?: Readonly<Record<string, Readonly<Record<string, Feature>>>>;
  readonly misc?: Readonly<Record<string, Feature>>;
  /** BTF kind name (`FUNC`, `ENUM64`…) → accepted by BPF_BTF_LOAD. */
  readonly btf?: Readonly<Record<string, Feature>>;
  /** kfunc name → present in vmlinux BTF. */
  readonly kfuncs?: Readonly<Record<string, Feature>>;
  /** What could not be probed at all, in words (e.g. not privileged). */
  readonly notes?: readonly string[];
  /**
   * The boot cache entry the kernel sections come from (`hit`) or were written
   * to; absent when no boot cache is used. `probedAt` is when the kernel answered.
   */
  readonly cache?: { readonly file: string; readonly hit: boolean; readonly probedAt: string };
}

/** Shorthands. */
export const supported = (extra: Omit<Feature, 'status'> = {}): Feature => ({ status: 'supported', ...extra });
export const unsupported = (extra: Omit<Feature, 'status'> = {}): Feature => ({ status: 'unsupported', ...extra });
export const inconclusive = (reason: string, extra: Omit<Feature, 'status' | 'reason'> = {}): Feature => ({
  status: 'inconclusive',
  reason,
  ...extra,
});
