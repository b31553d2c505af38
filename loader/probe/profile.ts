/**
 * The probe report as a dsl/kernel TargetProfile (`source: 'probe'`) — the data
 * the compiler lowers against (`tsbpf build --target host`) — and
 * `loadHostProfile()`, which reads such a profile back through dsl/kernel's own
 * validating `profileFromJson`.
 */
import { readFileSync } from 'node:fs';
import { TsbpfError } from '../../dsl/errors.js';
import { BpfAttachType, BpfFunc, BpfMapType, BpfProgType, BtfKind } from '../../dsl/kernel/enums.js';
import { profileForKernel, profileFromJson, type BtfKindName, type IsaLevel, type TargetProfile } from '../../dsl/kernel/profiles.js';
import { kernelVersion } from '../../dsl/kernel/version.js';
import type { Feature, ProbeReport } from './result.js';

/** Typed error of profile building/reading. */
export class ProfileError extends TsbpfError {}

const yes = (f: Feature | undefined) => f?.status === 'supported';

/** Supported names of a section, upper-cased and limited to names `known` has (the profile validates against it). */
function supportedKeys<K extends string>(section: Readonly<Record<string, Feature>> | undefined, known: Readonly<Record<K, unknown>>): K[] {
  return Object.entries(section ?? {})
    .filter(([, f]) => f.status === 'supported')
    .map(([n]) => n.toUpperCase())
    .filter((n): n is K => n in known);
}

/**
 * Converts a full probe report into a target profile. Facts the prober measures
 * come from the report; the tail-call chain limit, which cannot be observed
 * without running a chain, comes from the kernel version. Throws when a needed
 * section is missing (e.g. an unprivileged run).
 */
export function toTargetProfile(report: ProbeReport): TargetProfile {
  const need = ['program_types', 'map_types', 'attach_types', 'link_types', 'helpers', 'misc', 'btf'] as const;
  const missing = need.filter((s) => !report[s]);
  if (missing.length)
    throw new ProfileError(
      'PROFILE_INCOMPLETE',
      `cannot build a target profile: sections ${missing.join(', ')} were not probed${report.notes?.length ? ` (${report.notes.join(' ')})` : ''}`,
    );
  const misc = report.misc!;
  const release = report.system?.kernel.release ?? '0.0';
  const timeline = profileForKernel(kernelVersion(release), 'host');
  const isa: IsaLevel = yes(misc.isa_v4) ? 'v4' : yes(misc.isa_v3) ? 'v3' : 'v2';
  const processed = typeof misc.processed_insn_limit?.value === 'number' ? misc.processed_insn_limit.value : undefined;
  const large = yes(misc.large_insn_limit);
  const helperIds = BpfFunc as Readonly<Record<string, number>>;
  const helpersByProgType: TargetProfile['helpersByProgType'] = {};
  const all = new Set<number>();
  for (const [pt, hs] of Object.entries(report.helpers!)) {
    const key = pt.toUpperCase();
    if (!(key in BpfProgType)) continue;
    const ids = Object.entries(hs)
      .filter(([, f]) => f.status === 'supported')
      .map(([h]) => helperIds[h.replace(/^bpf_/, '')])
      .filter((id): id is number => id !== undefined)
      .sort((a, b) => a - b);
    ids.forEach((id) => all.add(id));
    helpersByProgType[key as keyof typeof BpfProgType] = ids;
  }
  return {
    name: 'host',
    kernel: kernelVersion(release),
    source: 'probe',
    maxInsns: large ? (processed ?? 1_000_000) : 4096,
    maxProcessedInsns: processed ?? (large ? 1_000_000 : 131_072),
    boundedLoops: yes(misc.bounded_loops),
    isa,
    bpfToBpfCalls: yes(misc.bpf_to_bpf_calls),
    tailCallsInSubprograms: yes(misc.tail_calls_in_subprograms),
    bpfLoopHelper: yes(misc.bpf_loop),
    tailCallChainLimit: timeline.tailCallChainLimit,
    helpers: [...all].sort((a, b) => a - b),
    helpersByProgType,
    progTypes: supportedKeys(report.program_types, BpfProgType),
    attachTypes: supportedKeys(report.attach_types, BpfAttachType),
    mapTypes: supportedKeys(report.map_types, BpfMapType),
    btfKinds: supportedKeys<BtfKindName>(report.btf, BtfKind),
    btf: yes(report.btf!.INT),
    globalData: yes(misc.global_data),
    funcInfo: yes(misc.func_info),
    lineInfo: yes(misc.line_info),
    logTrueSize: yes(misc.log_true_size),
    linkCreate: yes(report.link_types!.cgroup),
    xdpLink: yes(report.attach_types!.xdp),
    tcx: yes(report.attach_types!.tcx_ingress),
  };
}

/** Default file `tsbpf probe --profile > …` writes and `loadHostProfile()` reads. */
export const HOST_PROFILE_FILE = 'tsbpf-host-profile.json';

/**
 * Reads a host profile written by `tsbpf probe --profile`, validated by
 * dsl/kernel's `profileFromJson` (which names the first bad field).
 */
export function loadHostProfile(path: string = HOST_PROFILE_FILE): TargetProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ProfileError('PROFILE_NOT_FOUND', `cannot read host profile ${path}: ${(err as Error).message} (write one with: tsbpf probe --profile > ${path})`);
  }
  return profileFromJson(text);
}
