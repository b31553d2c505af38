/**
 * What a target kernel lets the socket load balancer do, read from its profile:
 * which hooks exist (recvmsg 5.2, getpeername 5.8, sock_release 5.9) and which
 * helpers the sock_addr programs may call (set_retval 6.1, get_netns_cookie 5.7,
 * which both host-namespace-only mode and session affinity need).
 * The program bodies consult these at build time, so one source fits every profile.
 */
import { profileAllowsHelper, type AttachTypeName, type TargetProfile } from '../../dsl/kernel/index.js';

/** Build-time facts about the target, per {@link socketLbFeatures}. */
export interface SocketLbFeatures {
  /** `cgroup/recvmsg4/6` exist: UDP replies can be given the VIP back. */
  readonly recvmsg: boolean;
  /** `cgroup/getpeername4/6` exist. */
  readonly getpeername: boolean;
  /** `cgroup/sock_release` exists and can read the socket cookie: reverse-NAT entries are deleted on close. */
  readonly release: boolean;
  /** connect/sendmsg may call bpf_set_retval: a refused connect reports ECONNREFUSED instead of EPERM. */
  readonly setRetval: boolean;
  /** sock_addr programs may call bpf_get_netns_cookie (host-namespace-only mode). */
  readonly netnsCookie: boolean;
  /**
   * connect and sendmsg may call bpf_get_netns_cookie, the client identity of
   * session affinity: without it, services with SERVICE_FLAG_AFFINITY are
   * balanced like any other (see `SocketLb.limitations`).
   */
  readonly affinity: boolean;
}

const hasHook = (p: TargetProfile, a: AttachTypeName) => p.attachTypes.includes(a);

/** The features of `profile`. */
export function socketLbFeatures(profile: TargetProfile): SocketLbFeatures {
  const sockAddr = (helper: 'set_retval' | 'get_netns_cookie', attach: AttachTypeName) => profileAllowsHelper(profile, 'CGROUP_SOCK_ADDR', helper, attach);
  return {
    recvmsg: hasHook(profile, 'CGROUP_UDP4_RECVMSG'),
    getpeername: hasHook(profile, 'CGROUP_INET4_GETPEERNAME'),
    release: hasHook(profile, 'CGROUP_INET_SOCK_RELEASE') && profileAllowsHelper(profile, 'CGROUP_SOCK', 'get_socket_cookie'),
    setRetval: sockAddr('set_retval', 'CGROUP_INET4_CONNECT') && sockAddr('set_retval', 'CGROUP_UDP4_SENDMSG'),
    netnsCookie: sockAddr('get_netns_cookie', 'CGROUP_INET4_CONNECT') && sockAddr('get_netns_cookie', 'CGROUP_UDP4_RECVMSG'),
    affinity: sockAddr('get_netns_cookie', 'CGROUP_INET4_CONNECT') && sockAddr('get_netns_cookie', 'CGROUP_UDP4_SENDMSG'),
  };
}
