/**
 * What the generator extracts: which headers, which enums become named objects,
 * which loose #defines are grouped, which context structs are laid out. Editing
 * this list (then `npm run generate`) is how a new constant group is added.
 */

/** A named `as const` object made from one C enum (by name, or by first member if anonymous). */
export interface EnumGroup {
  exportName: string;
  doc: string;
  header: string;
  /** The C enum's name, or `first:<MEMBER>` for an anonymous enum. */
  enumRef: string;
  /** Prefix stripped from member names to form keys. */
  prefix: string;
  /** Drop members starting with `__` (`__MAX_BPF_CMD` and friends). */
  dropPrivate?: boolean;
}

/** A named `as const` object made from a list of constants (defines or enum members). */
export interface NameGroup {
  exportName: string;
  doc: string;
  header: string;
  names: string[];
  prefix: string;
}

/** Headers read (relative to the include dir); every numeric constant of these lands in `UAPI`. */
export const FULL_HEADERS = ['linux/bpf.h', 'linux/btf.h'];

/** Headers only partially exported: constants whose names start with one of the prefixes. */
export const PARTIAL_HEADERS: { header: string; prefixes: string[] }[] = [
  { header: 'linux/if_link.h', prefixes: ['XDP_FLAGS_', 'XDP_ATTACHED_', 'IFLA_XDP', 'IFLA_IFNAME'] },
  { header: 'linux/pkt_cls.h', prefixes: ['TC_ACT_', 'TCA_BPF_'] },
  { header: 'linux/pkt_sched.h', prefixes: ['TC_H_'] },
  { header: 'linux/rtnetlink.h', prefixes: ['RTM_NEWQDISC', 'RTM_DELQDISC', 'RTM_GETQDISC', 'RTM_NEWTFILTER', 'RTM_DELTFILTER', 'RTM_GETTFILTER', 'RTM_NEWLINK', 'RTM_GETLINK', 'TCA_UNSPEC', 'TCA_KIND', 'TCA_OPTIONS', 'RTM_DELLINK', 'RTM_SETLINK', 'TCA_CHAIN'] },
  { header: 'linux/netlink.h', prefixes: ['NETLINK_ROUTE', 'NETLINK_CAP_ACK', 'NETLINK_EXT_ACK', 'NLMSG_NOOP', 'NLMSG_ERROR', 'NLMSG_DONE', 'NLM_F_', 'NLA_F_', 'NLMSGERR_ATTR_MSG', 'NLMSGERR_ATTR_OFFS'] },
];

/** Enum groups emitted as `{ SHORT_NAME: value }` objects. */
export const ENUM_GROUPS: EnumGroup[] = [
  { exportName: 'BpfCmd', doc: '`bpf()` commands (`enum bpf_cmd`).', header: 'linux/bpf.h', enumRef: 'bpf_cmd', prefix: 'BPF_', dropPrivate: true },
  { exportName: 'BpfMapType', doc: 'Map types (`enum bpf_map_type`).', header: 'linux/bpf.h', enumRef: 'bpf_map_type', prefix: 'BPF_MAP_TYPE_', dropPrivate: true },
  { exportName: 'BpfProgType', doc: 'Program types (`enum bpf_prog_type`).', header: 'linux/bpf.h', enumRef: 'bpf_prog_type', prefix: 'BPF_PROG_TYPE_', dropPrivate: true },
  { exportName: 'BpfAttachType', doc: 'Attach types (`enum bpf_attach_type`).', header: 'linux/bpf.h', enumRef: 'bpf_attach_type', prefix: 'BPF_', dropPrivate: true },
  { exportName: 'BpfLinkType', doc: 'Link types (`enum bpf_link_type`).', header: 'linux/bpf.h', enumRef: 'bpf_link_type', prefix: 'BPF_LINK_TYPE_', dropPrivate: true },
  { exportName: 'UpdateFlags', doc: 'Flags of map update (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`).', header: 'linux/bpf.h', enumRef: 'first:BPF_ANY', prefix: 'BPF_' },
  { exportName: 'MapFlags', doc: '`map_flags` of BPF_MAP_CREATE (`BPF_F_NO_PREALLOC`, …).', header: 'linux/bpf.h', enumRef: 'first:BPF_F_NO_PREALLOC', prefix: 'BPF_F_' },
  { exportName: 'XdpAction', doc: 'XDP program return codes (`enum xdp_action`).', header: 'linux/bpf.h', enumRef: 'xdp_action', prefix: 'XDP_' },
  { exportName: 'SkAction', doc: 'Socket program verdicts (`enum sk_action`).', header: 'linux/bpf.h', enumRef: 'sk_action', prefix: 'SK_' },
  { exportName: 'AdjRoomMode', doc: 'Modes of `bpf_skb_adjust_room` (`enum bpf_adj_room_mode`).', header: 'linux/bpf.h', enumRef: 'bpf_adj_room_mode', prefix: 'BPF_ADJ_ROOM_' },
  { exportName: 'HdrStartOff', doc: 'Bases of `bpf_skb_load_bytes_relative` (`enum bpf_hdr_start_off`).', header: 'linux/bpf.h', enumRef: 'bpf_hdr_start_off', prefix: 'BPF_HDR_START_' },
  { exportName: 'FibLookupFlags', doc: 'Flags of `bpf_fib_lookup`.', header: 'linux/bpf.h', enumRef: 'first:BPF_FIB_LOOKUP_DIRECT', prefix: 'BPF_FIB_LOOKUP_' },
  { exportName: 'FibLookupResult', doc: 'Return codes of `bpf_fib_lookup`.', header: 'linux/bpf.h', enumRef: 'first:BPF_FIB_LKUP_RET_SUCCESS', prefix: 'BPF_FIB_LKUP_RET_' },
  { exportName: 'BtfKind', doc: 'BTF type kinds (`BTF_KIND_*` of linux/btf.h).', header: 'linux/btf.h', enumRef: 'first:BTF_KIND_UNKN', prefix: 'BTF_KIND_', dropPrivate: true },
  { exportName: 'IflaXdp', doc: 'Netlink attributes nested in `IFLA_XDP`.', header: 'linux/if_link.h', enumRef: 'first:IFLA_XDP_UNSPEC', prefix: 'IFLA_XDP_', dropPrivate: true },
  { exportName: 'TcaBpf', doc: 'Netlink attributes of the `bpf` classifier (`TCA_BPF_*`).', header: 'linux/pkt_cls.h', enumRef: 'first:TCA_BPF_UNSPEC', prefix: 'TCA_BPF_', dropPrivate: true },
];

