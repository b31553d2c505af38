/**
 * Target profiles: plain, JSON-serialisable data describing what a kernel accepts.
 * Lowering consults only the profile (instruction limits, loops, ISA level, calls,
 * helpers per program type…). Named profiles derive from the feature timeline of
 * bpf-formats.md §6 and the helper table; `host` comes from the prober, or until
 * then from `uname -r` and the same timeline.
 */
import { release } from 'node:os';
import {
  BpfAttachType,
  BpfFunc,
  BpfMapType,
  BpfProgType,
  BtfKind,
  type AttachTypeName,
  type HelperName,
  type MapTypeName,
  type ProgTypeName,
} from './enums.js';
import { COVERED_PROG_TYPES, HELPER_SINCE, PROG_TYPE_SINCE, SOCK_ADDR_ATTACH_LIMITS, VERIFIED_KERNEL, helperAllowed } from './helper-availability.js';
import { KernelDataError, type KernelVersion, atLeast, compareKernelVersions, kernelVersion } from './version.js';

/** ISA level: v2 adds JLT/JLE/JSLT/JSLE, v3 JMP32, v4 sign-extension, `gotol`, signed div/mod, bswap. */
export type IsaLevel = 'v2' | 'v3' | 'v4';

/** Name of a BTF kind (key of BtfKind), e.g. `'DATASEC'`. */
export type BtfKindName = keyof typeof BtfKind;

/** Where a profile's facts came from. */
export type ProfileSource = 'timeline' | 'probe';

/** What a target kernel accepts. Plain data: safe to JSON.stringify and read back with profileFromJson. */
export interface TargetProfile {
  /** Profile name ('5.10', 'host', …). */
  name: string;
  /** Kernel version `major.minor`. */
  kernel: KernelVersion;
  source: ProfileSource;
  /** Max instructions in one program (privileged): 4,096 before 5.2, then 1,000,000. */
  maxInsns: number;
  /** Max instructions the verifier may process: 131,072 before 5.2, then 1,000,000. */
  maxProcessedInsns: number;
  /** Backward jumps (bounded loops) accepted: 5.3. */
  boundedLoops: boolean;
  isa: IsaLevel;
  /** bpf-to-bpf calls: 4.16. */
  bpfToBpfCalls: boolean;
  /** Tail calls from a program that also has bpf-to-bpf calls (x86-64): 5.10. */
  tailCallsInSubprograms: boolean;
  /** `bpf_loop` helper: 5.17. */
  bpfLoopHelper: boolean;
  /** Tail calls a chain may take: 32 before 5.17 (MAX_TAIL_CALL_CNT), 33 after. */
  tailCallChainLimit: number;
  /** Ids of every helper the kernel has. */
  helpers: number[];
  /** For the program types the DSL compiles: ids of the helpers each may call. */
  helpersByProgType: Partial<Record<ProgTypeName, number[]>>;
  progTypes: ProgTypeName[];
  attachTypes: AttachTypeName[];
  mapTypes: MapTypeName[];
  /** BTF kinds the kernel accepts (anything else must be sanitised away). */
  btfKinds: BtfKindName[];
  /** BTF loading at all: 4.18. */
  btf: boolean;
  /** `.data`/`.rodata`/`.bss` as array maps with direct value access: 5.2. */
  globalData: boolean;
  /** func_info in BPF_PROG_LOAD: 5.0. */
  funcInfo: boolean;
  /** line_info in BPF_PROG_LOAD: 5.0. */
  lineInfo: boolean;
  /** `log_true_size` returned by BPF_PROG_LOAD/BTF_LOAD: 6.4. */
  logTrueSize: boolean;
  /** BPF_LINK_CREATE (cgroup links): 5.7. */
  linkCreate: boolean;
  /** XDP attachment through BPF_LINK_CREATE: 5.9. */
  xdpLink: boolean;
  /** tcx attach points (BPF_TCX_INGRESS/EGRESS links): 6.6. */
  tcx: boolean;
}

/** Names of the built-in profiles, oldest first. */
export const PROFILE_NAMES = ['4.19', '5.4', '5.10', '5.15', '6.1', '6.6', '6.12'] as const;
/** A built-in profile name, or an alias. */
export type ProfileName = (typeof PROFILE_NAMES)[number] | 'latest';

/** Aliases of named profiles. */
export const PROFILE_ALIASES: Record<string, (typeof PROFILE_NAMES)[number]> = { latest: '6.12' };

