/**
 * Context structs as programs see them: layouts (generated from the UAPI header)
 * joined with hand-written access rules — which fields each program type / hook may
 * read or write, which are packet pointers, and the first kernel of each field.
 *
 * The rules restate the kernel's `*_is_valid_access` functions for the context
 * kinds the DSL compiles; test/kernel-data/context-access.test.ts loads a read and
 * a write of every field for every kind and demands exact agreement with the
 * running kernel. They describe VERIFIED_KERNEL; an older kernel may refuse a field
 * younger than it (see `since`).
 */
import { CTX_STRUCT_LAYOUTS } from './generated/ctx-layouts.js';
import type { AttachTypeName, ProgTypeName } from './enums.js';
import { KernelDataError, type KernelVersion } from './version.js';

/** Name of a context struct: `__sk_buff`, `xdp_md`, `bpf_sock_addr`, `bpf_sock`. */
export type CtxStructName = keyof typeof CTX_STRUCT_LAYOUTS;

/** Field names of a context struct (literal types, from the generated layout). */
export type CtxFieldName<S extends CtxStructName> = (typeof CTX_STRUCT_LAYOUTS)[S]['fields'][number]['name'];

/** What a loaded field holds, when it is more than a scalar. */
export type CtxPointerKind = 'packet' | 'packet_end' | 'packet_meta' | 'sock_or_null' | 'sock' | 'flow_keys';

/** The program context kinds with access rules. */
export type CtxKind = 'socket' | 'tc' | 'cgroup_skb' | 'sk_skb' | 'xdp' | 'sock_addr' | 'cgroup_sock' | 'sock_ops' | 'sk_msg';

/** A field with its layout and its access in one context. */
export interface CtxField {
  name: string;
  offset: number;
  size: number;
  /** Element count for arrays (`cb[5]`, `user_ip6[4]`). */
  count?: number;
  c: string;
  read: boolean;
  write: boolean;
  /** For pointer-valued fields: what the verifier types the loaded register as. */
  pointer?: CtxPointerKind;
  /** Network byte order (addresses, `user_port`, `remote_port`, `dst_port`). */
  bigEndian?: boolean;
  /** First kernel with the field ('unknown' if not established). */
  since: KernelVersion | 'unknown';
}

/** The context struct of a program kind. */
export const CTX_STRUCT_OF: Record<CtxKind, CtxStructName> = {
  socket: '__sk_buff',
  tc: '__sk_buff',
  cgroup_skb: '__sk_buff',
  sk_skb: '__sk_buff',
  xdp: 'xdp_md',
  sock_addr: 'bpf_sock_addr',
  cgroup_sock: 'bpf_sock',
  sock_ops: 'bpf_sock_ops',
  sk_msg: 'sk_msg_md',
};

/** Context kind of a program type (undefined for types without rules here). */
export function ctxKindOf(progType: ProgTypeName): CtxKind | undefined {
  switch (progType) {
    case 'SOCKET_FILTER':
      return 'socket';
    case 'SCHED_CLS':
    case 'SCHED_ACT':
      return 'tc';
    case 'CGROUP_SKB':
      return 'cgroup_skb';
    case 'SK_SKB':
      return 'sk_skb';
    case 'XDP':
      return 'xdp';
    case 'CGROUP_SOCK_ADDR':
      return 'sock_addr';
    case 'CGROUP_SOCK':
      return 'cgroup_sock';
    case 'SOCK_OPS':
      return 'sock_ops';
    case 'SK_MSG':
      return 'sk_msg';
    default:
      return undefined;
  }
}

const set = (s: string) => new Set(s.trim().split(/\s+/));

/** `__sk_buff` fields every skb program may read. */
const SKB_COMMON_READ = set(
  'len pkt_type mark queue_mapping protocol vlan_present vlan_tci vlan_proto priority ingress_ifindex ifindex tc_index cb hash napi_id gso_segs sk gso_size',
);
const SKB_READ: Record<'socket' | 'tc' | 'cgroup_skb' | 'sk_skb', Set<string>> = {
  socket: SKB_COMMON_READ,
  tc: new Set([...SKB_COMMON_READ, ...set('tc_classid data data_end data_meta wire_len tstamp tstamp_type hwtstamp')]),
  cgroup_skb: new Set([
    ...SKB_COMMON_READ,
    ...set('data data_end family remote_ip4 local_ip4 remote_ip6 local_ip6 remote_port local_port tstamp hwtstamp'),
  ]),
  // sk_skb_is_valid_access: no mark, tc_classid, data_meta, timestamps or wire_len.
  sk_skb: new Set([
    ...[...SKB_COMMON_READ].filter((f) => f !== 'mark'),
    ...set('data data_end family remote_ip4 local_ip4 remote_ip6 local_ip6 remote_port local_port'),
  ]),
};
const SKB_WRITE: Record<'socket' | 'tc' | 'cgroup_skb' | 'sk_skb', Set<string>> = {
  socket: set('cb'),
  tc: set('mark queue_mapping priority tc_index cb tc_classid tstamp'),
  cgroup_skb: set('mark priority cb tstamp'),
  sk_skb: set('tc_index priority'),
};

