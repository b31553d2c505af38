/**
 * The socket-level load balancer: cgroup sock_addr programs that translate a
 * service address to a backend once per connection (connect4/6, sendmsg4/6), give
 * UDP replies and getpeername the service address back (recvmsg4/6,
 * getpeername4/6), and clean up on close (sock_release). `socketLbPrograms`
 * returns the programs for one node's settings and target kernel, with the cgroup
 * hook of each; programs whose hook the target lacks are listed in `omitted`,
 * behaviours the target cannot give (session affinity before 5.7) in `limitations`.
 *
 * ```ts
 * const lb = socketLbPrograms({ target: 'host', nodePortRange: [30000, 32767] });
 * const { elf } = compile(lb.programs, { target: lb.profile });
 * // load, then for (const a of lb.attach) attachCgroup(obj.program(a.program), { hook: a.hook, cgroup })
 * ```
 */
import { compile, type CompileOptions, type CompileResult } from '../../dsl/compile/index.js';
import { resolveTarget } from '../../dsl/compile/target.js';
import type { AttachTypeName, TargetProfile } from '../../dsl/kernel/index.js';
import { program, type ProgramDef } from '../../dsl/program/index.js';
import { socketLbFeatures, type SocketLbFeatures } from './features.js';
import { forward4 } from './forward4.js';
import { forward6 } from './forward6.js';
import { resolveSocketLbOptions, SocketLbError, type ResolvedSocketLbOptions, type SocketLbOptions } from './options.js';
import { release } from './release.js';
import { reverse4, reverse6 } from './reverse.js';

export { SocketLbError, DEFAULT_NODE_PORT_RANGE, type SocketLbOptions, type ResolvedSocketLbOptions } from './options.js';
export { socketLbFeatures, type SocketLbFeatures } from './features.js';
export { ECONNREFUSED } from './common.js';
export { localNodeAddresses, nodeAddressEntries, type NodeAddressEntry } from './node-addrs.js';

/** cgroup hooks the socket LB attaches to (names `attachCgroup` takes). */
export type SocketLbHook =
  | 'connect4' | 'connect6' | 'sendmsg4' | 'sendmsg6' | 'recvmsg4' | 'recvmsg6' | 'getpeername4' | 'getpeername6' | 'sock_release';

/** One program and the cgroup hook it goes to. */
export interface SocketLbAttach {
  /** Program name in the object (`obj.program(name)`). */
  readonly program: string;
  readonly hook: SocketLbHook;
}

/** A program the target cannot run, and why. */
export interface SocketLbOmitted extends SocketLbAttach {
  readonly reason: string;
}

/** A behaviour the programs built for a target do not have, and what happens instead. */
export interface SocketLbLimitation {
  /** `sessionAffinity`: services with SERVICE_FLAG_AFFINITY are balanced per connection/socket like the rest. */
  readonly feature: 'sessionAffinity';
  readonly reason: string;
}

/** What {@link socketLbPrograms} returns. */
export interface SocketLb {
  readonly profile: TargetProfile;
  readonly options: ResolvedSocketLbOptions;
  readonly features: SocketLbFeatures;
  /** The program declarations by name: the input of `compile()`. */
  readonly programs: Readonly<Record<string, ProgramDef>>;
  /** Which program goes to which cgroup hook, in attach order (connect first). */
  readonly attach: readonly SocketLbAttach[];
  /** Programs left out for this target, with the reason. */
  readonly omitted: readonly SocketLbOmitted[];
  /** What the attached programs cannot do on this target, with the reason. */
  readonly limitations: readonly SocketLbLimitation[];
}

interface Candidate extends SocketLbAttach {
  readonly family: 4 | 6 | 0;
  readonly attachType: AttachTypeName;
  readonly make: () => ProgramDef;
}

/**
 * The socket-LB programs for `options` (target default `host`). Throws a
 * {@link SocketLbError} for a bad option or a mode the target cannot do
 * (host-namespace-only without bpf_get_netns_cookie).
 */
