/** The neighbour (ARP / NDP) table over rtnetlink: dump it, and ask the kernel to resolve an address. */
import { AttrSet, bytesAttr } from './attributes.js';
import { AF_UNSPEC, NLM_F_CREATE } from './constants.js';
import { NetlinkUsageError } from './errors.js';
import { ipBytes, ipText, macText } from './ip-bytes.js';
import type { IncomingMessage } from './message.js';
import { AF_INET, AF_INET6, NDA_DST, NDA_LLADDR, NTF_USE, NUD_FAILED, NUD_INCOMPLETE, RTM_GETNEIGH, RTM_NEWNEIGH } from './route-constants.js';
import type { NetlinkSocket } from './socket.js';

/** Size of `struct ndmsg`. */
const NDMSG_LEN = 12;

/** A neighbour entry with a known hardware address. */
export interface Neighbour {
  readonly ifindex: number;
  readonly address: string;
  readonly mac: string;
  /** `NUD_*` state bits. */
  readonly state: number;
}

function ndmsg(family: number, ifindex: number, state: number, flags: number): Uint8Array {
  const out = new Uint8Array(NDMSG_LEN);
  const v = new DataView(out.buffer);
  v.setUint8(0, family);
  v.setInt32(4, ifindex, true);
  v.setUint16(8, state, true);
  v.setUint8(10, flags);
  return out;
}

function decodeNeighbour(msg: IncomingMessage): Neighbour | undefined {
  if (msg.type !== RTM_NEWNEIGH) return undefined;
  if (msg.payload.length < NDMSG_LEN) throw new NetlinkUsageError(`ndmsg needs ${NDMSG_LEN} bytes, got ${msg.payload.length}`);
  const v = new DataView(msg.payload.buffer, msg.payload.byteOffset, msg.payload.byteLength);
  const attrs = AttrSet.decode(msg.payload.subarray(NDMSG_LEN));
  const dst = attrs.get(NDA_DST);
  const ll = attrs.get(NDA_LLADDR);
  if (!dst || !ll || ll.length !== 6 || (dst.length !== 4 && dst.length !== 16)) return undefined;
  return { ifindex: v.getInt32(4, true), address: ipText(dst), mac: macText(ll), state: v.getUint16(8, true) };
}

/**
 * Neighbours whose MAC is known (entries being resolved or failed are left
 * out; stale ones are kept: their MAC is the last one seen).
 */
export function listNeighbours(sock: NetlinkSocket, ifindex?: number): Neighbour[] {
  return sock
    .dump('RTM_GETNEIGH dump', { type: RTM_GETNEIGH, header: ndmsg(AF_UNSPEC, 0, 0, 0) })
    .map(decodeNeighbour)
    .filter((n): n is Neighbour => n !== undefined && (n.state & (NUD_INCOMPLETE | NUD_FAILED)) === 0 && (ifindex === undefined || n.ifindex === ifindex));
}

/**
 * Asks the kernel to resolve `address` on interface `ifindex` (RTM_NEWNEIGH
 * with NTF_USE: the entry is created if needed and a probe is sent, as a
 * packet to it would); the MAC shows up in {@link listNeighbours} once answered.
 */
export function resolveNeighbour(sock: NetlinkSocket, ifindex: number, address: string): void {
  const dst = ipBytes(address);
  sock.request(`RTM_NEWNEIGH ${address} (resolve)`, {
    type: RTM_NEWNEIGH,
    flags: NLM_F_CREATE,
    header: ndmsg(dst.length === 4 ? AF_INET : AF_INET6, ifindex, 0, NTF_USE),
    attrs: [bytesAttr(NDA_DST, dst)],
  });
}
