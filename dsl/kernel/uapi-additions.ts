/**
 * Hand-written: UAPI constants newer than the machine's header (Debian bookworm ships
 * 6.1 UAPI headers while the toolchain targets kernels up to 6.18). Each entry names
 * the first mainline kernel that has it. The enum values are checked against the
 * running kernel's own BTF (test/kernel-data/uapi-vs-vmlinux.test.ts); when the
 * header is upgraded the generated value wins and the test requires both to agree.
 */

/** A constant newer than the UAPI header, with the first kernel that defines it. */
export interface UapiAddition {
  value: number;
  since: string;
}

/** `enum bpf_cmd` additions. */
export const BPF_CMD_ADDITIONS = {
  TOKEN_CREATE: { value: 36, since: '6.9' },
  PROG_STREAM_READ_BY_FD: { value: 37, since: '6.17' },
} as const satisfies Record<string, UapiAddition>;

/** `enum bpf_map_type` additions. */
export const BPF_MAP_TYPE_ADDITIONS = {
  CGRP_STORAGE: { value: 32, since: '6.2' },
  ARENA: { value: 33, since: '6.9' },
} as const satisfies Record<string, UapiAddition>;

/** `enum bpf_prog_type` additions. */
export const BPF_PROG_TYPE_ADDITIONS = {
  NETFILTER: { value: 32, since: '6.4' },
} as const satisfies Record<string, UapiAddition>;

/** `enum bpf_attach_type` additions. */
export const BPF_ATTACH_TYPE_ADDITIONS = {
  STRUCT_OPS: { value: 44, since: '6.4' },
  NETFILTER: { value: 45, since: '6.4' },
  TCX_INGRESS: { value: 46, since: '6.6' },
  TCX_EGRESS: { value: 47, since: '6.6' },
  TRACE_UPROBE_MULTI: { value: 48, since: '6.6' },
  CGROUP_UNIX_CONNECT: { value: 49, since: '6.7' },
  CGROUP_UNIX_SENDMSG: { value: 50, since: '6.7' },
  CGROUP_UNIX_RECVMSG: { value: 51, since: '6.7' },
  CGROUP_UNIX_GETPEERNAME: { value: 52, since: '6.7' },
  CGROUP_UNIX_GETSOCKNAME: { value: 53, since: '6.7' },
  NETKIT_PRIMARY: { value: 54, since: '6.7' },
  NETKIT_PEER: { value: 55, since: '6.7' },
  TRACE_KPROBE_SESSION: { value: 56, since: '6.10' },
  TRACE_UPROBE_SESSION: { value: 57, since: '6.13' },
} as const satisfies Record<string, UapiAddition>;

/** `enum bpf_link_type` additions. */
export const BPF_LINK_TYPE_ADDITIONS = {
  NETFILTER: { value: 10, since: '6.4' },
  TCX: { value: 11, since: '6.6' },
  UPROBE_MULTI: { value: 12, since: '6.6' },
  NETKIT: { value: 13, since: '6.7' },
  SOCKMAP: { value: 14, since: '6.10' },
} as const satisfies Record<string, UapiAddition>;

/** Map-creation flag additions (anonymous enum after `BPF_F_INNER_MAP`). */
export const MAP_FLAG_ADDITIONS = {
  LINK: { value: 1 << 13, since: '6.4' },
  PATH_FD: { value: 1 << 14, since: '6.5' },
  VTYPE_BTF_OBJ_FD: { value: 1 << 15, since: '6.9' },
  TOKEN_FD: { value: 1 << 16, since: '6.9' },
  SEGV_ON_FAULT: { value: 1 << 17, since: '6.9' },
  NO_USER_CONV: { value: 1 << 18, since: '6.9' },
} as const satisfies Record<string, UapiAddition>;

/**
 * Attach/link flags for multi-program attach points (tcx, netkit), `#define`s in
 * the 6.6+ header. `BPF_F_LINK` has the same value as the map flag of that name.
 */
export const ATTACH_FLAG_ADDITIONS = {
  BEFORE: { value: 1 << 3, since: '6.6' },
  AFTER: { value: 1 << 4, since: '6.6' },
  ID: { value: 1 << 5, since: '6.6' },
  LINK: { value: 1 << 13, since: '6.6' },
} as const satisfies Record<string, UapiAddition>;

/** Helpers (`BPF_FUNC_*`) after the header's last one. */
export const HELPER_ADDITIONS = {
  cgrp_storage_get: { value: 210, since: '6.2' },
  cgrp_storage_delete: { value: 211, since: '6.2' },
} as const satisfies Record<string, UapiAddition>;
