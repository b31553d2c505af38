/**
 * Context types of the socket-level program kinds: `cgroup/sock_create`,
 * `cgroup/sock_release`, `cgroup/post_bind4`, `cgroup/post_bind6` (`struct bpf_sock`)
 * and `sk_skb/*` (`__sk_buff` as stream parser/verdict programs see it). They mirror
 * the access rules of dsl/kernel/context.ts (checked against the running verifier by
 * test/kernel-data/context.test.ts): writing a read-only field does not compile, and
 * the runtime view refuses it at build time too.
 */
import type { CtxIp6, F, SkbCommon } from './context.js';

/** The socket's addresses, as `__sk_buff`, `bpf_sock_ops` and `sk_msg_md` give them (read-only). */
export interface SocketAddresses {
  readonly family: F<'u32', false>;
  readonly remote_ip4: F<'be32', false>;
  readonly local_ip4: F<'be32', false>;
  readonly remote_ip6: { at(i: 0 | 1 | 2 | 3): F<'be32', false> };
  readonly local_ip6: { at(i: 0 | 1 | 2 | 3): F<'be32', false> };
  /** The remote port as the kernel gives it: network order in 32 bits (`.to(u32)` is the port). */
  readonly remote_port: F<'be32', false>;
  /** Host order. */
  readonly local_port: F<'u32', false>;
}

/** The cgroup/sock hooks by section suffix. */
export type SockHook = 'sock_create' | 'sock_release' | 'post_bind4' | 'post_bind6';

/** `struct bpf_sock` in a cgroup/sock hook: which fields exist and are writable depends on the hook. */
export type SockCtx<H extends SockHook> = {
  readonly family: F<'u32', false>;
  readonly type: F<'u32', false>;
  readonly protocol: F<'u32', false>;
  /** Remote port, network order. */
  readonly dst_port: F<'be16', false>;
  readonly dst_ip4: F<'be32', false>;
  readonly dst_ip6: CtxIp6<false>;
  readonly state: F<'u32', false>;
  readonly rx_queue_mapping: F<'u32', false>;
} & (H extends 'sock_create' | 'sock_release'
  ? { readonly bound_dev_if: F<'u32', true>; readonly mark: F<'u32', true>; readonly priority: F<'u32', true> }
  : { readonly src_port: F<'u32', false> }) &
  (H extends 'post_bind4' ? { readonly src_ip4: F<'be32', false> } : unknown) &
  (H extends 'post_bind6' ? { readonly src_ip6: CtxIp6<false> } : unknown);

/** `__sk_buff` in `sk_skb` programs (no mark, tc_classid, timestamps; only tc_index and priority are writable). */
export interface SkSkbCtx extends SkbCommon, SocketAddresses {
  readonly priority: F<'u32', true>;
  readonly tc_index: F<'u32', true>;
  readonly cb: { at(i: 0 | 1 | 2 | 3 | 4): F<'u32', false> };
}

/** `struct bpf_sock_ops` in `sockops` programs: read-only but for `reply` and `sk_txhash`. */
export interface SockOpsCtx extends SocketAddresses {
  /** The callback (`BPF_SOCK_OPS_*`). */
  readonly op: F<'u32', false>;
  readonly args: { at(i: 0 | 1 | 2 | 3): F<'u32', false> };
  /** What the program answers for the callback. */
  readonly reply: F<'u32', true>;
  readonly is_fullsock: F<'u32', false>;
  readonly snd_cwnd: F<'u32', false>;
  readonly srtt_us: F<'u32', false>;
  readonly bpf_sock_ops_cb_flags: F<'u32', false>;
  readonly state: F<'u32', false>;
  readonly rtt_min: F<'u32', false>;
  readonly snd_ssthresh: F<'u32', false>;
  readonly rcv_nxt: F<'u32', false>;
  readonly snd_nxt: F<'u32', false>;
  readonly snd_una: F<'u32', false>;
  readonly mss_cache: F<'u32', false>;
  readonly ecn_flags: F<'u32', false>;
  readonly rate_delivered: F<'u32', false>;
  readonly rate_interval_us: F<'u32', false>;
  readonly packets_out: F<'u32', false>;
  readonly retrans_out: F<'u32', false>;
  readonly total_retrans: F<'u32', false>;
  readonly segs_in: F<'u32', false>;
  readonly data_segs_in: F<'u32', false>;
  readonly segs_out: F<'u32', false>;
  readonly data_segs_out: F<'u32', false>;
  readonly lost_out: F<'u32', false>;
  readonly sacked_out: F<'u32', false>;
  readonly sk_txhash: F<'u32', true>;
  readonly bytes_received: F<'u64', false>;
  readonly bytes_acked: F<'u64', false>;
  readonly skb_len: F<'u32', false>;
  readonly skb_tcp_flags: F<'u32', false>;
}

/** `struct sk_msg_md` in `sk_msg` programs: read-only; `b.parse()` reads the message data. */
export interface SkMsgCtx extends SocketAddresses {
  /** Bytes of the whole message (5.0). */
  readonly size: F<'u32', false>;
}
