/** Interface addresses over rtnetlink (RTM_GETADDR dump). */
import { AttrSet } from './attributes.js';
import { AF_UNSPEC } from './constants.js';
import { NetlinkUsageError } from './errors.js';
import { ipText } from './ip-bytes.js';
import type { IncomingMessage } from './message.js';
import { AF_INET6, IFA_ADDRESS, IFA_F_DEPRECATED, IFA_F_SECONDARY, IFA_F_TENTATIVE, IFA_FLAGS, IFA_LOCAL, RTM_GETADDR, RTM_NEWADDR } from './route-constants.js';
import type { NetlinkSocket } from './socket.js';

/** Size of `struct ifaddrmsg`. */
const IFADDRMSG_LEN = 8;

/** One address of an interface. */
export interface InterfaceAddress {
  readonly ifindex: number;
  readonly family: 'ipv4' | 'ipv6';
  readonly address: string;
  readonly prefixLen: number;
  /** `RT_SCOPE_*`: 0 global, 253 link, 254 host. */
  readonly scope: number;
  /** Secondary (IPv4) or temporary (IPv6). */
  readonly secondary: boolean;
  /** Deprecated or still in duplicate address detection (IPv6): not for new flows. */
  readonly unusable: boolean;
}

function decodeAddress(msg: IncomingMessage): InterfaceAddress | undefined {
  if (msg.type !== RTM_NEWADDR) return undefined;
  if (msg.payload.length < IFADDRMSG_LEN) throw new NetlinkUsageError(`ifaddrmsg needs ${IFADDRMSG_LEN} bytes, got ${msg.payload.length}`);
  const v = new DataView(msg.payload.buffer, msg.payload.byteOffset, msg.payload.byteLength);
  const family = v.getUint8(0);
  const attrs = AttrSet.decode(msg.payload.subarray(IFADDRMSG_LEN));
  // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on point-to-point links).
  const raw = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (!raw) return undefined;
  const flags = attrs.u32(IFA_FLAGS) ?? v.getUint8(2);
  return {
    ifindex: v.getUint32(4, true),
    family: family === AF_INET6 ? 'ipv6' : 'ipv4',
    address: ipText(raw),
    prefixLen: v.getUint8(1),
    scope: v.getUint8(3),
    secondary: (flags & IFA_F_SECONDARY) !== 0,
    unusable: (flags & (IFA_F_DEPRECATED | IFA_F_TENTATIVE)) !== 0,
  };
}

/** Every address of the socket's network namespace (optionally of one interface). */
export function listAddresses(sock: NetlinkSocket, ifindex?: number): InterfaceAddress[] {
  const header = new Uint8Array(IFADDRMSG_LEN);
  header[0] = AF_UNSPEC;
  const all = sock.dump('RTM_GETADDR dump', { type: RTM_GETADDR, header }).map(decodeAddress);
  return all.filter((a): a is InterfaceAddress => a !== undefined && (ifindex === undefined || a.ifindex === ifindex));
}