export function socketLbPrograms(options: SocketLbOptions = {}): SocketLb {
  const o = resolveSocketLbOptions(options);
  const profile = resolveTarget(options.target ?? 'host');
  const f = socketLbFeatures(profile);
  if (o.hostNamespaceOnly && !f.netnsCookie)
    throw new SocketLbError('SOCKLB_UNSUPPORTED', `socketLbPrograms: hostNamespaceOnly needs bpf_get_netns_cookie in sock_addr programs (kernel 5.7); target ${profile.name} (kernel ${profile.kernel}) does not have it`);

  const all: Candidate[] = [
    { program: 'sock4_connect', hook: 'connect4', family: 4, attachType: 'CGROUP_INET4_CONNECT', make: () => program('cgroup/connect4', 'sock4_connect', (b, ctx) => forward4(b, ctx, o, f)) },
    { program: 'sock6_connect', hook: 'connect6', family: 6, attachType: 'CGROUP_INET6_CONNECT', make: () => program('cgroup/connect6', 'sock6_connect', (b, ctx) => forward6(b, ctx, o, f)) },
    { program: 'sock4_sendmsg', hook: 'sendmsg4', family: 4, attachType: 'CGROUP_UDP4_SENDMSG', make: () => program('cgroup/sendmsg4', 'sock4_sendmsg', (b, ctx) => forward4(b, ctx, o, f)) },
    { program: 'sock6_sendmsg', hook: 'sendmsg6', family: 6, attachType: 'CGROUP_UDP6_SENDMSG', make: () => program('cgroup/sendmsg6', 'sock6_sendmsg', (b, ctx) => forward6(b, ctx, o, f)) },
    { program: 'sock4_recvmsg', hook: 'recvmsg4', family: 4, attachType: 'CGROUP_UDP4_RECVMSG', make: () => program('cgroup/recvmsg4', 'sock4_recvmsg', (b, ctx) => reverse4(b, ctx)) },
    { program: 'sock6_recvmsg', hook: 'recvmsg6', family: 6, attachType: 'CGROUP_UDP6_RECVMSG', make: () => program('cgroup/recvmsg6', 'sock6_recvmsg', (b, ctx) => reverse6(b, ctx, o.ipv4)) },
    { program: 'sock4_getpeer', hook: 'getpeername4', family: 4, attachType: 'CGROUP_INET4_GETPEERNAME', make: () => program('cgroup/getpeername4', 'sock4_getpeer', (b, ctx) => reverse4(b, ctx)) },
    { program: 'sock6_getpeer', hook: 'getpeername6', family: 6, attachType: 'CGROUP_INET6_GETPEERNAME', make: () => program('cgroup/getpeername6', 'sock6_getpeer', (b, ctx) => reverse6(b, ctx, o.ipv4)) },
    { program: 'sock_release', hook: 'sock_release', family: 0, attachType: 'CGROUP_INET_SOCK_RELEASE', make: () => program('cgroup/sock_release', 'sock_release', (b, ctx) => release(b, ctx, o)) },
  ];

  const programs: Record<string, ProgramDef> = {};
  const attach: SocketLbAttach[] = [];
  const omitted: SocketLbOmitted[] = [];
  for (const c of all) {
    if ((c.family === 4 && !o.ipv4) || (c.family === 6 && !o.ipv6)) continue;
    const entry = { program: c.program, hook: c.hook };
    if (!profile.attachTypes.includes(c.attachType)) {
      const why = c.hook.startsWith('recvmsg')
        ? 'UDP replies keep the backend as their source address'
        : c.hook.startsWith('getpeername')
          ? 'getpeername() reports the backend'
          : 'socket reverse-NAT entries age out of the LRU instead of being deleted on close';
      omitted.push({ ...entry, reason: `target ${profile.name} (kernel ${profile.kernel}) has no ${c.attachType} hook; ${why}` });
      continue;
    }
    if (c.hook === 'sock_release' && !f.release) {
      omitted.push({ ...entry, reason: `target ${profile.name}: sock_release programs cannot read the socket cookie; reverse-NAT entries age out of the LRU instead` });
      continue;
    }
    programs[c.program] = c.make();
    attach.push(entry);
  }
  const limitations: SocketLbLimitation[] = [];
  if (!f.affinity)
    limitations.push({
      feature: 'sessionAffinity',
      reason: `target ${profile.name} (kernel ${profile.kernel}): connect/sendmsg cannot call bpf_get_netns_cookie (kernel 5.7), the socket LB's client identity; services with session affinity get a backend per connection (UDP: per socket) like any other`,
    });
  return { profile, options: o, features: f, programs, attach, omitted, limitations };
}

/** {@link socketLbPrograms} compiled in one step: the ELF and reports, plus the attach list. */
export function compileSocketLb(options: SocketLbOptions = {}, compileOptions: Omit<CompileOptions, 'target'> = {}): CompileResult & { readonly lb: SocketLb } {
  const lb = socketLbPrograms(options);
  return { ...compile(lb.programs, { ...compileOptions, target: lb.profile }), lb };
}
