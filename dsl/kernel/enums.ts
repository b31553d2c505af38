/**
 * The kernel's enums as the rest of tsbpf uses them: the generated UAPI values
 * merged with the hand-written additions newer than the header, plus reverse
 * lookup (value → name) for logs, probes and error messages.
 */
import * as G from './generated/uapi-constants.js';
import { BpfFunc as GeneratedBpfFunc } from './generated/uapi-helpers.js';
import {
  ATTACH_FLAG_ADDITIONS,
  BPF_ATTACH_TYPE_ADDITIONS,
  BPF_CMD_ADDITIONS,
  BPF_LINK_TYPE_ADDITIONS,
  BPF_MAP_TYPE_ADDITIONS,
  BPF_PROG_TYPE_ADDITIONS,
  HELPER_ADDITIONS,
  MAP_FLAG_ADDITIONS,
  type UapiAddition,
} from './uapi-additions.js';

type Values<A extends Record<string, UapiAddition>> = { readonly [K in keyof A]: A[K]['value'] };

function values<A extends Record<string, UapiAddition>>(a: A): Values<A> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) out[k] = v.value;
  return out as Values<A>;
}

/** Merges a generated enum with additions; the header's value wins when both define a name. */
function merge<G extends Record<string, number>, A extends Record<string, UapiAddition>>(gen: G, add: A): Readonly<Omit<Values<A>, keyof G> & G> {
  const out: Record<string, number> = { ...gen };
  for (const [k, v] of Object.entries(values(add))) if (!(k in out)) out[k] = v as number;
  return Object.freeze(out) as Readonly<Omit<Values<A>, keyof G> & G>;
}

export {
  AdjRoomMode,
  FibLookupFlags,
  FibLookupResult,
  HdrStartOff,
  IflaXdp,
  ProgLoadFlags,
  PseudoSrc,
  QueryFlags,
  SkAction,
  TcAct,
  TcaBpf,
  TcaBpfFlags,
  TcHandle,
  TestRunFlags,
  UAPI,
  UAPI_HEADER_VERSION,
  UpdateFlags,
  XdpAction,
  XdpFlags,
  BtfKind,
} from './generated/uapi-constants.js';

/** `bpf()` commands. */
export const BpfCmd = merge(G.BpfCmd, BPF_CMD_ADDITIONS);
/** Map types. */
export const BpfMapType = merge(G.BpfMapType, BPF_MAP_TYPE_ADDITIONS);
/** Program types. */
export const BpfProgType = merge(G.BpfProgType, BPF_PROG_TYPE_ADDITIONS);
/** Attach types (expected_attach_type, BPF_PROG_ATTACH, BPF_LINK_CREATE). */
export const BpfAttachType = merge(G.BpfAttachType, BPF_ATTACH_TYPE_ADDITIONS);
/** Link types (bpf_link_info.type). */
export const BpfLinkType = merge(G.BpfLinkType, BPF_LINK_TYPE_ADDITIONS);
/** `map_flags` of BPF_MAP_CREATE. */
export const MapFlags = merge(G.MapFlags, MAP_FLAG_ADDITIONS);
/** Attach flags (cgroup BPF_PROG_ATTACH; tcx/netkit ordering flags since 6.6). */
export const AttachFlags = merge(G.AttachFlags, ATTACH_FLAG_ADDITIONS);
/** Helper ids by name (`BPF_FUNC_<name>`), including helpers newer than the header. */
export const BpfFunc = merge(GeneratedBpfFunc, HELPER_ADDITIONS);

/** Name of a program type key, e.g. `'SCHED_CLS'`. */
export type ProgTypeName = keyof typeof BpfProgType;
/** Name of an attach type key, e.g. `'CGROUP_INET4_CONNECT'`. */
export type AttachTypeName = keyof typeof BpfAttachType;
/** Name of a map type key, e.g. `'LRU_HASH'`. */
export type MapTypeName = keyof typeof BpfMapType;
/** Name of a link type key, e.g. `'TCX'`. */
export type LinkTypeName = keyof typeof BpfLinkType;
/** Name of a `bpf()` command key, e.g. `'PROG_LOAD'`. */
export type BpfCmdName = keyof typeof BpfCmd;
/** Helper name without `bpf_`, e.g. `'map_lookup_elem'`. */
export type HelperName = keyof typeof BpfFunc;

const reverseCache = new WeakMap<object, Map<number | bigint, string>>();

/**
 * Reverse lookup: the name of `value` in an enum object (`nameOf(BpfProgType, 3)` →
 * `'SCHED_CLS'`). Where several names share a value, the first declared wins
 * (so `PROG_TEST_RUN`, not its alias `PROG_RUN`). Undefined if no name has it.
 */
export function nameOf<E extends Readonly<Record<string, number | bigint>>>(e: E, value: number | bigint): (keyof E & string) | undefined {
  let rev = reverseCache.get(e);
  if (!rev) {
    rev = new Map();
    for (const [k, v] of Object.entries(e)) if (!rev.has(v)) rev.set(v, k);
    reverseCache.set(e, rev);
  }
  return rev.get(value) as (keyof E & string) | undefined;
}

/** Names of the set bits of a flag word (`flagNames(MapFlags, 0x81)` → `['NO_PREALLOC', 'RDONLY_PROG']`); unknown bits as hex. */
export function flagNames<E extends Readonly<Record<string, number>>>(e: E, flags: number): string[] {
  const out: string[] = [];
  let rest = flags >>> 0;
  for (let bit = 0; bit < 32; bit++) {
    const v = (1 << bit) >>> 0;
    if ((rest & v) === 0) continue;
    const n = Object.entries(e).find(([, x]) => x >>> 0 === v)?.[0];
    out.push(n ?? `0x${v.toString(16)}`);
    rest &= ~v;
  }
  return out;
}

/** First kernel of every enum name that came from the additions (newer than the header). */
export const ADDED_SINCE = {
  cmd: BPF_CMD_ADDITIONS,
  mapType: BPF_MAP_TYPE_ADDITIONS,
  progType: BPF_PROG_TYPE_ADDITIONS,
  attachType: BPF_ATTACH_TYPE_ADDITIONS,
  linkType: BPF_LINK_TYPE_ADDITIONS,
  mapFlag: MAP_FLAG_ADDITIONS,
  attachFlag: ATTACH_FLAG_ADDITIONS,
  helper: HELPER_ADDITIONS,
} as const;
