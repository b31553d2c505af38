/** Network interfaces over rtnetlink: name ↔ index and what XDP program is attached. */
import { AttrSet, stringAttr } from './attributes.js';
import {
  AF_UNSPEC,
  IFLA_IFNAME,
  IFLA_XDP,
  IFLA_XDP_ATTACHED,
  IFLA_XDP_DRV_PROG_ID,
  IFLA_XDP_HW_PROG_ID,
  IFLA_XDP_PROG_ID,
  IFLA_XDP_SKB_PROG_ID,
  RTM_GETLINK,
  RTM_NEWLINK,
  XDP_ATTACHED_DRV,
  XDP_ATTACHED_HW,
  XDP_ATTACHED_MULTI,
  XDP_ATTACHED_SKB,
} from './constants.js';
import { NetlinkUsageError } from './errors.js';
import { macText } from './ip-bytes.js';
import { IFLA_ADDRESS, IFLA_INFO_KIND, IFLA_LINKINFO } from './route-constants.js';
import { decodeIfInfoMsg, encodeIfInfoMsg, IFINFOMSG_LEN } from './headers.js';
import type { IncomingMessage } from './message.js';
import type { NetlinkSocket } from './socket.js';

/** How an XDP program is attached to an interface, as IFLA_XDP_ATTACHED reports it. */
export type XdpAttachMode = 'none' | 'driver' | 'generic' | 'offload' | 'multi';

/** XDP state of an interface. Program ids are 0 when nothing is attached in that mode. */
export interface XdpState {
  readonly mode: XdpAttachMode;
  /** The single attached program (0 for none or multi). */
  readonly progId: number;
  readonly driverProgId: number;
  readonly genericProgId: number;
  readonly offloadProgId: number;
}

/** What tsbpf needs to know about an interface. */
export interface InterfaceInfo {
  readonly index: number;
  readonly name: string;
  readonly flags: number;
  readonly xdp: XdpState;
  /** Hardware address ('aa:bb:cc:dd:ee:ff'); undefined for devices without a 6-byte one (loopback has zeros). */
  readonly mac?: string;
  /** Link kind from IFLA_LINKINFO (`veth`, `bridge`, …); undefined for physical devices. */
  readonly kind?: string;
}

const MAX_IFNAME = 15;

function modeOf(attached: number): XdpAttachMode {
  switch (attached) {
    case XDP_ATTACHED_DRV:
      return 'driver';
    case XDP_ATTACHED_SKB:
      return 'generic';
    case XDP_ATTACHED_HW:
      return 'offload';
    case XDP_ATTACHED_MULTI:
      return 'multi';
    default:
      return 'none';
  }
}

/** Decodes an RTM_NEWLINK message into `InterfaceInfo`. */
export function decodeInterface(msg: IncomingMessage): InterfaceInfo {
  if (msg.type !== RTM_NEWLINK) throw new NetlinkUsageError(`expected RTM_NEWLINK, got message type ${msg.type}`);
  const hdr = decodeIfInfoMsg(msg.payload);
  const attrs = AttrSet.decode(msg.payload.subarray(IFINFOMSG_LEN));
  const xdp = attrs.nested(IFLA_XDP);
  const mode = modeOf(xdp?.u8(IFLA_XDP_ATTACHED) ?? 0);
  const skb = xdp?.u32(IFLA_XDP_SKB_PROG_ID) ?? 0;
  const drv = xdp?.u32(IFLA_XDP_DRV_PROG_ID) ?? 0;
  const hwProg = xdp?.u32(IFLA_XDP_HW_PROG_ID) ?? 0;
  const single = xdp?.u32(IFLA_XDP_PROG_ID) ?? 0;
  const hw = attrs.get(IFLA_ADDRESS);
  const kind = attrs.nested(IFLA_LINKINFO)?.string(IFLA_INFO_KIND);
  return {
    index: hdr.index,
    name: attrs.string(IFLA_IFNAME) ?? '',
    flags: hdr.flags,
    xdp: {
      mode,
      progId: single,
      // With one program attached the kernel reports only PROG_ID; fill the per-mode slot from it.
      driverProgId: drv || (mode === 'driver' ? single : 0),
      genericProgId: skb || (mode === 'generic' ? single : 0),
      offloadProgId: hwProg || (mode === 'offload' ? single : 0),
    },
    ...(hw && hw.length === 6 ? { mac: macText(hw) } : {}),
    ...(kind ? { kind } : {}),
  };
}

/** Looks an interface up by name or index in the socket's network namespace. */
export function getInterface(sock: NetlinkSocket, nameOrIndex: string | number): InterfaceInfo {
  let header: Uint8Array;
  let attrs: ReturnType<typeof stringAttr>[] = [];
  let what: string;
  if (typeof nameOrIndex === 'number') {
    if (!Number.isInteger(nameOrIndex) || nameOrIndex <= 0) throw new NetlinkUsageError(`interface index must be a positive integer, got ${nameOrIndex}`);
    header = encodeIfInfoMsg({ family: AF_UNSPEC, index: nameOrIndex });
    what = `ifindex ${nameOrIndex}`;
  } else {
    if (nameOrIndex.length === 0 || nameOrIndex.length > MAX_IFNAME || nameOrIndex.includes('/')) {
      throw new NetlinkUsageError(`invalid interface name ${JSON.stringify(nameOrIndex)} (1-${MAX_IFNAME} characters, no '/')`);
    }
    header = encodeIfInfoMsg({ family: AF_UNSPEC });
    attrs = [stringAttr(IFLA_IFNAME, nameOrIndex)];
    what = `interface ${nameOrIndex}`;
  }
  const replies = sock.request(`RTM_GETLINK (${what})`, { type: RTM_GETLINK, header, attrs });
  const first = replies.find((m) => m.type === RTM_NEWLINK);
  if (!first) throw new NetlinkUsageError(`RTM_GETLINK (${what}) returned no interface`);
  return decodeInterface(first);
}

/** Every interface of the socket's network namespace. */
export function listInterfaces(sock: NetlinkSocket): InterfaceInfo[] {
  return sock
    .dump('RTM_GETLINK dump', { type: RTM_GETLINK, header: encodeIfInfoMsg({ family: AF_UNSPEC }) })
    .filter((m) => m.type === RTM_NEWLINK)
    .map(decodeInterface);
}

/** Resolves an interface name (or passes a positive index through) to its ifindex. */
export function ifindexOf(sock: NetlinkSocket, nameOrIndex: string | number): number {
  return typeof nameOrIndex === 'number' ? nameOrIndex : getInterface(sock, nameOrIndex).index;
}
