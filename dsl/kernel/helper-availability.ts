/**
 * Hand-written: which kernel first has each helper, and which program types may
 * call it. The UAPI header has neither.
 *
 * Sources: the kernel's per-program-type `*_func_proto` functions, bcc's
 * docs/kernel-versions.md, bpf-formats.md §6, and kernel commits that opened a
 * helper to a further program type (a commit applied to bpf-next before release N
 * ships in N+1; the comments name the commit where a date is given). Helper ids are assigned in merge
 * order, so a release's helpers form one contiguous id range: the table below gives
 * the first helper of each release, and every helper's version follows from its id
 * (tested for monotonicity and against the timeline).
 *
 * The per-program-type sets were checked against kernel 6.18 by loading a call to
 * each helper (test/kernel-data/helper-availability.test.ts demands exact agreement).
 * Where the release that opened a helper to a program type is not established, the
 * entry says 'unknown': named profiles then leave it out (the DSL refuses rather than
 * emit a program an older verifier rejects), and only profiles at or above
 * VERIFIED_KERNEL, or probed host profiles, include it.
 */
import type { HelperName, ProgTypeName, AttachTypeName } from './enums.js';
import { BpfFunc } from './enums.js';
import { type KernelVersion, type Since, compareKernelVersions, maxVersion } from './version.js';

/** The kernel the program-type sets were verified against. */
export const VERIFIED_KERNEL: KernelVersion = '6.18';

/** First helper (lowest id) of each release that added helpers, in release order. */
export const FIRST_HELPER_OF_RELEASE: readonly (readonly [KernelVersion, HelperName])[] = [
  ['3.19', 'map_lookup_elem'],
  ['4.1', 'probe_read'],
  ['4.2', 'tail_call'],
  ['4.3', 'get_cgroup_classid'],
  ['4.4', 'redirect'],
  ['4.5', 'skb_load_bytes'],
  ['4.6', 'get_stackid'],
  ['4.8', 'skb_change_proto'],
  ['4.9', 'current_task_under_cgroup'],
  ['4.10', 'get_numa_node_id'],
  ['4.11', 'probe_read_str'],
  ['4.12', 'get_socket_cookie'],
  ['4.13', 'set_hash'],
  ['4.14', 'redirect_map'],
  ['4.15', 'xdp_adjust_meta'],
  ['4.16', 'override_return'],
  ['4.17', 'msg_redirect_map'],
  ['4.18', 'xdp_adjust_tail'],
  ['4.19', 'get_local_storage'],
  ['4.20', 'sk_lookup_tcp'],
  ['5.0', 'msg_pop_data'],
  ['5.1', 'spin_lock'],
  ['5.2', 'skc_lookup_tcp'],
  ['5.3', 'send_signal'],
  // tcp_gen_syncookie was applied with DEVMAP_HASH at the end of July 2019: 5.4, not 5.3.
  ['5.4', 'tcp_gen_syncookie'],
  ['5.5', 'skb_output'],
  // tcp_send_ack, send_signal_thread and jiffies64 were applied in January 2020, after 5.5 closed.
  ['5.6', 'tcp_send_ack'],
  // read_branch_records (February 2020) and get_ns_current_pid_tgid (March 2020): 5.7.
  ['5.7', 'read_branch_records'],
  ['5.8', 'ktime_get_boot_ns'],
  ['5.9', 'skc_to_tcp6_sock'],
  ['5.10', 'load_hdr_opt'],
  ['5.11', 'task_storage_get'],
  ['5.12', 'check_mtu'],
  ['5.13', 'for_each_map_elem'],
  ['5.14', 'sys_bpf'],
  ['5.15', 'timer_init'],
  ['5.16', 'get_branch_snapshot'],
  ['5.17', 'find_vma'],
  ['5.18', 'get_retval'],
  ['5.19', 'kptr_xchg'],
  ['6.0', 'tcp_raw_gen_syncookie_ipv4'],
  ['6.1', 'ktime_get_tai_ns'],
  ['6.2', 'cgrp_storage_get'],
];

/** First kernel of each program type (what a profile may load at all). */
export const PROG_TYPE_SINCE: Partial<Record<ProgTypeName, KernelVersion>> = {
  SOCKET_FILTER: '3.19',
  KPROBE: '4.1',
  SCHED_CLS: '4.1',
  SCHED_ACT: '4.1',
  TRACEPOINT: '4.7',
  XDP: '4.8',
  PERF_EVENT: '4.9',
  CGROUP_SKB: '4.10',
  CGROUP_SOCK: '4.10',
  LWT_IN: '4.10',
  LWT_OUT: '4.10',
  LWT_XMIT: '4.10',
  SOCK_OPS: '4.13',
  SK_SKB: '4.14',
  CGROUP_DEVICE: '4.15',
  SK_MSG: '4.17',
  RAW_TRACEPOINT: '4.17',
  CGROUP_SOCK_ADDR: '4.17',
  LWT_SEG6LOCAL: '4.18',
  LIRC_MODE2: '4.18',
  SK_REUSEPORT: '4.19',
  FLOW_DISSECTOR: '4.20',
  CGROUP_SYSCTL: '5.2',
  RAW_TRACEPOINT_WRITABLE: '5.2',
  CGROUP_SOCKOPT: '5.3',
  TRACING: '5.5',
  STRUCT_OPS: '5.6',
  EXT: '5.6',
  LSM: '5.7',
  SK_LOOKUP: '5.9',
  SYSCALL: '5.14',
  NETFILTER: '6.4',
};