const FIELD_SINCE: Record<CtxStructName, Record<string, KernelVersion | 'unknown'>> = {
  __sk_buff: {
    len: '4.1', pkt_type: '4.1', mark: '4.1', queue_mapping: '4.1', protocol: '4.1', vlan_present: '4.1', vlan_tci: '4.1',
    vlan_proto: '4.1', priority: '4.1', ingress_ifindex: '4.2', ifindex: '4.2', tc_index: '4.2', cb: '4.2', hash: '4.3',
    tc_classid: '4.5', data: '4.7', data_end: '4.7', napi_id: '4.12', family: '4.14', remote_ip4: '4.14',
    local_ip4: '4.14', remote_ip6: '4.14', local_ip6: '4.14', remote_port: '4.14', local_port: '4.14',
    data_meta: '4.15', flow_keys: '4.20', tstamp: '5.0', wire_len: '5.0', gso_segs: '5.1', sk: '5.1', gso_size: '5.7',
    tstamp_type: '5.18', hwtstamp: '5.16',
  },
  xdp_md: { data: '4.8', data_end: '4.8', data_meta: '4.15', ingress_ifindex: '4.16', rx_queue_index: '4.16', egress_ifindex: '5.8' },
  bpf_sock_addr: {
    user_family: '4.17', user_ip4: '4.17', user_ip6: '4.17', user_port: '4.17', family: '4.17', type: '4.17', protocol: '4.17',
    msg_src_ip4: '4.18', msg_src_ip6: '4.18', sk: '5.3',
  },
  bpf_sock: {
    bound_dev_if: '4.10', family: '4.10', type: '4.10', protocol: '4.10', mark: '4.14', priority: '4.14', src_ip4: '4.17',
    src_ip6: '4.17', src_port: '4.17', dst_port: '5.1', dst_ip4: '5.1', dst_ip6: '5.1', state: '5.1', rx_queue_mapping: '5.8',
  },
  bpf_sock_ops: {
    op: '4.13', args: '4.16', reply: '4.13', replylong: '4.13', family: '4.13', remote_ip4: '4.13', local_ip4: '4.13', remote_ip6: '4.13',
    local_ip6: '4.13', remote_port: '4.13', local_port: '4.13', sk: '5.3', skb_data: '5.10', skb_data_end: '5.10', skb_len: '5.10', skb_tcp_flags: '5.10',
  },
  sk_msg_md: {
    data: '4.17', data_end: '4.17', family: '4.18', remote_ip4: '4.18', local_ip4: '4.18', remote_ip6: '4.18', local_ip6: '4.18', remote_port: '4.18',
    local_port: '4.18', size: '5.0', sk: '5.8',
  },
};

const BIG_ENDIAN = set(
  'remote_ip4 local_ip4 remote_ip6 local_ip6 remote_port user_ip4 user_ip6 user_port msg_src_ip4 msg_src_ip6 src_ip4 src_ip6 dst_port dst_ip4 dst_ip6',
);

const V4_HOOKS = new Set<AttachTypeName>(['CGROUP_INET4_CONNECT', 'CGROUP_UDP4_SENDMSG', 'CGROUP_UDP4_RECVMSG', 'CGROUP_INET4_BIND', 'CGROUP_INET4_GETPEERNAME', 'CGROUP_INET4_GETSOCKNAME']);
const V6_HOOKS = new Set<AttachTypeName>(['CGROUP_INET6_CONNECT', 'CGROUP_UDP6_SENDMSG', 'CGROUP_UDP6_RECVMSG', 'CGROUP_INET6_BIND', 'CGROUP_INET6_GETPEERNAME', 'CGROUP_INET6_GETSOCKNAME']);

/** The sock_addr hooks (expected attach types) the rules know. */
export const SOCK_ADDR_HOOKS: readonly AttachTypeName[] = [...V4_HOOKS, ...V6_HOOKS];
/** The cgroup/sock hooks the rules know. */
export const CGROUP_SOCK_HOOKS: readonly AttachTypeName[] = ['CGROUP_INET_SOCK_CREATE', 'CGROUP_INET_SOCK_RELEASE', 'CGROUP_INET4_POST_BIND', 'CGROUP_INET6_POST_BIND'];

