/** Route lookups over rtnetlink (RTM_GETROUTE for one destination, as `ip route get` does). */
import { AttrSet, bytesAttr } from './attributes.js';
import { NetlinkUsageError } from './errors.js';
import { ipBytes, ipText } from './ip-bytes.js';
import { AF_INET, AF_INET6, RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_VIA, RTM_GETROUTE, RTM_NEWROUTE, RTN_LOCAL, RTN_UNICAST } from './route-constants.js';
import type { NetlinkSocket } from './socket.js';

/** Size of `struct rtmsg`. */
const RTMSG_LEN = 12;

/** Where the kernel would send a packet to one address. */
export interface RouteResult {
  /** `unicast` (forwarded out of `oif`), `local` (this host), or another route type by number. */
  readonly type: 'unicast' | 'local' | number;
  /** Output interface index (0 when none). */
  readonly oif: number;
  /** Next-hop gateway; undefined when the destination is on the link. */
  readonly gateway: string | undefined;
}

/** The route the kernel picks for `address` in the socket's namespace (main routing decision, no source). */
export function routeTo(sock: NetlinkSocket, address: string): RouteResult {
  const dst = ipBytes(address);
  const header = new Uint8Array(RTMSG_LEN);
  header[0] = dst.length === 4 ? AF_INET : AF_INET6;
  header[1] = dst.length * 8;
  const replies = sock.request(`RTM_GETROUTE ${address}`, { type: RTM_GETROUTE, header, attrs: [bytesAttr(RTA_DST, dst)] });
  const msg = replies.find((m) => m.type === RTM_NEWROUTE);
  if (!msg || msg.payload.length < RTMSG_LEN) throw new NetlinkUsageError(`RTM_GETROUTE ${address} returned no route`);
  const rtType = msg.payload[7]!;
  const attrs = AttrSet.decode(msg.payload.subarray(RTMSG_LEN));
  const gw = attrs.get(RTA_GATEWAY);
  // RTA_VIA (an IPv6 next hop of an IPv4 route): family u16, then the address.
  const via = attrs.get(RTA_VIA);
  return {
    type: rtType === RTN_UNICAST ? 'unicast' : rtType === RTN_LOCAL ? 'local' : rtType,
    oif: attrs.u32(RTA_OIF) ?? 0,
    gateway: gw ? ipText(gw) : via && via.length > 2 ? ipText(via.subarray(2)) : undefined,
  };
}
