/**
 * bpf(2) enums as data: commands, map types, program types, attach types, link
 * types and flag bits, in UAPI order (include/uapi/linux/bpf.h, up to kernel
 * 6.18; the installed 6.1 header lacks the newer tail, checked against upstream).
 *
 * Defined here because dsl/kernel has no such tables yet; when it does, these
 * should become re-exports of it. Names are the UAPI names without their prefix,
 * lower-cased (`BPF_MAP_TYPE_LRU_HASH` → `lru_hash`).
 */

function enumOf<const N extends readonly string[]>(names: N): { readonly [K in N[number]]: number } {
  const out: Record<string, number> = {};
  names.forEach((n, i) => (out[n] = i));
  return Object.freeze(out) as { readonly [K in N[number]]: number };
}

function invert(table: Readonly<Record<string, number>>): ReadonlyMap<number, string> {
  return new Map(Object.entries(table).map(([k, v]) => [v, k]));
}

/** `enum bpf_cmd`. */
export const Cmd = enumOf([
  'MAP_CREATE', 'MAP_LOOKUP_ELEM', 'MAP_UPDATE_ELEM', 'MAP_DELETE_ELEM', 'MAP_GET_NEXT_KEY',
  'PROG_LOAD', 'OBJ_PIN', 'OBJ_GET', 'PROG_ATTACH', 'PROG_DETACH', 'PROG_TEST_RUN',
  'PROG_GET_NEXT_ID', 'MAP_GET_NEXT_ID', 'PROG_GET_FD_BY_ID', 'MAP_GET_FD_BY_ID',
  'OBJ_GET_INFO_BY_FD', 'PROG_QUERY', 'RAW_TRACEPOINT_OPEN', 'BTF_LOAD', 'BTF_GET_FD_BY_ID',
  'TASK_FD_QUERY', 'MAP_LOOKUP_AND_DELETE_ELEM', 'MAP_FREEZE', 'BTF_GET_NEXT_ID',
  'MAP_LOOKUP_BATCH', 'MAP_LOOKUP_AND_DELETE_BATCH', 'MAP_UPDATE_BATCH', 'MAP_DELETE_BATCH',
  'LINK_CREATE', 'LINK_UPDATE', 'LINK_GET_FD_BY_ID', 'LINK_GET_NEXT_ID', 'ENABLE_STATS',
  'ITER_CREATE', 'LINK_DETACH', 'PROG_BIND_MAP', 'TOKEN_CREATE', 'PROG_STREAM_READ_BY_FD',
] as const);
/** A bpf(2) command name. */
export type CmdName = keyof typeof Cmd;
const cmdNames = invert(Cmd);
/** Name of a bpf(2) command number (`BPF_MAP_CREATE`). */
export function cmdName(cmd: number): string {
  return `BPF_${cmdNames.get(cmd) ?? `CMD_${cmd}`}`;
}

/** `enum bpf_map_type`. */
export const MapType = enumOf([
  'unspec', 'hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array',
  'stack_trace', 'cgroup_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie', 'array_of_maps',
  'hash_of_maps', 'devmap', 'sockmap', 'cpumap', 'xskmap', 'sockhash', 'cgroup_storage',
  'reuseport_sockarray', 'percpu_cgroup_storage', 'queue', 'stack', 'sk_storage', 'devmap_hash',
  'struct_ops', 'ringbuf', 'inode_storage', 'task_storage', 'bloom_filter', 'user_ringbuf',
  'cgrp_storage', 'arena',
] as const);
/** A map type by name (`'lru_hash'`). */
export type MapTypeName = keyof typeof MapType;
const mapTypeNames = invert(MapType);
/** Name of a map type number, or `type_<n>` for one newer than this table. */
export function mapTypeName(type: number): string {
  return mapTypeNames.get(type) ?? `type_${type}`;
}

/** `enum bpf_prog_type`. */
export const ProgType = enumOf([
  'unspec', 'socket_filter', 'kprobe', 'sched_cls', 'sched_act', 'tracepoint', 'xdp', 'perf_event',
  'cgroup_skb', 'cgroup_sock', 'lwt_in', 'lwt_out', 'lwt_xmit', 'sock_ops', 'sk_skb',
  'cgroup_device', 'sk_msg', 'raw_tracepoint', 'cgroup_sock_addr', 'lwt_seg6local', 'lirc_mode2',
  'sk_reuseport', 'flow_dissector', 'cgroup_sysctl', 'raw_tracepoint_writable', 'cgroup_sockopt',
  'tracing', 'struct_ops', 'ext', 'lsm', 'sk_lookup', 'syscall', 'netfilter',
] as const);
/** A program type by name (`'sched_cls'`). */
export type ProgTypeName = keyof typeof ProgType;
const progTypeNames = invert(ProgType);
/** Name of a program type number. */
export function progTypeName(type: number): string {
  return progTypeNames.get(type) ?? `type_${type}`;
}