function access(kind: CtxKind, field: string, attach: AttachTypeName | undefined): { read: boolean; write: boolean; pointer?: CtxPointerKind } {
  switch (kind) {
    case 'socket':
    case 'tc':
    case 'cgroup_skb':
    case 'sk_skb': {
      const read = SKB_READ[kind].has(field);
      const pointer: CtxPointerKind | undefined =
        field === 'data' ? 'packet' : field === 'data_end' ? 'packet_end' : field === 'data_meta' ? 'packet_meta' : field === 'sk' ? 'sock_or_null' : field === 'flow_keys' ? 'flow_keys' : undefined;
      return { read, write: SKB_WRITE[kind].has(field), ...(read && pointer ? { pointer } : {}) };
    }
    case 'xdp': {
      const pointer: CtxPointerKind | undefined = field === 'data' ? 'packet' : field === 'data_end' ? 'packet_end' : field === 'data_meta' ? 'packet_meta' : undefined;
      // egress_ifindex is only meaningful (and only readable) in programs run from a devmap.
      const read = field === 'egress_ifindex' ? attach === 'XDP_DEVMAP' : true;
      return { read, write: false, ...(pointer ? { pointer } : {}) };
    }
    case 'sock_addr': {
      if (attach === undefined) throw new KernelDataError('CTX_ATTACH_REQUIRED', 'bpf_sock_addr access depends on the hook: pass the expected attach type (e.g. CGROUP_INET4_CONNECT)');
      const v4 = V4_HOOKS.has(attach);
      const v6 = V6_HOOKS.has(attach);
      if (!v4 && !v6) throw new KernelDataError('CTX_UNKNOWN_HOOK', `no bpf_sock_addr access rules for attach type ${attach}; known: ${SOCK_ADDR_HOOKS.join(', ')}`);
      switch (field) {
        case 'user_family':
        case 'family':
        case 'type':
        case 'protocol':
          return { read: true, write: false };
        case 'sk':
          return { read: true, write: false, pointer: 'sock' };
        case 'user_port':
          return { read: true, write: true };
        case 'user_ip4':
          return { read: v4, write: v4 };
        case 'user_ip6':
          return { read: v6, write: v6 };
        case 'msg_src_ip4':
          return { read: attach === 'CGROUP_UDP4_SENDMSG', write: attach === 'CGROUP_UDP4_SENDMSG' };
        case 'msg_src_ip6':
          return { read: attach === 'CGROUP_UDP6_SENDMSG', write: attach === 'CGROUP_UDP6_SENDMSG' };
        default:
          return { read: false, write: false };
      }
    }
    case 'sock_ops': {
      // sock_ops_is_valid_access: everything readable; only reply (= args[0] = replylong[0]) and sk_txhash writable.
      const pointer: CtxPointerKind | undefined = field === 'sk' ? 'sock_or_null' : field === 'skb_data' ? 'packet' : field === 'skb_data_end' ? 'packet_end' : undefined;
      return { read: true, write: field === 'reply' || field === 'sk_txhash', ...(pointer ? { pointer } : {}) };
    }
    case 'sk_msg': {
      // sk_msg_is_valid_access: read-only.
      const pointer: CtxPointerKind | undefined = field === 'data' ? 'packet' : field === 'data_end' ? 'packet_end' : field === 'sk' ? 'sock' : undefined;
      return { read: true, write: false, ...(pointer ? { pointer } : {}) };
    }
    case 'cgroup_sock': {
      if (attach === undefined || !CGROUP_SOCK_HOOKS.includes(attach)) {
        throw new KernelDataError('CTX_UNKNOWN_HOOK', `bpf_sock access depends on the hook; known: ${CGROUP_SOCK_HOOKS.join(', ')} (got ${attach ?? 'none'})`);
      }
      // __sock_filter_check_attach_type: sock_create and sock_release have full access to these three.
      const create = attach === 'CGROUP_INET_SOCK_CREATE' || attach === 'CGROUP_INET_SOCK_RELEASE';
      switch (field) {
        case 'bound_dev_if':
        case 'mark':
        case 'priority':
          return { read: create, write: create };
        case 'src_ip4':
          return { read: attach === 'CGROUP_INET4_POST_BIND', write: false };
        case 'src_ip6':
          return { read: attach === 'CGROUP_INET6_POST_BIND', write: false };
        case 'src_port':
          return { read: !create, write: false };
        default:
          return { read: true, write: false };
      }
    }
  }
}

/**
 * The fields of a context kind with their access; `attach` (expected attach type)
 * is required for `sock_addr` and `cgroup_sock`, and matters for `xdp` in devmaps.
 */
export function ctxFields(kind: CtxKind, attach?: AttachTypeName): CtxField[] {
  const struct = CTX_STRUCT_OF[kind];
  const layout = CTX_STRUCT_LAYOUTS[struct];
  return layout.fields.map((f) => {
    const a = access(kind, f.name, attach);
    const out: CtxField = {
      name: f.name,
      offset: f.offset,
      size: f.size,
      c: f.c,
      read: a.read,
      write: a.write,
      since: FIELD_SINCE[struct][f.name] ?? 'unknown',
    };
    if ('count' in f) out.count = f.count;
    if (a.pointer) out.pointer = a.pointer;
    if (BIG_ENDIAN.has(f.name)) out.bigEndian = true;
    return out;
  });
}

/** One field of a context kind; throws a KernelDataError naming the valid fields if unknown. */
export function ctxField(kind: CtxKind, name: string, attach?: AttachTypeName): CtxField {
  const fields = ctxFields(kind, attach);
  const f = fields.find((x) => x.name === name);
  if (!f) throw new KernelDataError('CTX_UNKNOWN_FIELD', `${CTX_STRUCT_OF[kind]} has no field '${name}'; fields: ${fields.map((x) => x.name).join(', ')}`);
  return f;
}
