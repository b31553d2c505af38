/**
 * Attach points tsbpf knows, by the names libbpf uses for ELF sections
 * (`cgroup/connect4`, `cgroup_skb/ingress`, `tcx/ingress`, `xdp`), with the kernel
 * attach type and the program type each needs.
 */
import { AttachType, ProgType, type AttachTypeName, type ProgTypeName } from '../sys/constants.js';
import { AttachError } from './errors.js';

/** Where a hook is attached: a cgroup directory, or a network interface. */
export type HookTarget = 'cgroup' | 'interface';

/** One attach point. */
export interface HookSpec {
  readonly name: string;
  readonly attachType: AttachTypeName;
  readonly progType: ProgTypeName;
  readonly target: HookTarget;
}

function hook(name: string, attachType: AttachTypeName, progType: ProgTypeName, target: HookTarget): HookSpec {
  return Object.freeze({ name, attachType, progType, target });
}

/** cgroup hooks by short name (the part after `cgroup/` or `cgroup_skb/`). */
export const CGROUP_HOOKS = {
  connect4: hook('cgroup/connect4', 'cgroup_inet4_connect', 'cgroup_sock_addr', 'cgroup'),
  connect6: hook('cgroup/connect6', 'cgroup_inet6_connect', 'cgroup_sock_addr', 'cgroup'),
  sendmsg4: hook('cgroup/sendmsg4', 'cgroup_udp4_sendmsg', 'cgroup_sock_addr', 'cgroup'),
  sendmsg6: hook('cgroup/sendmsg6', 'cgroup_udp6_sendmsg', 'cgroup_sock_addr', 'cgroup'),
  recvmsg4: hook('cgroup/recvmsg4', 'cgroup_udp4_recvmsg', 'cgroup_sock_addr', 'cgroup'),
  recvmsg6: hook('cgroup/recvmsg6', 'cgroup_udp6_recvmsg', 'cgroup_sock_addr', 'cgroup'),
  getpeername4: hook('cgroup/getpeername4', 'cgroup_inet4_getpeername', 'cgroup_sock_addr', 'cgroup'),
  getpeername6: hook('cgroup/getpeername6', 'cgroup_inet6_getpeername', 'cgroup_sock_addr', 'cgroup'),
  getsockname4: hook('cgroup/getsockname4', 'cgroup_inet4_getsockname', 'cgroup_sock_addr', 'cgroup'),
  getsockname6: hook('cgroup/getsockname6', 'cgroup_inet6_getsockname', 'cgroup_sock_addr', 'cgroup'),
  bind4: hook('cgroup/bind4', 'cgroup_inet4_bind', 'cgroup_sock_addr', 'cgroup'),
  bind6: hook('cgroup/bind6', 'cgroup_inet6_bind', 'cgroup_sock_addr', 'cgroup'),
  post_bind4: hook('cgroup/post_bind4', 'cgroup_inet4_post_bind', 'cgroup_sock', 'cgroup'),
  post_bind6: hook('cgroup/post_bind6', 'cgroup_inet6_post_bind', 'cgroup_sock', 'cgroup'),
  sock_create: hook('cgroup/sock_create', 'cgroup_inet_sock_create', 'cgroup_sock', 'cgroup'),
  sock_release: hook('cgroup/sock_release', 'cgroup_inet_sock_release', 'cgroup_sock', 'cgroup'),
  sock_ops: hook('sockops', 'cgroup_sock_ops', 'sock_ops', 'cgroup'),
  ingress: hook('cgroup_skb/ingress', 'cgroup_inet_ingress', 'cgroup_skb', 'cgroup'),
  egress: hook('cgroup_skb/egress', 'cgroup_inet_egress', 'cgroup_skb', 'cgroup'),
} as const;

/** Short name of a cgroup hook (`connect4`, `ingress`, …). */
export type CgroupHookName = keyof typeof CGROUP_HOOKS;

/** The names a cgroup hook may be given by: `connect4`, `cgroup/connect4`, `cgroup_skb/ingress`. */
export function cgroupHook(name: string): HookSpec {
  const short = name.replace(/^cgroup(_skb)?\//, '');
  const spec = (CGROUP_HOOKS as Record<string, HookSpec>)[short];
  if (!spec || (name.startsWith('cgroup_skb/') && spec.progType !== 'cgroup_skb')) {
    throw new AttachError(
      'ATTACH_UNKNOWN_HOOK',
      `unknown cgroup hook ${JSON.stringify(name)}; known: ${Object.values(CGROUP_HOOKS).map((h) => h.name).join(', ')}`,
    );
  }
  return spec;
}

/** Numeric attach type of a hook. */
export function attachTypeOf(spec: HookSpec): number {
  return AttachType[spec.attachType];
}

/** Numeric program type of a hook. */
export function progTypeOf(spec: HookSpec): number {
  return ProgType[spec.progType];
}
