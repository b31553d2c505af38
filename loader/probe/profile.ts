/**
 * The probe report as a target profile — the data the compiler lowers against
 * (`tsbpf build --target host`). The shape follows dsl/kernel's TargetProfile;
 * `loadHostProfile()` reads a profile written by `tsbpf probe --profile`.
 */
import { readFileSync } from 'node:fs';
import { TsbpfError } from '../../dsl/errors.js';
import type { Feature, ProbeReport } from './result.js';

/** The profile JSON `tsbpf probe --profile` writes. */
export interface HostProfile {
  readonly name: string;
  /** Kernel release the profile was probed on. */
  readonly kernel: string;
  /** Max instructions per program (insn_cnt). */
  readonly maxInsns: number;
  /** Max instructions the verifier processes per program. */
  readonly maxProcessedInsns: number;
  readonly boundedLoops: boolean;
  readonly isa: 'v1' | 'v2' | 'v3' | 'v4';
  readonly bpfToBpfCalls: boolean;
  readonly tailCallsInSubprograms: boolean;
  readonly bpfLoop: boolean;
  readonly globalData: boolean;
  readonly funcInfo: boolean;
  readonly lineInfo: boolean;
  readonly programTypes: readonly string[];
  readonly mapTypes: readonly string[];
  readonly attachTypes: readonly string[];
  /** Program type → helper names (`map_lookup_elem`, without `bpf_`). */
  readonly helpers: Readonly<Record<string, readonly string[]>>;
  readonly btfKinds: readonly string[];
  readonly kfuncs: readonly string[];
}

/** Typed error of profile reading. */
export class ProfileError extends TsbpfError {}

const yes = (f: Feature | undefined) => f?.status === 'supported';
const supportedNames = (section: Readonly<Record<string, Feature>> | undefined) =>
  Object.entries(section ?? {})
    .filter(([, f]) => f.status === 'supported')
    .map(([n]) => n);

/** Converts a full probe report into a host profile. Throws when a needed section is missing. */
export function toTargetProfile(report: ProbeReport): HostProfile {
  const need = ['program_types', 'map_types', 'attach_types', 'helpers', 'misc', 'btf'] as const;
  const missing = need.filter((s) => !report[s]);
  if (missing.length)
    throw new ProfileError('PROFILE_INCOMPLETE', `cannot build a target profile: sections ${missing.join(', ')} were not probed${report.notes?.length ? ` (${report.notes.join(' ')})` : ''}`);
  const misc = report.misc!;
  const isa = yes(misc.isa_v4) ? 'v4' : yes(misc.isa_v3) ? 'v3' : yes(misc.isa_v2) ? 'v2' : 'v1';
  const large = yes(misc.large_insn_limit);
  const processed = typeof misc.processed_insn_limit?.value === 'number' ? misc.processed_insn_limit.value : large ? 1_000_000 : 131_072;
  const helpers: Record<string, string[]> = {};
  for (const [pt, hs] of Object.entries(report.helpers!)) helpers[pt] = supportedNames(hs).map((h) => h.replace(/^bpf_/, ''));
  return {
    name: 'host',
    kernel: report.system?.kernel.release ?? 'unknown',
    maxInsns: large ? 1_000_000 : 4096,
    maxProcessedInsns: processed,
    boundedLoops: yes(misc.bounded_loops),
    isa,
    bpfToBpfCalls: yes(misc.bpf_to_bpf_calls),
    tailCallsInSubprograms: yes(misc.tail_calls_in_subprograms),
    bpfLoop: yes(misc.bpf_loop),
    globalData: yes(misc.global_data),
    funcInfo: yes(misc.func_info),
    lineInfo: yes(misc.line_info),
    programTypes: supportedNames(report.program_types),
    mapTypes: supportedNames(report.map_types),
    attachTypes: supportedNames(report.attach_types),
    helpers,
    btfKinds: supportedNames(report.btf),
    kfuncs: supportedNames(report.kfuncs),
  };
}

/** Checks a parsed JSON value has the profile's shape; names the first bad field. */
export function profileFromJsonValue(v: unknown): HostProfile {
  const bad = (field: string, want: string) => new ProfileError('PROFILE_INVALID', `host profile: field '${field}' must be ${want}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('(root)', 'an object');
  const o = v as Record<string, unknown>;
  for (const k of ['name', 'kernel', 'isa'] as const) if (typeof o[k] !== 'string') throw bad(k, 'a string');
  if (!['v1', 'v2', 'v3', 'v4'].includes(o.isa as string)) throw bad('isa', "one of 'v1'…'v4'");
  for (const k of ['maxInsns', 'maxProcessedInsns'] as const)
    if (typeof o[k] !== 'number' || !Number.isInteger(o[k]) || (o[k] as number) <= 0) throw bad(k, 'a positive integer');
  for (const k of ['boundedLoops', 'bpfToBpfCalls', 'tailCallsInSubprograms', 'bpfLoop', 'globalData', 'funcInfo', 'lineInfo'] as const)
    if (typeof o[k] !== 'boolean') throw bad(k, 'a boolean');
  for (const k of ['programTypes', 'mapTypes', 'attachTypes', 'btfKinds', 'kfuncs'] as const)
    if (!Array.isArray(o[k]) || !(o[k] as unknown[]).every((x) => typeof x === 'string')) throw bad(k, 'an array of strings');
  if (typeof o.helpers !== 'object' || o.helpers === null || Array.isArray(o.helpers)) throw bad('helpers', 'an object');
  for (const [pt, hs] of Object.entries(o.helpers as Record<string, unknown>))
    if (!Array.isArray(hs) || !hs.every((x) => typeof x === 'string')) throw bad(`helpers.${pt}`, 'an array of strings');
  return o as unknown as HostProfile;
}

/** Reads a host profile written by `tsbpf probe --profile` (default `./tsbpf-host-profile.json`). */
export function loadHostProfile(path = 'tsbpf-host-profile.json'): HostProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ProfileError('PROFILE_NOT_FOUND', `cannot read host profile ${path}: ${(err as Error).message} (write one with: tsbpf probe --profile > ${path})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ProfileError('PROFILE_INVALID', `host profile ${path} is not JSON: ${(err as Error).message}`);
  }
  return profileFromJsonValue(json);
}
