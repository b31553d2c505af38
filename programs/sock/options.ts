/**
 * Node-specific settings of the socket load balancer and their validation. The
 * programs read them at build time (they become constants in the bytecode), so
 * an agent compiles its own variant at run time.
 */
import { TsbpfError } from '../../dsl/errors.js';
import type { TargetProfile } from '../../dsl/kernel/index.js';

/** Misuse of the socket-LB factory (bad option, a mode the target cannot do). */
export class SocketLbError extends TsbpfError {}

/** Settings of {@link socketLbPrograms}. */
export interface SocketLbOptions {
  /** Target kernel: profile, profile name, `host` or a profile JSON file (default `host`). */
  readonly target?: string | TargetProfile;
  /** Build the IPv4 programs (default true). */
  readonly ipv4?: boolean;
  /** Build the IPv6 programs (default true). */
  readonly ipv6?: boolean;
  /**
   * Node ports `[first, last]` (default `[30000, 32767]`), or `false` for no
   * NodePort translation from the node itself.
   */
  readonly nodePortRange?: readonly [number, number] | false;
  /**
   * Only translate sockets of the host network namespace (pods' sockets are left
   * to a service mesh / the tc datapath). Needs `bpf_get_netns_cookie` (5.7).
   */
  readonly hostNamespaceOnly?: boolean;
  /**
   * The cookie of the namespace that counts as "host" for `hostNamespaceOnly`
   * (SO_NETNS_COOKIE of a socket there). Default: the initial namespace, which
   * `bpf_get_netns_cookie(NULL)` gives.
   */
  readonly hostNetnsCookie?: bigint;
}

/** {@link SocketLbOptions} with defaults applied and checked. */
export interface ResolvedSocketLbOptions {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly nodePorts: { readonly first: number; readonly last: number } | undefined;
  readonly hostNamespaceOnly: boolean;
  readonly hostNetnsCookie: bigint | undefined;
}

/** Default NodePort range of Kubernetes (`--service-node-port-range`). */
export const DEFAULT_NODE_PORT_RANGE = [30000, 32767] as const;

const KNOWN = new Set(['target', 'ipv4', 'ipv6', 'nodePortRange', 'hostNamespaceOnly', 'hostNetnsCookie']);

/** Applies defaults and rejects bad values with a {@link SocketLbError} naming the option. */
export function resolveSocketLbOptions(o: SocketLbOptions): ResolvedSocketLbOptions {
  if (typeof o !== 'object' || o === null) throw new SocketLbError('SOCKLB_OPTIONS', 'socketLbPrograms: options must be an object');
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw new SocketLbError('SOCKLB_OPTIONS', `socketLbPrograms: unknown option '${k}' (known: ${[...KNOWN].join(', ')})`);
  const bool = (name: 'ipv4' | 'ipv6' | 'hostNamespaceOnly', dflt: boolean): boolean => {
    const v = o[name];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') throw new SocketLbError('SOCKLB_OPTIONS', `socketLbPrograms: ${name} must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  };
  const ipv4 = bool('ipv4', true);
  const ipv6 = bool('ipv6', true);
  if (!ipv4 && !ipv6) throw new SocketLbError('SOCKLB_OPTIONS', 'socketLbPrograms: ipv4 and ipv6 are both off; nothing to build');
  let nodePorts: ResolvedSocketLbOptions['nodePorts'];
  const range = o.nodePortRange === undefined ? DEFAULT_NODE_PORT_RANGE : o.nodePortRange;
  if (range !== false) {
    const ok = Array.isArray(range) && range.length === 2 && range.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535) && range[0]! <= range[1]!;
    if (!ok) throw new SocketLbError('SOCKLB_OPTIONS', `socketLbPrograms: nodePortRange must be [first, last] ports with 1 ≤ first ≤ last ≤ 65535, or false; got ${JSON.stringify(range)}`);
    nodePorts = { first: range[0]!, last: range[1]! };
  }
  const hostNamespaceOnly = bool('hostNamespaceOnly', false);
  const cookie = o.hostNetnsCookie;
  if (cookie !== undefined) {
    if (typeof cookie !== 'bigint' || cookie <= 0n || cookie >= 1n << 64n)
      throw new SocketLbError('SOCKLB_OPTIONS', `socketLbPrograms: hostNetnsCookie must be a positive 64-bit bigint, got ${String(cookie)}`);
    if (!hostNamespaceOnly) throw new SocketLbError('SOCKLB_OPTIONS', 'socketLbPrograms: hostNetnsCookie only applies with hostNamespaceOnly: true');
  }
  return { ipv4, ipv6, nodePorts, hostNamespaceOnly, hostNetnsCookie: cookie };
}
