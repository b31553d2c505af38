/**
 * What to probe and how: the kernel's type names (from its own BTF when present,
 * else our tables), and per type the extra load attributes a probe needs.
 * This is probe knowledge — which expected_attach_type makes a type loadable,
 * which map geometry a map type accepts — kept as data.
 */
import { BpfAttachType, BpfFunc, BpfLinkType, BpfMapType, BpfProgType } from '../../dsl/kernel/enums.js';
import type { VmlinuxIndex } from './vmlinux.js';

const notSentinel = (n: string) => n === 'unspec' || n.startsWith('_') || n.startsWith('max_');

/** A name/value pair of a kernel enum. */
export interface EnumEntry {
  readonly name: string;
  readonly value: number;
}

/** The kernel's enums as the prober enumerates them. */
export interface Catalog {
  readonly progTypes: readonly EnumEntry[];
  readonly mapTypes: readonly EnumEntry[];
  readonly attachTypes: readonly EnumEntry[];
  readonly linkTypes: readonly EnumEntry[];
  /** Helper ids with names (`bpf_map_lookup_elem`). */
  readonly helpers: readonly EnumEntry[];
  /** Where the names came from. */
  readonly source: 'vmlinux-btf' | 'tables';
}

/** Entries of a dsl/kernel enum, lower-cased, one per value, sentinels dropped. */
function fromTable(table: Readonly<Record<string, number>>): EnumEntry[] {
  const byValue = new Map<number, string>();
  for (const [key, value] of Object.entries(table)) {
    const name = key.toLowerCase();
    if (notSentinel(name)) continue;
    const prev = byValue.get(value);
    if (prev === undefined || prev.endsWith('_deprecated')) byValue.set(value, name);
  }
  return [...byValue].map(([value, name]) => ({ name, value })).sort((a, b) => a.value - b.value);
}

function fromKernelEnum(
  members: ReadonlyMap<string, number> | undefined,
  prefix: string,
  skip: (name: string) => boolean,
): EnumEntry[] | undefined {
  if (!members) return undefined;
  // Renamed members leave aliases (CGROUP_STORAGE = CGROUP_STORAGE_DEPRECATED):
  // one entry per value, preferring the name that is not marked deprecated.
  const byValue = new Map<number, string>();
  for (const [full, value] of members) {
    if (!full.startsWith(prefix)) continue;
    const name = full.slice(prefix.length).toLowerCase();
    if (skip(name)) continue;
    const prev = byValue.get(value);
    if (prev === undefined || prev.endsWith('_deprecated')) byValue.set(value, name);
  }
  return [...byValue].map(([value, name]) => ({ name, value })).sort((a, b) => a.value - b.value);
}


/**
 * The catalog for this kernel: names from vmlinux BTF (so types newer than our
 * tables are still probed), falling back to dsl/kernel's UAPI tables.
 */
export function buildCatalog(vmlinux: VmlinuxIndex | undefined): Catalog {
  const progTypes = fromKernelEnum(vmlinux?.enumMembers('bpf_prog_type'), 'BPF_PROG_TYPE_', notSentinel);
  const mapTypes = fromKernelEnum(vmlinux?.enumMembers('bpf_map_type'), 'BPF_MAP_TYPE_', notSentinel);
  const attachTypes = fromKernelEnum(vmlinux?.enumMembers('bpf_attach_type'), 'BPF_', (n) => n.startsWith('_') || n.startsWith('max'));
  const helperTable = fromTable(BpfFunc).map((h) => ({ name: `bpf_${h.name}`, value: h.value }));
  const linkTypes = fromKernelEnum(vmlinux?.enumMembers('bpf_link_type'), 'BPF_LINK_TYPE_', notSentinel);
  const helperEnum = fromKernelEnum(vmlinux?.enumMembers('bpf_func_id'), 'BPF_FUNC_', notSentinel);
  const helpers = helperEnum
    ? helperEnum.map((h) => ({ name: `bpf_${h.name}`, value: h.value }))
    : helperTable;
  const complete = progTypes && mapTypes && attachTypes && linkTypes && helperEnum;
  return {
    progTypes: progTypes ?? fromTable(BpfProgType),
    mapTypes: mapTypes ?? fromTable(BpfMapType),
    attachTypes: attachTypes ?? fromTable(BpfAttachType),
    linkTypes: linkTypes ?? fromTable(BpfLinkType),
    helpers,
    source: complete ? 'vmlinux-btf' : 'tables',
  };
}