/** First kernel of each map type. */
export const MAP_TYPE_SINCE: Partial<Record<MapTypeName, KernelVersion>> = {
  HASH: '3.19', ARRAY: '3.19', PROG_ARRAY: '4.2', PERF_EVENT_ARRAY: '4.3', PERCPU_HASH: '4.6', PERCPU_ARRAY: '4.6',
  STACK_TRACE: '4.6', CGROUP_ARRAY: '4.8', LRU_HASH: '4.10', LRU_PERCPU_HASH: '4.10', LPM_TRIE: '4.11',
  ARRAY_OF_MAPS: '4.12', HASH_OF_MAPS: '4.12', DEVMAP: '4.14', SOCKMAP: '4.14', CPUMAP: '4.15', XSKMAP: '4.18',
  SOCKHASH: '4.18', CGROUP_STORAGE: '4.19', REUSEPORT_SOCKARRAY: '4.19', PERCPU_CGROUP_STORAGE: '4.20', QUEUE: '4.20',
  STACK: '4.20', SK_STORAGE: '5.2', DEVMAP_HASH: '5.4', STRUCT_OPS: '5.6', RINGBUF: '5.8', INODE_STORAGE: '5.10',
  TASK_STORAGE: '5.11', BLOOM_FILTER: '5.16', USER_RINGBUF: '6.1', CGRP_STORAGE: '6.2', ARENA: '6.9',
};

/** First kernel of each attach type. */
export const ATTACH_TYPE_SINCE: Partial<Record<AttachTypeName, KernelVersion>> = {
  CGROUP_INET_INGRESS: '4.10', CGROUP_INET_EGRESS: '4.10', CGROUP_INET_SOCK_CREATE: '4.10', CGROUP_SOCK_OPS: '4.13',
  SK_SKB_STREAM_PARSER: '4.14', SK_SKB_STREAM_VERDICT: '4.14', CGROUP_DEVICE: '4.15', SK_MSG_VERDICT: '4.17',
  CGROUP_INET4_BIND: '4.17', CGROUP_INET6_BIND: '4.17', CGROUP_INET4_CONNECT: '4.17', CGROUP_INET6_CONNECT: '4.17',
  CGROUP_INET4_POST_BIND: '4.17', CGROUP_INET6_POST_BIND: '4.17', CGROUP_UDP4_SENDMSG: '4.18', CGROUP_UDP6_SENDMSG: '4.18',
  LIRC_MODE2: '4.18', FLOW_DISSECTOR: '4.20', CGROUP_SYSCTL: '5.2', CGROUP_UDP4_RECVMSG: '5.2', CGROUP_UDP6_RECVMSG: '5.2',
  CGROUP_GETSOCKOPT: '5.3', CGROUP_SETSOCKOPT: '5.3', TRACE_RAW_TP: '5.5', TRACE_FENTRY: '5.5', TRACE_FEXIT: '5.5',
  MODIFY_RETURN: '5.7', LSM_MAC: '5.7', TRACE_ITER: '5.8', CGROUP_INET4_GETPEERNAME: '5.8', CGROUP_INET6_GETPEERNAME: '5.8',
  CGROUP_INET4_GETSOCKNAME: '5.8', CGROUP_INET6_GETSOCKNAME: '5.8', XDP_DEVMAP: '5.8', CGROUP_INET_SOCK_RELEASE: '5.9',
  XDP_CPUMAP: '5.9', SK_LOOKUP: '5.9', XDP: '5.9', SK_SKB_VERDICT: '5.13', SK_REUSEPORT_SELECT: '5.14',
  SK_REUSEPORT_SELECT_OR_MIGRATE: '5.14', PERF_EVENT: '5.15', TRACE_KPROBE_MULTI: '5.18', LSM_CGROUP: '6.0',
  STRUCT_OPS: '6.4', NETFILTER: '6.4', TCX_INGRESS: '6.6', TCX_EGRESS: '6.6', TRACE_UPROBE_MULTI: '6.6',
  CGROUP_UNIX_CONNECT: '6.7', CGROUP_UNIX_SENDMSG: '6.7', CGROUP_UNIX_RECVMSG: '6.7', CGROUP_UNIX_GETPEERNAME: '6.7',
  CGROUP_UNIX_GETSOCKNAME: '6.7', NETKIT_PRIMARY: '6.7', NETKIT_PEER: '6.7', TRACE_KPROBE_SESSION: '6.10',
  TRACE_UPROBE_SESSION: '6.13',
};

/** First kernel accepting each BTF kind (BTF itself: 4.18). */
export const BTF_KIND_SINCE: Partial<Record<BtfKindName, KernelVersion>> = {
  INT: '4.18', PTR: '4.18', ARRAY: '4.18', STRUCT: '4.18', UNION: '4.18', ENUM: '4.18', FWD: '4.18', TYPEDEF: '4.18',
  VOLATILE: '4.18', CONST: '4.18', RESTRICT: '4.18', FUNC: '5.0', FUNC_PROTO: '5.0', VAR: '5.2', DATASEC: '5.2',
  FLOAT: '5.13', DECL_TAG: '5.16', TYPE_TAG: '5.17', ENUM64: '6.0',
};

