/** Naming a network interface, optionally in another network namespace. */
import { getInterface, NetlinkSocket, type InterfaceInfo } from '../netlink/index.js';

/** An interface by name or index, and the network namespace it lives in (default: ours). */
export interface InterfaceTarget {
  readonly iface: string | number;
  /** `ip netns` name or a path like `/proc/PID/ns/net`. */
  readonly netns?: string;
}

/** Looks the interface up through rtnetlink in its namespace. */
export function resolveInterface(target: InterfaceTarget): InterfaceInfo {
  using sock = NetlinkSocket.open({ netns: target.netns });
  return getInterface(sock, target.iface);
}

/** `veth0 (ifindex 4, netns blue)` for messages. */
export function describeInterface(info: { name: string; index: number }, netns?: string): string {
  return `${info.name} (ifindex ${info.index}${netns ? `, netns ${netns}` : ''})`;
}