/** Extra attributes a program type needs to load `r0 = 0; exit`. */
export interface ProgRecipe {
  readonly expectedAttachType?: string;
  readonly sleepable?: boolean;
  readonly kernVersion?: boolean;
  /** Needs attach_btf_id of this vmlinux function. */
  readonly attachFunc?: string;
  /** Cannot be probed with a plain load; why. */
  readonly inconclusive?: string;
}

/** Per program type recipe (absent ⇒ plain load). */
export const PROG_RECIPES: Readonly<Record<string, ProgRecipe>> = {
  kprobe: { kernVersion: true },
  cgroup_sock_addr: { expectedAttachType: 'cgroup_inet4_connect' },
  cgroup_sockopt: { expectedAttachType: 'cgroup_getsockopt' },
  sk_lookup: { expectedAttachType: 'sk_lookup' },
  netfilter: { expectedAttachType: 'netfilter' },
  syscall: { sleepable: true },
  tracing: { expectedAttachType: 'trace_fentry', attachFunc: 'bpf_fentry_test1' },
  lsm: { expectedAttachType: 'lsm_mac', attachFunc: 'bpf_lsm_file_open' },
  ext: { inconclusive: 'an extension program needs a BTF-described target program to replace' },
  struct_ops: { inconclusive: 'a struct_ops program needs a struct_ops type and member from vmlinux BTF' },
};

/** Geometry of a map-type probe. */
export interface MapRecipe {
  readonly keySize?: number;
  readonly valueSize?: number;
  /** `'page'` = the page size. */
  readonly maxEntries?: number | 'page';
  readonly flags?: readonly string[];
  /** Needs an inner array map fd. */
  readonly inner?: boolean;
  /** Needs BTF: int key, 8-byte value. */
  readonly btf?: boolean;
  readonly inconclusive?: string;
}

/** Per map type recipe (absent ⇒ key 4, value 4, max 1). */
export const MAP_RECIPES: Readonly<Record<string, MapRecipe>> = {
  lpm_trie: { keySize: 8, valueSize: 8, flags: ['NO_PREALLOC'] },
  ringbuf: { keySize: 0, valueSize: 0, maxEntries: 'page' },
  user_ringbuf: { keySize: 0, valueSize: 0, maxEntries: 'page' },
  queue: { keySize: 0 },
  stack: { keySize: 0 },
  bloom_filter: { keySize: 0 },
  stack_trace: { valueSize: 8 },
  array_of_maps: { inner: true },
  hash_of_maps: { inner: true },
  cgroup_storage: { keySize: 16, valueSize: 8, maxEntries: 0 },
  percpu_cgroup_storage: { keySize: 16, valueSize: 8, maxEntries: 0 },
  sk_storage: { btf: true, valueSize: 8, maxEntries: 0, flags: ['NO_PREALLOC'] },
  inode_storage: { btf: true, valueSize: 8, maxEntries: 0, flags: ['NO_PREALLOC'] },
  task_storage: { btf: true, valueSize: 8, maxEntries: 0, flags: ['NO_PREALLOC'] },
  cgrp_storage: { btf: true, valueSize: 8, maxEntries: 0, flags: ['NO_PREALLOC'] },
  arena: { keySize: 0, valueSize: 0, maxEntries: 1, flags: ['MMAPABLE'] },
  struct_ops: { inconclusive: 'a struct_ops map needs a vmlinux struct_ops value type (btf_vmlinux_value_type_id)' },
};

/** How an attach type is decided. */
export interface AttachRecipe {
  /** Program type to load (with the attach type as expected_attach_type). */
  readonly progType: string;
  /** `attach`: BPF_PROG_ATTACH with a bad target; `link`: BPF_LINK_CREATE with a bad target; `load`: the load alone. */
  readonly method: 'attach' | 'link' | 'load';
  /** attach_btf_id function for tracing/LSM loads. */
  readonly attachFunc?: string;
  /** Whether to pass the attach type as expected_attach_type at load (default true). */
  readonly expectAtLoad?: boolean;
  readonly inconclusive?: string;
}

const cg = (progType: string): AttachRecipe => ({ progType, method: 'attach' });