/** The program types whose helper sets this table covers (what the DSL compiles). */
export const COVERED_PROG_TYPES = ['SOCKET_FILTER', 'SCHED_CLS', 'SCHED_ACT', 'XDP', 'CGROUP_SKB', 'CGROUP_SOCK_ADDR'] as const;
/** One of the covered program types. */
export type CoveredProgType = (typeof COVERED_PROG_TYPES)[number];

/** `'='`: the type got the helper when the helper appeared (or when the type appeared, if later). */
type Avail = '=' | Since;

const words = (s: string) => s.trim().split(/\s+/);
const all = (s: string, v: Avail): Record<string, Avail> => Object.fromEntries(words(s).map((w) => [w, v]));

/**
 * Helpers in bpf_base_func_proto (every program type, networking included), each
 * from its own first release.
 */
const BASE = all(
  `map_lookup_elem map_update_elem map_delete_elem get_prandom_u32 get_smp_processor_id tail_call
   ktime_get_ns trace_printk get_numa_node_id map_push_elem map_pop_elem map_peek_elem spin_lock spin_unlock
   jiffies64 ktime_get_boot_ns ringbuf_output ringbuf_reserve ringbuf_submit ringbuf_discard ringbuf_query
   ktime_get_coarse_ns for_each_map_elem snprintf timer_init timer_set_callback timer_start timer_cancel loop
   strncmp kptr_xchg map_lookup_percpu_elem dynptr_from_mem ringbuf_reserve_dynptr ringbuf_submit_dynptr
   ringbuf_discard_dynptr dynptr_read dynptr_write dynptr_data ktime_get_tai_ns user_ringbuf_drain`,
  '=',
);

/**
 * Helpers that kernel 6.18 offers every covered program type (mostly through
 * bpf_base_func_proto under CAP_PERFMON/CAP_BPF) but whose opening to networking
 * programs is not dated here.
 */
const LATE_COMMON = all(
  `get_current_pid_tgid get_current_uid_gid get_current_comm get_cgroup_classid perf_event_read
   get_current_task current_task_under_cgroup perf_event_read_value get_current_cgroup_id strtol strtoul
   send_signal probe_read_user probe_read_kernel probe_read_user_str probe_read_kernel_str send_signal_thread
   get_ns_current_pid_tgid get_current_ancestor_cgroup_id skc_to_tcp6_sock skc_to_tcp_sock
   skc_to_tcp_timewait_sock skc_to_tcp_request_sock skc_to_udp6_sock get_task_stack copy_from_user snprintf_btf
   per_cpu_ptr this_cpu_ptr task_storage_get task_storage_delete get_current_task_btf task_pt_regs
   get_branch_snapshot trace_vprintk skc_to_unix_sock find_vma copy_from_user_task skc_to_mptcp_sock
   cgrp_storage_get cgrp_storage_delete perf_event_output`,
  'unknown',
);

/**
 * bpf_get_[ns_]current_pid_tgid were opened to every program type in 6.10 (bpf-next,
 * March 2024); bpf_strtol/strtoul in 6.1 ("expose bpf_strtol and bpf_strtoul to all
 * program types", August 2022).
 */
const PID_TGID_FOR_ALL = { ...all('get_current_pid_tgid get_ns_current_pid_tgid', '6.10'), ...all('strtol strtoul', '6.1') };

/**
 * bpf_ktime_get_ns and bpf_trace_printk started as tracing helpers (4.1) and were
 * opened to socket and tc programs in net-next for 4.2 (May/June 2015).
 */
const TIME_AND_PRINTK_FOR_SKB = all('ktime_get_ns trace_printk', '4.2');