/** `enum bpf_attach_type` (names without the `BPF_` prefix, lower-cased). */
export const AttachType = enumOf([
  'cgroup_inet_ingress', 'cgroup_inet_egress', 'cgroup_inet_sock_create', 'cgroup_sock_ops',
  'sk_skb_stream_parser', 'sk_skb_stream_verdict', 'cgroup_device', 'sk_msg_verdict',
  'cgroup_inet4_bind', 'cgroup_inet6_bind', 'cgroup_inet4_connect', 'cgroup_inet6_connect',
  'cgroup_inet4_post_bind', 'cgroup_inet6_post_bind', 'cgroup_udp4_sendmsg', 'cgroup_udp6_sendmsg',
  'lirc_mode2', 'flow_dissector', 'cgroup_sysctl', 'cgroup_udp4_recvmsg', 'cgroup_udp6_recvmsg',
  'cgroup_getsockopt', 'cgroup_setsockopt', 'trace_raw_tp', 'trace_fentry', 'trace_fexit',
  'modify_return', 'lsm_mac', 'trace_iter', 'cgroup_inet4_getpeername', 'cgroup_inet6_getpeername',
  'cgroup_inet4_getsockname', 'cgroup_inet6_getsockname', 'xdp_devmap', 'cgroup_inet_sock_release',
  'xdp_cpumap', 'sk_lookup', 'xdp', 'sk_skb_verdict', 'sk_reuseport_select',
  'sk_reuseport_select_or_migrate', 'perf_event', 'trace_kprobe_multi', 'lsm_cgroup', 'struct_ops',
  'netfilter', 'tcx_ingress', 'tcx_egress', 'trace_uprobe_multi', 'cgroup_unix_connect',
  'cgroup_unix_sendmsg', 'cgroup_unix_recvmsg', 'cgroup_unix_getpeername',
  'cgroup_unix_getsockname', 'netkit_primary', 'netkit_peer', 'trace_kprobe_session',
  'trace_uprobe_session',
] as const);
/** An attach type by name (`'cgroup_inet4_connect'`). */
export type AttachTypeName = keyof typeof AttachType;
const attachTypeNames = invert(AttachType);
/** Name of an attach type number. */
export function attachTypeName(type: number): string {
  return attachTypeNames.get(type) ?? `type_${type}`;
}

/** `enum bpf_link_type`. */
export const LinkType = enumOf([
  'unspec', 'raw_tracepoint', 'tracing', 'cgroup', 'iter', 'netns', 'xdp', 'perf_event',
  'kprobe_multi', 'struct_ops', 'netfilter', 'tcx', 'uprobe_multi', 'netkit', 'sockmap',
] as const);
/** A link type by name. */
export type LinkTypeName = keyof typeof LinkType;

/** Resolves an enum member given by name or number; throws on an unknown name. */
export function enumValue<T extends Readonly<Record<string, number>>>(table: T, what: string, v: keyof T | number): number {
  if (typeof v === 'number') return v;
  const n = table[v];
  if (n === undefined) throw new RangeError(`unknown ${what} '${String(v)}'`);
  return n;
}

/** Flags of BPF_MAP_*_ELEM updates. */
export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2, LOCK: 4 } as const;

/** BPF_MAP_CREATE `map_flags` bits. */
export const MapFlag = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
  LINK: 1 << 13,
  PATH_FD: 1 << 14,
  VTYPE_BTF_OBJ_FD: 1 << 15,
  TOKEN_FD: 1 << 16,
  SEGV_ON_FAULT: 1 << 17,
  NO_USER_CONV: 1 << 18,
} as const;

/** BPF_PROG_LOAD `prog_flags` bits. */
export const ProgFlag = {
  STRICT_ALIGNMENT: 1 << 0,
  ANY_ALIGNMENT: 1 << 1,
  TEST_RND_HI32: 1 << 2,
  TEST_STATE_FREQ: 1 << 3,
  SLEEPABLE: 1 << 4,
  XDP_HAS_FRAGS: 1 << 5,
  XDP_DEV_BOUND_ONLY: 1 << 6,
  TEST_REG_INVARIANTS: 1 << 7,
} as const;

/** BPF_PROG_ATTACH / BPF_LINK_CREATE / BPF_PROG_QUERY flag bits. */
export const AttachFlag = {
  ALLOW_OVERRIDE: 1 << 0,
  ALLOW_MULTI: 1 << 1,
  REPLACE: 1 << 2,
  BEFORE: 1 << 3,
  AFTER: 1 << 4,
  ID: 1 << 5,
  LINK: 1 << 13,
} as const;

/** BPF_PROG_TEST_RUN `flags` bits. */
export const TestRunFlag = { RUN_ON_CPU: 1 << 0, XDP_LIVE_FRAMES: 1 << 1, SKB_CHECKSUM_COMPLETE: 1 << 2 } as const;

/** BPF_PROG_QUERY `query_flags`. */
export const QueryFlag = { EFFECTIVE: 1 << 0 } as const;

/** Length of kernel object names (BPF_OBJ_NAME_LEN), including the terminating NUL. */
export const OBJ_NAME_LEN = 16;
/** Size of one instruction slot. */
export const INSN_SIZE = 8;