/** Groups of loose constants (mostly `#define`s). */
export const NAME_GROUPS: NameGroup[] = [
  { exportName: 'AttachFlags', doc: 'Flags of BPF_PROG_ATTACH for cgroups.', header: 'linux/bpf.h', prefix: 'BPF_F_', names: ['BPF_F_ALLOW_OVERRIDE', 'BPF_F_ALLOW_MULTI', 'BPF_F_REPLACE'] },
  { exportName: 'ProgLoadFlags', doc: '`prog_flags` of BPF_PROG_LOAD.', header: 'linux/bpf.h', prefix: 'BPF_F_', names: ['BPF_F_STRICT_ALIGNMENT', 'BPF_F_ANY_ALIGNMENT', 'BPF_F_TEST_RND_HI32', 'BPF_F_TEST_STATE_FREQ', 'BPF_F_SLEEPABLE', 'BPF_F_XDP_HAS_FRAGS'] },
  { exportName: 'PseudoSrc', doc: 'Special `src` register values of `lddw` and `call`.', header: 'linux/bpf.h', prefix: 'BPF_PSEUDO_', names: ['BPF_PSEUDO_MAP_FD', 'BPF_PSEUDO_MAP_VALUE', 'BPF_PSEUDO_BTF_ID', 'BPF_PSEUDO_FUNC', 'BPF_PSEUDO_MAP_IDX', 'BPF_PSEUDO_MAP_IDX_VALUE', 'BPF_PSEUDO_CALL', 'BPF_PSEUDO_KFUNC_CALL'] },
  { exportName: 'QueryFlags', doc: 'Flags of BPF_PROG_QUERY.', header: 'linux/bpf.h', prefix: 'BPF_F_', names: ['BPF_F_QUERY_EFFECTIVE'] },
  { exportName: 'TestRunFlags', doc: 'Flags of BPF_PROG_TEST_RUN.', header: 'linux/bpf.h', prefix: 'BPF_F_', names: ['BPF_F_TEST_RUN_ON_CPU', 'BPF_F_TEST_XDP_LIVE_FRAMES'] },
  { exportName: 'XdpFlags', doc: 'Flags of XDP attachment (netlink `IFLA_XDP_FLAGS` and BPF_LINK_CREATE).', header: 'linux/if_link.h', prefix: 'XDP_FLAGS_', names: ['XDP_FLAGS_UPDATE_IF_NOEXIST', 'XDP_FLAGS_SKB_MODE', 'XDP_FLAGS_DRV_MODE', 'XDP_FLAGS_HW_MODE', 'XDP_FLAGS_REPLACE', 'XDP_FLAGS_MODES', 'XDP_FLAGS_MASK'] },
  { exportName: 'TcAct', doc: 'tc classifier/action verdicts (`TC_ACT_*`), what a direct-action tc program returns.', header: 'linux/pkt_cls.h', prefix: 'TC_ACT_', names: ['TC_ACT_UNSPEC', 'TC_ACT_OK', 'TC_ACT_RECLASSIFY', 'TC_ACT_SHOT', 'TC_ACT_PIPE', 'TC_ACT_STOLEN', 'TC_ACT_QUEUED', 'TC_ACT_REPEAT', 'TC_ACT_REDIRECT', 'TC_ACT_TRAP'] },
  { exportName: 'TcHandle', doc: 'Qdisc/filter handles for clsact (`TC_H_*`).', header: 'linux/pkt_sched.h', prefix: 'TC_H_', names: ['TC_H_UNSPEC', 'TC_H_ROOT', 'TC_H_INGRESS', 'TC_H_CLSACT', 'TC_H_MIN_INGRESS', 'TC_H_MIN_EGRESS', 'TC_H_MAJ_MASK', 'TC_H_MIN_MASK'] },
  { exportName: 'TcaBpfFlags', doc: 'Flags of the `bpf` classifier (`TCA_BPF_FLAG_*`).', header: 'linux/pkt_cls.h', prefix: 'TCA_BPF_FLAG_', names: ['TCA_BPF_FLAG_ACT_DIRECT'] },
];

/** Context structs laid out from bpf.h. */
export const CTX_STRUCTS = ['__sk_buff', 'xdp_md', 'bpf_sock_addr', 'bpf_sock', 'bpf_sock_ops', 'sk_msg_md'];
