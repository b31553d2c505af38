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
  connect4: hook('cgroup/connect4', 'CGROUP_INET4_CONNECT', 'CGROUP_SOCK_ADDR', 'cgroup'),
  connect6: hook('cgroup/connect6', 'CGROUP_INET6_CONNECT', 'CGROUP_SOCK_ADDR', 'cgroup'),
  sendmsg4: hook('cgroup/sendmsg4', 'CGROUP_UDP4_SENDMSG', 'CGROUP_SOCK_ADDR', 'cgroup'),
  sendmsg6: hook('cgroup/sendmsg6', 'CGROUP_UDP6_SENDMSG', 'CGROUP_SOCK_ADDR', 'cgroup'),
  recvmsg4: hook('cgroup/recvmsg4', 'CGROUP_UDP4_RECVMSG', 'CGROUP_SOCK_ADDR', 'cgroup'),
  recvmsg6: hook('cgroup/recvmsg6', 'CGROUP_UDP6_RECVMSG', 'CGROUP_SOCK_ADDR', 'cgroup'),
  getpeername4: hook('cgroup/getpeername4', 'CGROUP_INET4_GETPEERNAME', 'CGROUP_SOCK_ADDR', 'cgroup'),
  getpeername6: hook('cgroup/getpeername6', 'CGROUP_INET6_GETPEERNAME', 'CGROUP_SOCK_ADDR', 'cgroup'),
  getsockname4: hook('cgroup/getsockname4', 'CGROUP_INET4_GETSOCKNAME', 'CGROUP_SOCK_ADDR', 'cgroup'),
  getsockname6: hook('cgroup/getsockname6', 'CGROUP_INET6_GETSOCKNAME', 'CGROUP_SOCK_ADDR', 'cgroup'),
  bind4: hook('cgroup/bind4', 'CGROUP_INET4_BIND', 'CGROUP_SOCK_ADDR', 'cgroup'),
  bind6: hook('cgroup/bind6', 'CGROUP_INET6_BIND', 'CGROUP_SOCK_ADDR', 'cgroup'),
  post_bind4: hook('cgroup/post_bind4', 'CGROUP_INET4_POST_BIND', 'CGROUP_SOCK', 'cgroup'),
  post_bind6: hook('cgroup/post_bind6', 'CGROUP_INET6_POST_BIND', 'CGROUP_SOCK', 'cgroup'),
  sock_create: hook('cgroup/sock_create', 'CGROUP_INET_SOCK_CREATE', 'CGROUP_SOCK', 'cgroup'),
  sock_release: hook('cgroup/sock_release', 'CGROUP_INET_SOCK_RELEASE', 'CGROUP_SOCK', 'cgroup'),
  sock_ops: hook('sockops', 'CGROUP_SOCK_OPS', 'SOCK_OPS', 'cgroup'),
  ingress: hook('cgroup_skb/ingress', 'CGROUP_INET_INGRESS', 'CGROUP_SKB', 'cgroup'),
  egress: hook('cgroup_skb/egress', 'CGROUP_INET_EGRESS', 'CGROUP_SKB', 'cgroup'),
} as const;

/** Short name of a cgroup hook (`connect4`, `ingress`, …). */
export type CgroupHookName = keyof typeof CGROUP_HOOKS;

/** The names a cgroup hook may be given by: `connect4`, `cgroup/connect4`, `cgroup_skb/ingress`. */
export function cgroupHook(name: string): HookSpec {
  const short = name.replace(/^cgroup(_skb)?\//, '');
  const spec = (CGROUP_HOOKS as Record<string, HookSpec>)[short];
  if (!spec || (name.startsWith('cgroup_skb/') && spec.progType !== 'CGROUP_SKB')) {
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