/** Per covered program type: helper → when that type could first call it. */
const BY_TYPE: Record<CoveredProgType, Record<string, Avail>> = {
  SOCKET_FILTER: {
    ...BASE,
    ...LATE_COMMON,
    ...PID_TGID_FOR_ALL,
    ...TIME_AND_PRINTK_FOR_SKB,
    ...all('skb_load_bytes get_socket_cookie get_socket_uid skb_load_bytes_relative', '='),
    // Added to sk_filter_func_proto (so also cgroup_skb) in bpf-next, February 2025.
    get_netns_cookie: '6.15',
  },
  SCHED_CLS: tcHelpers(),
  SCHED_ACT: tcHelpers(),
  XDP: {
    ...BASE,
    ...LATE_COMMON,
    ...all(
      `xdp_adjust_head redirect_map xdp_adjust_meta xdp_adjust_tail fib_lookup sk_lookup_tcp sk_lookup_udp
       sk_release skc_lookup_tcp tcp_check_syncookie tcp_gen_syncookie check_mtu xdp_get_buff_len
       xdp_load_bytes xdp_store_bytes tcp_raw_gen_syncookie_ipv4 tcp_raw_gen_syncookie_ipv6
       tcp_raw_check_syncookie_ipv4 tcp_raw_check_syncookie_ipv6`,
      '=',
    ),
    ...PID_TGID_FOR_ALL,
    redirect: '4.14',
    // The XDP event-output variant was wired up in the same release as XDP itself.
    perf_event_output: '=',
    // "bpf: add csum_diff helper to xdp as well" (bpf-next, January 2018).
    csum_diff: '4.16',
  },
  CGROUP_SKB: {
    ...BASE,
    ...LATE_COMMON,
    ...all(
      `skb_load_bytes get_socket_cookie get_socket_uid skb_load_bytes_relative get_local_storage sk_fullsock
       tcp_sock skb_ecn_set_ce get_listener_sock sk_cgroup_id sk_ancestor_cgroup_id`,
      '=',
    ),
    ...PID_TGID_FOR_ALL,
    // "bpf: Allow sk lookup helpers in cgroup skb" (bpf-next, May 2020).
    ...all('sk_lookup_tcp sk_lookup_udp sk_release skc_lookup_tcp', '5.8'),
    get_netns_cookie: '6.15',
    ...all('skb_cgroup_id skb_ancestor_cgroup_id sk_storage_get sk_storage_delete', 'unknown'),
  },
  CGROUP_SOCK_ADDR: {
    ...BASE,
    ...LATE_COMMON,
    bind: '=',
    // Socket cookie for sock_addr and sock_ops (bpf-next, July 2018).
    get_socket_cookie: '4.19',
    // "bpf: Support socket lookup in CGROUP_SOCK_ADDR progs" (bpf-next, November 2018).
    ...all('sk_lookup_tcp sk_lookup_udp sk_release', '5.0'),
    // skc_lookup_tcp came with a sock_addr variant of its own.
    skc_lookup_tcp: '=',
    // "bpf: export bpf_sock for BPF_PROG_TYPE_CGROUP_SOCK_ADDR" also enabled socket storage (June 2019).
    ...all('sk_storage_get sk_storage_delete', '5.3'),
    // Daniel Borkmann's cgroup-helpers series for connect/sendmsg/recvmsg/bind hooks (March 2020).
    ...all('get_netns_cookie get_current_cgroup_id get_current_ancestor_cgroup_id perf_event_output', '5.7'),
    get_ns_current_pid_tgid: '6.10',
    // cgroup_{common,current}_func_proto reached sock_addr in August 2022 (with the
    // "bpf_{g,s}et_retval exposed everywhere" tests), as did strtol/strtoul for all types.
    ...all('get_retval set_retval strtol strtoul', '6.1'),
    ...all('setsockopt getsockopt get_local_storage', 'unknown'),
  },
};

function tcHelpers(): Record<string, Avail> {
  return {
    ...BASE,
    ...LATE_COMMON,
    ...all(
      `skb_store_bytes l3_csum_replace l4_csum_replace clone_redirect get_cgroup_classid skb_vlan_push
       skb_vlan_pop skb_get_tunnel_key skb_set_tunnel_key redirect get_route_realm skb_load_bytes csum_diff
       skb_get_tunnel_opt skb_set_tunnel_opt skb_change_proto skb_change_type skb_under_cgroup get_hash_recalc
       skb_change_tail skb_pull_data csum_update set_hash_invalid skb_change_head get_socket_cookie
       get_socket_uid set_hash skb_adjust_room skb_get_xfrm_state skb_load_bytes_relative fib_lookup
       skb_cgroup_id skb_ancestor_cgroup_id sk_lookup_tcp sk_lookup_udp sk_release sk_fullsock tcp_sock
       get_listener_sock skc_lookup_tcp tcp_check_syncookie tcp_gen_syncookie sk_assign csum_level
       skb_cgroup_classid redirect_neigh redirect_peer check_mtu skb_set_tstamp tcp_raw_gen_syncookie_ipv4
       tcp_raw_gen_syncookie_ipv6 tcp_raw_check_syncookie_ipv4 tcp_raw_check_syncookie_ipv6`,
      '=',
    ),
    perf_event_output: '4.5',
    ...PID_TGID_FOR_ALL,
    ...TIME_AND_PRINTK_FOR_SKB,
    // "bpf: make bpf_skb_ecn_set_ce callable from BPF_PROG_TYPE_SCHED_ACT" (bpf-next, March 2019).
    skb_ecn_set_ce: '5.2',
    // "bpf: add get_netns_cookie helper to tc programs" (bpf-next, October 2024).
    get_netns_cookie: '6.13',
    ...all('sk_storage_get sk_storage_delete', 'unknown'),
  };
}

