/**
 * Attach points tsbpf knows, by the names libbpf uses for ELF sections
 * (`cgroup/connect4`, `cgroup_skb/ingress`, `tcx/ingress`, `xdp`), with the kernel
 * attach type and the program type each needs — both read from dsl/kernel's
 * section table (`sectionDef`), the one place that maps sections to types.
 */
import { sectionDef } from '../../dsl/kernel/sections.js';
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

function hook(name: string, target: HookTarget): HookSpec {
  const def = sectionDef(name);
  // Every hook below is a section with an attach type; a table edit that breaks this fails at import.
  if (def.attachType === undefined) throw new AttachError('ATTACH_UNKNOWN_HOOK', `section '${name}' has no attach type in dsl/kernel's section table`);
  return Object.freeze({ name, attachType: def.attachType, progType: def.progType, target });
}

/** cgroup hooks by short name (the part after `cgroup/` or `cgroup_skb/`). */
export const CGROUP_HOOKS = {
  connect4: hook('cgroup/connect4', 'cgroup'),
  connect6: hook('cgroup/connect6', 'cgroup'),
  sendmsg4: hook('cgroup/sendmsg4', 'cgroup'),
  sendmsg6: hook('cgroup/sendmsg6', 'cgroup'),
  recvmsg4: hook('cgroup/recvmsg4', 'cgroup'),
  recvmsg6: hook('cgroup/recvmsg6', 'cgroup'),
  getpeername4: hook('cgroup/getpeername4', 'cgroup'),
  getpeername6: hook('cgroup/getpeername6', 'cgroup'),
  getsockname4: hook('cgroup/getsockname4', 'cgroup'),
  getsockname6: hook('cgroup/getsockname6', 'cgroup'),
  bind4: hook('cgroup/bind4', 'cgroup'),
  bind6: hook('cgroup/bind6', 'cgroup'),
  post_bind4: hook('cgroup/post_bind4', 'cgroup'),
  post_bind6: hook('cgroup/post_bind6', 'cgroup'),
  sock_create: hook('cgroup/sock_create', 'cgroup'),
  sock_release: hook('cgroup/sock_release', 'cgroup'),
  sock_ops: hook('sockops', 'cgroup'),
  ingress: hook('cgroup_skb/ingress', 'cgroup'),
  egress: hook('cgroup_skb/egress', 'cgroup'),
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