/** Per attach type: how we decide it. */
export const ATTACH_RECIPES: Readonly<Record<string, AttachRecipe>> = {
  cgroup_inet_ingress: cg('cgroup_skb'),
  cgroup_inet_egress: cg('cgroup_skb'),
  cgroup_inet_sock_create: cg('cgroup_sock'),
  cgroup_inet_sock_release: cg('cgroup_sock'),
  cgroup_inet4_post_bind: cg('cgroup_sock'),
  cgroup_inet6_post_bind: cg('cgroup_sock'),
  cgroup_sock_ops: cg('sock_ops'),
  cgroup_device: cg('cgroup_device'),
  cgroup_sysctl: cg('cgroup_sysctl'),
  cgroup_getsockopt: cg('cgroup_sockopt'),
  cgroup_setsockopt: cg('cgroup_sockopt'),
  cgroup_inet4_bind: cg('cgroup_sock_addr'),
  cgroup_inet6_bind: cg('cgroup_sock_addr'),
  cgroup_inet4_connect: cg('cgroup_sock_addr'),
  cgroup_inet6_connect: cg('cgroup_sock_addr'),
  cgroup_udp4_sendmsg: cg('cgroup_sock_addr'),
  cgroup_udp6_sendmsg: cg('cgroup_sock_addr'),
  cgroup_udp4_recvmsg: cg('cgroup_sock_addr'),
  cgroup_udp6_recvmsg: cg('cgroup_sock_addr'),
  cgroup_inet4_getpeername: cg('cgroup_sock_addr'),
  cgroup_inet6_getpeername: cg('cgroup_sock_addr'),
  cgroup_inet4_getsockname: cg('cgroup_sock_addr'),
  cgroup_inet6_getsockname: cg('cgroup_sock_addr'),
  cgroup_unix_connect: cg('cgroup_sock_addr'),
  cgroup_unix_sendmsg: cg('cgroup_sock_addr'),
  cgroup_unix_recvmsg: cg('cgroup_sock_addr'),
  cgroup_unix_getpeername: cg('cgroup_sock_addr'),
  cgroup_unix_getsockname: cg('cgroup_sock_addr'),
  cgroup_inet_sock_accept: cg('cgroup_sock'),
  sk_skb_stream_parser: cg('sk_skb'),
  sk_skb_stream_verdict: cg('sk_skb'),
  sk_skb_verdict: cg('sk_skb'),
  sk_msg_verdict: cg('sk_msg'),
  // PROG_ATTACH for flow_dissector refuses any target_fd with EINVAL; the netns link takes one.
  flow_dissector: { progType: 'flow_dissector', method: 'link' },
  lirc_mode2: cg('lirc_mode2'),
  sk_lookup: { progType: 'sk_lookup', method: 'link' },
  xdp: { progType: 'xdp', method: 'link' },
  xdp_devmap: { progType: 'xdp', method: 'load' },
  xdp_cpumap: { progType: 'xdp', method: 'load' },
  sk_reuseport_select: { progType: 'sk_reuseport', method: 'load' },
  sk_reuseport_select_or_migrate: { progType: 'sk_reuseport', method: 'load' },
  tcx_ingress: { progType: 'sched_cls', method: 'link' },
  tcx_egress: { progType: 'sched_cls', method: 'link' },
  netkit_primary: { progType: 'sched_cls', method: 'link' },
  netkit_peer: { progType: 'sched_cls', method: 'link' },
  netfilter: { progType: 'netfilter', method: 'link' },
  perf_event: { progType: 'perf_event', method: 'link', expectAtLoad: false },
  trace_kprobe_multi: { progType: 'kprobe', method: 'link' },
  trace_kprobe_session: { progType: 'kprobe', method: 'link' },
  trace_uprobe_multi: { progType: 'kprobe', method: 'link' },
  trace_uprobe_session: { progType: 'kprobe', method: 'link' },
  trace_fentry: { progType: 'tracing', method: 'load', attachFunc: 'bpf_fentry_test1' },
  trace_fexit: { progType: 'tracing', method: 'load', attachFunc: 'bpf_fentry_test1' },
  modify_return: { progType: 'tracing', method: 'load', attachFunc: 'bpf_modify_return_test' },
  lsm_mac: { progType: 'lsm', method: 'load', attachFunc: 'bpf_lsm_file_open' },
  lsm_cgroup: { progType: 'lsm', method: 'load', attachFunc: 'bpf_lsm_socket_post_create' },
  trace_raw_tp: { progType: 'tracing', method: 'load', inconclusive: 'needs a btf_trace_* typedef id, not a function id' },
  trace_iter: { progType: 'tracing', method: 'load', attachFunc: 'bpf_iter_task' },
  struct_ops: { progType: 'struct_ops', method: 'load', inconclusive: 'needs a struct_ops map' },
};