function namesSince<K extends string>(since: Partial<Record<K, KernelVersion>>, v: KernelVersion, order: Record<K, number>): K[] {
  return (Object.keys(since) as K[]).filter((k) => atLeast(v, since[k]!)).sort((a, b) => order[a] - order[b]);
}

/**
 * Derives a profile for kernel `version` from the timeline. Helpers whose opening to
 * a program type is undated are included only from VERIFIED_KERNEL on.
 */
export function profileForKernel(version: string, name: string = kernelVersion(version)): TargetProfile {
  const v = kernelVersion(version);
  const at = (since: string) => compareKernelVersions(v, since) >= 0;
  const helpers = (Object.entries(BpfFunc) as [HelperName, number][])
    .filter(([n]) => at(HELPER_SINCE[n]))
    .map(([, id]) => id)
    .sort((a, b) => a - b);
  const helpersByProgType: Partial<Record<ProgTypeName, number[]>> = {};
  for (const t of COVERED_PROG_TYPES) {
    if (!at(PROG_TYPE_SINCE[t]!)) continue;
    helpersByProgType[t] = (Object.entries(BpfFunc) as [HelperName, number][])
      .filter(([n]) => helperAllowed(n, t, v) === true)
      .map(([, id]) => id)
      .sort((a, b) => a - b);
  }
  return {
    name,
    kernel: v,
    source: 'timeline',
    maxInsns: at('5.2') ? 1_000_000 : 4096,
    maxProcessedInsns: at('5.2') ? 1_000_000 : 131_072,
    boundedLoops: at('5.3'),
    isa: at('6.6') ? 'v4' : at('5.1') ? 'v3' : 'v2',
    bpfToBpfCalls: at('4.16'),
    tailCallsInSubprograms: at('5.10'),
    bpfLoopHelper: at('5.17'),
    tailCallChainLimit: at('5.17') ? 33 : 32,
    helpers,
    helpersByProgType,
    progTypes: namesSince(PROG_TYPE_SINCE, v, BpfProgType as Record<ProgTypeName, number>),
    attachTypes: namesSince(ATTACH_TYPE_SINCE, v, BpfAttachType as Record<AttachTypeName, number>),
    mapTypes: namesSince(MAP_TYPE_SINCE, v, BpfMapType as Record<MapTypeName, number>),
    btfKinds: namesSince(BTF_KIND_SINCE, v, BtfKind as Record<BtfKindName, number>),
    btf: at('4.18'),
    globalData: at('5.2'),
    funcInfo: at('5.0'),
    lineInfo: at('5.0'),
    logTrueSize: at('6.4'),
    linkCreate: at('5.7'),
    xdpLink: at('5.9'),
    tcx: at('6.6'),
  };
}

/** Every valid argument of profileByName. */
export function profileNames(): string[] {
  return [...PROFILE_NAMES, ...Object.keys(PROFILE_ALIASES)];
}

/** A named profile ('4.19' … '6.12', 'latest'); KernelDataError listing the valid names otherwise. */
export function profileByName(name: string): TargetProfile {
  const real = PROFILE_ALIASES[name] ?? name;
  if (!(PROFILE_NAMES as readonly string[]).includes(real)) {
    throw new KernelDataError('UNKNOWN_PROFILE', `unknown target profile '${name}'; valid: ${profileNames().join(', ')}, host`);
  }
  return profileForKernel(real, real);
}

/**
 * The profile of the machine we run on, from `uname -r` and the timeline (the
 * prober will replace this with measured facts in the same shape).
 */
export function hostProfile(kernelRelease: string = release()): TargetProfile {
  return profileForKernel(kernelRelease, 'host');
}

const BOOL_KEYS = ['boundedLoops', 'bpfToBpfCalls', 'tailCallsInSubprograms', 'bpfLoopHelper', 'btf', 'globalData', 'funcInfo', 'lineInfo', 'logTrueSize', 'linkCreate', 'xdpLink', 'tcx'] as const;
const NUM_KEYS = ['maxInsns', 'maxProcessedInsns', 'tailCallChainLimit'] as const;

/** Serialises a profile (stable key order, two-space indent). */
export function profileToJson(p: TargetProfile): string {
  return JSON.stringify(p, null, 2);
}

/**
 * Reads a profile from JSON text or a parsed object, checking every field's type and
 * every name against the known enums; throws KernelDataError naming the bad field.
 */
