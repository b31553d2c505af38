/**
 * rtnetlink numbers used by tsbpf. The UAPI values (linux/netlink.h,
 * linux/rtnetlink.h, linux/pkt_sched.h, linux/pkt_cls.h, linux/if_link.h) are the
 * generated ones of dsl/kernel, re-exported under their C names; only the libc
 * socket-layer numbers, which no UAPI header the generator reads defines, are
 * written here.
 */
import { UAPI } from '../../dsl/kernel/index.js';

/** Socket-layer numbers (glibc `<sys/socket.h>` / `<bits/socket.h>`). */
export const AF_NETLINK = 16;
export const AF_UNSPEC = 0;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_NETLINK = 270;
/** htons(ETH_P_ALL): the protocol a tc filter matches to see every packet. */
export const ETH_P_ALL_BE = 0x0300;

export const {
  NETLINK_ROUTE, NETLINK_CAP_ACK, NETLINK_EXT_ACK,
  NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE,
  RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK,
  RTM_NEWQDISC, RTM_DELQDISC, RTM_GETQDISC, RTM_NEWTFILTER, RTM_DELTFILTER, RTM_GETTFILTER,
  NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP_INTR, NLM_F_ROOT, NLM_F_MATCH, NLM_F_DUMP,
  NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE,
  /** In an NLMSG_ERROR: the original payload was left out (NETLINK_CAP_ACK). */
  NLM_F_CAPPED,
  /** In an NLMSG_ERROR: extended-ack attributes follow. */
  NLM_F_ACK_TLVS,
  NLA_F_NESTED, NLA_F_NET_BYTEORDER,
  NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS,
  TC_H_ROOT, TC_H_CLSACT, TC_H_MIN_INGRESS, TC_H_MIN_EGRESS,
  TCA_KIND, TCA_OPTIONS, TCA_CHAIN,
  TCA_BPF_FD, TCA_BPF_NAME, TCA_BPF_FLAGS, TCA_BPF_FLAGS_GEN, TCA_BPF_TAG, TCA_BPF_ID, TCA_BPF_FLAG_ACT_DIRECT,
  IFLA_IFNAME, IFLA_XDP, IFLA_XDP_FD, IFLA_XDP_ATTACHED, IFLA_XDP_FLAGS, IFLA_XDP_PROG_ID,
  IFLA_XDP_DRV_PROG_ID, IFLA_XDP_SKB_PROG_ID, IFLA_XDP_HW_PROG_ID, IFLA_XDP_EXPECTED_FD,
  XDP_FLAGS_UPDATE_IF_NOEXIST, XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE, XDP_FLAGS_HW_MODE, XDP_FLAGS_REPLACE,
  /** Values of IFLA_XDP_ATTACHED. */
  XDP_ATTACHED_NONE,
  XDP_ATTACHED_DRV, XDP_ATTACHED_SKB, XDP_ATTACHED_HW, XDP_ATTACHED_MULTI,
} = UAPI;

/** Mask of the attribute type in `nla_type` (without the NESTED / NET_BYTEORDER bits). */
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** TC_H_MAKE(major, minor). */
export function tcHandle(major: number, minor: number): number {
  return ((major & UAPI.TC_H_MAJ_MASK) | (minor & UAPI.TC_H_MIN_MASK)) >>> 0;
}
