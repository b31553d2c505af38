/**
 * ELF section names (libbpf's SEC() convention) → program type and attach type.
 * Hand-written from libbpf's section table; `tsbpf build` writes these names and the
 * loader reads them back, so an object built here loads with libbpf/bpftool too.
 */
import type { AttachTypeName, ProgTypeName } from './enums.js';
import { KernelDataError } from './version.js';

/**
 * Whether BPF_PROG_LOAD must carry `expected_attach_type`: 'required' (the verifier
 * needs the hook: sock_addr, cgroup/sock, devmap…), 'optional' (libbpf sets it when
 * the kernel supports it), 'none' (only used at attach time).
 */
export type ExpectedAttach = 'required' | 'optional' | 'none';

/** What a section name means. */
export interface SectionDef {
  /** The section name, or its prefix for names ending in `+` (`kprobe+` matches `kprobe/…`). */
  section: string;
  progType: ProgTypeName;
  attachType?: AttachTypeName;
  expectedAttach: ExpectedAttach;
}

const d = (section: string, progType: ProgTypeName, attachType: AttachTypeName | undefined, expectedAttach: ExpectedAttach): SectionDef =>
  attachType === undefined ? { section, progType, expectedAttach } : { section, progType, attachType, expectedAttach };

/** The section table, most specific names first (matching takes the first hit). */
export const SECTIONS: readonly SectionDef[] = [
  d('socket', 'SOCKET_FILTER', undefined, 'none'),
  d('sk_reuseport/migrate', 'SK_REUSEPORT', 'SK_REUSEPORT_SELECT_OR_MIGRATE', 'required'),
  d('sk_reuseport', 'SK_REUSEPORT', 'SK_REUSEPORT_SELECT', 'required'),
  d('kprobe+', 'KPROBE', undefined, 'none'),
  d('kretprobe+', 'KPROBE', undefined, 'none'),
  d('uprobe+', 'KPROBE', undefined, 'none'),
  d('uretprobe+', 'KPROBE', undefined, 'none'),
  d('tracepoint+', 'TRACEPOINT', undefined, 'none'),
  d('tp+', 'TRACEPOINT', undefined, 'none'),
  d('raw_tracepoint+', 'RAW_TRACEPOINT', undefined, 'none'),
  d('raw_tp+', 'RAW_TRACEPOINT', undefined, 'none'),
  d('tp_btf+', 'TRACING', 'TRACE_RAW_TP', 'required'),
  d('fentry+', 'TRACING', 'TRACE_FENTRY', 'required'),
  d('fexit+', 'TRACING', 'TRACE_FEXIT', 'required'),
  d('fmod_ret+', 'TRACING', 'MODIFY_RETURN', 'required'),
  d('lsm+', 'LSM', 'LSM_MAC', 'required'),
  d('iter+', 'TRACING', 'TRACE_ITER', 'required'),
  d('syscall', 'SYSCALL', undefined, 'none'),
  d('xdp.frags/devmap', 'XDP', 'XDP_DEVMAP', 'required'),
  d('xdp/devmap', 'XDP', 'XDP_DEVMAP', 'required'),
  d('xdp.frags/cpumap', 'XDP', 'XDP_CPUMAP', 'required'),
  d('xdp/cpumap', 'XDP', 'XDP_CPUMAP', 'required'),
  d('xdp.frags', 'XDP', 'XDP', 'optional'),
  d('xdp', 'XDP', 'XDP', 'optional'),
  d('perf_event', 'PERF_EVENT', undefined, 'none'),
  d('lwt_in', 'LWT_IN', undefined, 'none'),
  d('lwt_out', 'LWT_OUT', undefined, 'none'),
  d('lwt_xmit', 'LWT_XMIT', undefined, 'none'),
  d('lwt_seg6local', 'LWT_SEG6LOCAL', undefined, 'none'),
  d('sockops', 'SOCK_OPS', 'CGROUP_SOCK_OPS', 'optional'),
  d('sk_skb/stream_parser', 'SK_SKB', 'SK_SKB_STREAM_PARSER', 'optional'),
  d('sk_skb/stream_verdict', 'SK_SKB', 'SK_SKB_STREAM_VERDICT', 'optional'),
  d('sk_skb/verdict', 'SK_SKB', 'SK_SKB_VERDICT', 'optional'),
  d('sk_skb', 'SK_SKB', undefined, 'none'),
  d('sk_msg', 'SK_MSG', 'SK_MSG_VERDICT', 'optional'),
  d('lirc_mode2', 'LIRC_MODE2', 'LIRC_MODE2', 'optional'),
  d('flow_dissector', 'FLOW_DISSECTOR', 'FLOW_DISSECTOR', 'optional'),
  d('cgroup_skb/ingress', 'CGROUP_SKB', 'CGROUP_INET_INGRESS', 'optional'),
  d('cgroup_skb/egress', 'CGROUP_SKB', 'CGROUP_INET_EGRESS', 'optional'),
  d('cgroup/skb', 'CGROUP_SKB', undefined, 'none'),
  d('cgroup/sock_create', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_CREATE', 'required'),
  d('cgroup/sock_release', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_RELEASE', 'required'),
  d('cgroup/sock', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_CREATE', 'optional'),
  d('cgroup/post_bind4', 'CGROUP_SOCK', 'CGROUP_INET4_POST_BIND', 'required'),
  d('cgroup/post_bind6', 'CGROUP_SOCK', 'CGROUP_INET6_POST_BIND', 'required'),
  d('cgroup/bind4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_BIND', 'required'),
  d('cgroup/bind6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_BIND', 'required'),
  d('cgroup/connect4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT', 'required'),
  d('cgroup/connect6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_CONNECT', 'required'),
  d('cgroup/connect_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_CONNECT', 'required'),
  d('cgroup/sendmsg4', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP4_SENDMSG', 'required'),
  d('cgroup/sendmsg6', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP6_SENDMSG', 'required'),
  d('cgroup/sendmsg_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_SENDMSG', 'required'),
  d('cgroup/recvmsg4', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP4_RECVMSG', 'required'),
  d('cgroup/recvmsg6', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP6_RECVMSG', 'required'),
  d('cgroup/recvmsg_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_RECVMSG', 'required'),
  d('cgroup/getpeername4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_GETPEERNAME', 'required'),
  d('cgroup/getpeername6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_GETPEERNAME', 'required'),
  d('cgroup/getpeername_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_GETPEERNAME', 'required'),
  d('cgroup/getsockname4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_GETSOCKNAME', 'required'),
  d('cgroup/getsockname6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_GETSOCKNAME', 'required'),
  d('cgroup/getsockname_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_GETSOCKNAME', 'required'),
  d('cgroup/sysctl', 'CGROUP_SYSCTL', 'CGROUP_SYSCTL', 'required'),
  d('cgroup/getsockopt', 'CGROUP_SOCKOPT', 'CGROUP_GETSOCKOPT', 'required'),
  d('cgroup/setsockopt', 'CGROUP_SOCKOPT', 'CGROUP_SETSOCKOPT', 'required'),
  d('cgroup/dev', 'CGROUP_DEVICE', 'CGROUP_DEVICE', 'optional'),
  d('tcx/ingress', 'SCHED_CLS', 'TCX_INGRESS', 'none'),
  d('tcx/egress', 'SCHED_CLS', 'TCX_EGRESS', 'none'),
  d('tc/ingress', 'SCHED_CLS', 'TCX_INGRESS', 'none'),
  d('tc/egress', 'SCHED_CLS', 'TCX_EGRESS', 'none'),
  d('tc', 'SCHED_CLS', undefined, 'none'),
  d('classifier', 'SCHED_CLS', undefined, 'none'),
  d('action', 'SCHED_ACT', undefined, 'none'),
  d('netkit/primary', 'SCHED_CLS', 'NETKIT_PRIMARY', 'none'),
  d('netkit/peer', 'SCHED_CLS', 'NETKIT_PEER', 'none'),
  d('netfilter', 'NETFILTER', 'NETFILTER', 'required'),
  d('sk_lookup', 'SK_LOOKUP', 'SK_LOOKUP', 'required'),
];

/**
 * Resolves a section name: an exact entry, or a `name+` entry followed by `/…`
 * (`kprobe/do_sys_open`). Throws KernelDataError naming close candidates if unknown.
 */
export function sectionDef(name: string): SectionDef {
  for (const s of SECTIONS) {
    if (s.section.endsWith('+')) {
      const base = s.section.slice(0, -1);
      if (name === base || name.startsWith(base + '/')) return s;
    } else if (name === s.section) {
      return s;
    }
  }
  const head = name.split('/')[0]!;
  const near = SECTIONS.filter((s) => s.section.startsWith(head)).map((s) => s.section);
  throw new KernelDataError('UNKNOWN_SECTION', `unknown section name '${name}'${near.length ? `; did you mean one of: ${near.join(', ')}` : ''}`);
}