export function profileFromJson(input: string | unknown): TargetProfile {
  let o: unknown = input;
  if (typeof input === 'string') {
    try {
      o = JSON.parse(input);
    } catch (e) {
      throw new KernelDataError('PROFILE_JSON', `profile is not valid JSON: ${(e as Error).message}`);
    }
  }
  const bad = (field: string, why: string): never => {
    throw new KernelDataError('PROFILE_JSON', `profile field '${field}': ${why}`);
  };
  if (typeof o !== 'object' || o === null || Array.isArray(o)) bad('(root)', 'expected an object');
  const r = o as Record<string, unknown>;
  if (typeof r.name !== 'string') bad('name', 'expected a string');
  if (typeof r.kernel !== 'string' || !/^\d+\.\d+$/.test(r.kernel)) bad('kernel', "expected 'major.minor'");
  if (r.source !== 'timeline' && r.source !== 'probe') bad('source', "expected 'timeline' or 'probe'");
  for (const k of BOOL_KEYS) if (typeof r[k] !== 'boolean') bad(k, 'expected a boolean');
  for (const k of NUM_KEYS) if (typeof r[k] !== 'number' || !Number.isInteger(r[k]) || (r[k] as number) <= 0) bad(k, 'expected a positive integer');
  if (r.isa !== 'v2' && r.isa !== 'v3' && r.isa !== 'v4') bad('isa', "expected 'v2', 'v3' or 'v4'");
  const ids = new Set(Object.values(BpfFunc) as number[]);
  const idList = (field: string, x: unknown): number[] => {
    if (!Array.isArray(x)) return bad(field, 'expected an array of helper ids');
    for (const id of x) if (typeof id !== 'number' || !ids.has(id)) bad(field, `unknown helper id ${JSON.stringify(id)}`);
    return [...(x as number[])];
  };
  const nameList = <K extends string>(field: string, x: unknown, known: Record<K, unknown>): K[] => {
    if (!Array.isArray(x)) return bad(field, 'expected an array of names');
    for (const n of x) if (typeof n !== 'string' || !(n in known)) bad(field, `unknown name ${JSON.stringify(n)}`);
    return [...(x as K[])];
  };
  const hbp = r.helpersByProgType;
  if (typeof hbp !== 'object' || hbp === null || Array.isArray(hbp)) bad('helpersByProgType', 'expected an object');
  const helpersByProgType: Partial<Record<ProgTypeName, number[]>> = {};
  for (const [t, list] of Object.entries(hbp as Record<string, unknown>)) {
    if (!(t in BpfProgType)) bad('helpersByProgType', `unknown program type ${t}`);
    helpersByProgType[t as ProgTypeName] = idList(`helpersByProgType.${t}`, list);
  }
  const p: TargetProfile = {
    name: r.name as string,
    kernel: r.kernel as KernelVersion,
    source: r.source as ProfileSource,
    maxInsns: r.maxInsns as number,
    maxProcessedInsns: r.maxProcessedInsns as number,
    boundedLoops: r.boundedLoops as boolean,
    isa: r.isa as IsaLevel,
    bpfToBpfCalls: r.bpfToBpfCalls as boolean,
    tailCallsInSubprograms: r.tailCallsInSubprograms as boolean,
    bpfLoopHelper: r.bpfLoopHelper as boolean,
    tailCallChainLimit: r.tailCallChainLimit as number,
    helpers: idList('helpers', r.helpers),
    helpersByProgType,
    progTypes: nameList('progTypes', r.progTypes, BpfProgType),
    attachTypes: nameList('attachTypes', r.attachTypes, BpfAttachType),
    mapTypes: nameList('mapTypes', r.mapTypes, BpfMapType),
    btfKinds: nameList('btfKinds', r.btfKinds, BtfKind),
    btf: r.btf as boolean,
    globalData: r.globalData as boolean,
    funcInfo: r.funcInfo as boolean,
    lineInfo: r.lineInfo as boolean,
    logTrueSize: r.logTrueSize as boolean,
    linkCreate: r.linkCreate as boolean,
    xdpLink: r.xdpLink as boolean,
    tcx: r.tcx as boolean,
  };
  return p;
}

/**
 * Whether `profile` lets `progType` call `helper` (by name). For cgroup sock_addr
 * programs pass the hook (`attachType`): some helpers exist only in some hooks
 * (`bind` only in connect4/6). Program types without per-type data fall back to
 * "the kernel has the helper".
 */
export function profileAllowsHelper(profile: TargetProfile, progType: ProgTypeName, helper: HelperName, attachType?: AttachTypeName): boolean {
  const id = BpfFunc[helper];
  const list = profile.helpersByProgType[progType];
  const allowed = list !== undefined ? list.includes(id) : profile.helpers.includes(id);
  if (!allowed || progType !== 'CGROUP_SOCK_ADDR' || attachType === undefined) return allowed;
  const lim = SOCK_ADDR_ATTACH_LIMITS[helper];
  if (lim?.only && !lim.only.includes(attachType)) return false;
  if (lim?.except && lim.except.includes(attachType)) return false;
  return true;
}

/** The kernel version the hand-written tables were verified against (re-exported for reports). */
export const PROFILES_VERIFIED_AGAINST = VERIFIED_KERNEL;