/**
 * Attach-type limits inside CGROUP_SOCK_ADDR (the verifier consults
 * expected_attach_type): `only` lists the hooks that may call the helper, `except`
 * the hooks that may not.
 */
export const SOCK_ADDR_ATTACH_LIMITS: Partial<Record<HelperName, { only?: AttachTypeName[]; except?: AttachTypeName[] }>> = {
  bind: { only: ['CGROUP_INET4_CONNECT', 'CGROUP_INET6_CONNECT'] },
  get_retval: { except: ['CGROUP_UDP4_RECVMSG', 'CGROUP_UDP6_RECVMSG', 'CGROUP_INET4_GETPEERNAME', 'CGROUP_INET6_GETPEERNAME', 'CGROUP_INET4_GETSOCKNAME', 'CGROUP_INET6_GETSOCKNAME', 'CGROUP_UNIX_RECVMSG', 'CGROUP_UNIX_GETPEERNAME', 'CGROUP_UNIX_GETSOCKNAME'] },
  set_retval: { except: ['CGROUP_UDP4_RECVMSG', 'CGROUP_UDP6_RECVMSG', 'CGROUP_INET4_GETPEERNAME', 'CGROUP_INET6_GETPEERNAME', 'CGROUP_INET4_GETSOCKNAME', 'CGROUP_INET6_GETSOCKNAME', 'CGROUP_UNIX_RECVMSG', 'CGROUP_UNIX_GETPEERNAME', 'CGROUP_UNIX_GETSOCKNAME'] },
};

/** First kernel of every helper, derived from FIRST_HELPER_OF_RELEASE and the ids. */
export const HELPER_SINCE: Readonly<Record<HelperName, KernelVersion>> = (() => {
  const bounds = FIRST_HELPER_OF_RELEASE.map(([v, name]) => [v, BpfFunc[name]] as const);
  const out: Record<string, KernelVersion> = {};
  for (const [name, id] of Object.entries(BpfFunc)) {
    let v: KernelVersion | undefined;
    for (const [bv, bid] of bounds) if (id >= bid) v = bv;
    if (v !== undefined) out[name] = v;
  }
  return out as Record<HelperName, KernelVersion>;
})();

/** For each covered program type: helper → first kernel it may be called there ('unknown' if undated). */
export const HELPER_PROG_TYPES: Readonly<Record<CoveredProgType, Readonly<Partial<Record<HelperName, Since>>>>> = (() => {
  const out = {} as Record<CoveredProgType, Partial<Record<HelperName, Since>>>;
  for (const t of COVERED_PROG_TYPES) {
    const m: Partial<Record<HelperName, Since>> = {};
    for (const [h, a] of Object.entries(BY_TYPE[t])) {
      if (!(h in BpfFunc)) throw new Error(`helper-availability: unknown helper '${h}' for ${t}`);
      const name = h as HelperName;
      if (a === '=') m[name] = maxVersion(HELPER_SINCE[name], PROG_TYPE_SINCE[t]!);
      else if (a === 'unknown') m[name] = 'unknown';
      else m[name] = maxVersion(a, maxVersion(HELPER_SINCE[name], PROG_TYPE_SINCE[t]!));
    }
    out[t] = m;
  }
  return out;
})();

/**
 * Whether `progType` (with `attachType` for cgroup sock_addr hooks) may call
 * `helper` on kernel `version`. 'unknown' entries count only at or above
 * VERIFIED_KERNEL. Uncovered program types answer undefined (no data).
 */
export function helperAllowed(helper: HelperName, progType: ProgTypeName, version: string, attachType?: AttachTypeName): boolean | undefined {
  if (!(COVERED_PROG_TYPES as readonly string[]).includes(progType)) return undefined;
  const since = HELPER_PROG_TYPES[progType as CoveredProgType][helper];
  if (since === undefined) return false;
  const floor = since === 'unknown' ? VERIFIED_KERNEL : since;
  if (compareKernelVersions(version, floor) < 0) return false;
  if (progType === 'CGROUP_SOCK_ADDR' && attachType !== undefined) {
    const lim = SOCK_ADDR_ATTACH_LIMITS[helper];
    if (lim?.only && !lim.only.includes(attachType)) return false;
    if (lim?.except && lim.except.includes(attachType)) return false;
  }
  return true;
}
