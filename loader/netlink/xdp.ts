/** Attaching XDP programs through rtnetlink (RTM_SETLINK with IFLA_XDP). */
import { nestedAttr, s32Attr, u32Attr, type Attr } from './attributes.js';
import {
  AF_UNSPEC,
  IFLA_XDP,
  IFLA_XDP_EXPECTED_FD,
  IFLA_XDP_FD,
  IFLA_XDP_FLAGS,
  RTM_SETLINK,
  XDP_FLAGS_DRV_MODE,
  XDP_FLAGS_HW_MODE,
  XDP_FLAGS_REPLACE,
  XDP_FLAGS_SKB_MODE,
  XDP_FLAGS_UPDATE_IF_NOEXIST,
} from './constants.js';
import { NetlinkUsageError } from './errors.js';
import { encodeIfInfoMsg } from './headers.js';
import type { NetlinkSocket } from './socket.js';

/** XDP mode to request: `generic` (skb), `driver` (native), `offload` (hw), or let the kernel choose. */
export type XdpMode = 'auto' | 'generic' | 'driver' | 'offload';

/** The XDP_FLAGS_*_MODE bit for a mode (0 for auto). */
export function xdpModeFlag(mode: XdpMode): number {
  switch (mode) {
    case 'generic':
      return XDP_FLAGS_SKB_MODE;
    case 'driver':
      return XDP_FLAGS_DRV_MODE;
    case 'offload':
      return XDP_FLAGS_HW_MODE;
    case 'auto':
      return 0;
    default:
      throw new NetlinkUsageError(`unknown XDP mode ${JSON.stringify(mode)} (auto, generic, driver, offload)`);
  }
}

/** Options of `setXdp`. */
export interface SetXdpOptions {
  readonly mode?: XdpMode;
  /** Fail with EBUSY when a program is already attached (XDP_FLAGS_UPDATE_IF_NOEXIST). */
  readonly ifNotExists?: boolean;
  /**
   * Replace only if this program fd is the one attached now (XDP_FLAGS_REPLACE with
   * IFLA_XDP_EXPECTED_FD); -1 expects nothing attached.
   */
  readonly expectedFd?: number;
}

/**
 * Attaches program `progFd` to interface `ifindex`, or detaches with `progFd = -1`.
 * The mode flag must match the mode of the attachment being replaced or removed.
 */
export function setXdp(sock: NetlinkSocket, ifindex: number, progFd: number, options: SetXdpOptions = {}): void {
  let flags = xdpModeFlag(options.mode ?? 'auto');
  if (options.ifNotExists) flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
  if (options.ifNotExists && options.expectedFd !== undefined) {
    throw new NetlinkUsageError('setXdp: ifNotExists and expectedFd exclude each other');
  }
  const inner: Attr[] = [s32Attr(IFLA_XDP_FD, progFd)];
  if (options.expectedFd !== undefined) {
    flags |= XDP_FLAGS_REPLACE;
    inner.push(s32Attr(IFLA_XDP_EXPECTED_FD, options.expectedFd));
  }
  inner.push(u32Attr(IFLA_XDP_FLAGS, flags));
  const verb = progFd < 0 ? 'detach XDP' : options.expectedFd !== undefined ? 'replace XDP program' : 'attach XDP program';
  sock.request(`RTM_SETLINK (${verb} on ifindex ${ifindex}, mode ${options.mode ?? 'auto'})`, {
    type: RTM_SETLINK,
    header: encodeIfInfoMsg({ family: AF_UNSPEC, index: ifindex }),
    attrs: [nestedAttr(IFLA_XDP, inner)],
  });
}
