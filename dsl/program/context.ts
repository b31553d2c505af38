/**
 * Typed program contexts. The section name decides the context struct and, for
 * cgroup sock_addr hooks, which fields may be read and written: the types below
 * mirror dsl/kernel's access rules (so writing a read-only field does not compile
 * when the hook is known), and the runtime view checks every access against those
 * rules (a build error naming the line otherwise).
 */
import { callerLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { VReg } from '../ir/index.js';
import { ctxFields, CTX_STRUCT_OF, type AttachTypeName, type CtxField, type CtxKind } from '../kernel/index.js';
import { copyInto } from './copy.js';
import { PlaceImpl, CORE, type Place, type PtrCore, type Region, type View } from './pointer.js';
import type { Recorder } from './recorder.js';
import type { AddressBytesSchema } from '../types/address.js';
import type { SkMsgCtx, SkSkbCtx, SockCtx, SockHook, SockOpsCtx } from './context-sock.js';
import { SCALARS, type ScalarInfo, type ScalarName, type Value } from './scalar.js';

/** A context field: readable value, with `set` when writable. */
export type F<N extends ScalarName, W extends boolean> = W extends true ? Place<N, 'ctx'> : Value<N>;

/** `__sk_buff` fields every skb program reads. */
export interface SkbCommon {
  readonly len: F<'u32', false>;
  readonly pkt_type: F<'u32', false>;
  readonly queue_mapping: F<'u32', false>;
  readonly protocol: F<'be16', false>;
  readonly vlan_present: F<'u32', false>;
  readonly vlan_tci: F<'u32', false>;
  readonly vlan_proto: F<'be16', false>;
  readonly ingress_ifindex: F<'u32', false>;
  readonly ifindex: F<'u32', false>;
  readonly hash: F<'u32', false>;
  readonly napi_id: F<'u32', false>;
  readonly gso_segs: F<'u32', false>;
  readonly gso_size: F<'u32', false>;
}

/** Context of `tc`/`tcx` (SCHED_CLS) programs. */
export interface TcCtx extends SkbCommon {
  readonly mark: F<'u32', true>;
  readonly priority: F<'u32', true>;
  readonly tc_index: F<'u32', true>;
  readonly tc_classid: F<'u32', true>;
  readonly wire_len: F<'u32', false>;
  readonly tstamp: F<'u64', true>;
  readonly cb: { at(i: 0 | 1 | 2 | 3 | 4): F<'u32', true> };
}
/** Context of `cgroup_skb/*` programs. */
export interface CgroupSkbCtx extends SkbCommon {
  readonly mark: F<'u32', true>;
  readonly priority: F<'u32', true>;
  readonly tstamp: F<'u64', true>;
  readonly family: F<'u32', false>;
  readonly remote_ip4: F<'be32', false>;
  readonly local_ip4: F<'be32', false>;
  readonly local_port: F<'u32', false>;
  readonly cb: { at(i: 0 | 1 | 2 | 3 | 4): F<'u32', true> };
}
/** Context of `socket` filters. */
export interface SocketCtx extends SkbCommon {
  readonly mark: F<'u32', false>;
  readonly priority: F<'u32', false>;
  readonly tc_index: F<'u32', false>;
  readonly cb: { at(i: 0 | 1 | 2 | 3 | 4): F<'u32', true> };
}
/** Context of `xdp` programs (`xdp_md`). */
export interface XdpCtx {
  readonly ingress_ifindex: F<'u32', false>;
  readonly rx_queue_index: F<'u32', false>;
}

/** The sock_addr hooks by section suffix. */
export type SockAddrHook = 'connect4' | 'connect6' | 'bind4' | 'bind6' | 'sendmsg4' | 'sendmsg6' | 'recvmsg4' | 'recvmsg6' | 'getpeername4' | 'getpeername6' | 'getsockname4' | 'getsockname6';
type V4Hook = Extract<SockAddrHook, `${string}4`>;

/** Context of a cgroup sock_addr hook (`bpf_sock_addr`); which fields exist and are writable depends on the hook. */
export type SockAddrCtx<H extends SockAddrHook> = {
  readonly user_family: F<'u32', false>;
  readonly family: F<'u32', false>;
  readonly type: F<'u32', false>;
  readonly protocol: F<'u32', false>;
  readonly user_port: F<'be16', true>;
} & (H extends V4Hook ? { readonly user_ip4: F<'be32', true> } : { readonly user_ip6: CtxIp6<true> }) &
  (H extends 'sendmsg4' ? { readonly msg_src_ip4: F<'be32', true> } : unknown) &
  (H extends 'sendmsg6' ? { readonly msg_src_ip6: CtxIp6<true> } : unknown);

/**
 * An IPv6 address in the context (`__u32[4]`, network order): its words, and as a
 * whole a copy source (`key.address.set(ctx.user_ip6)`) where readable and a copy
 * destination (`ctx.user_ip6.set(backend.address)`) where writable. Copies use
 * 32-bit accesses, the only ones the verifier allows there.
 */
export type CtxIp6<W extends boolean> = {
  readonly length: 4;
  at(i: 0 | 1 | 2 | 3): F<'be32', W>;
} & (W extends true ? { set(src: View<AddressBytesSchema<'ipv6'>, Region>): void } : unknown);

/** The context type a section name gives. */
export type CtxOf<S extends string> = S extends 'tc' | 'classifier' | `tc/${string}` | `tcx/${string}`
  ? TcCtx
  : S extends 'xdp' | `xdp/${string}` | 'xdp.frags'
    ? XdpCtx
    : S extends 'socket' | `socket/${string}`
      ? SocketCtx
      : S extends `cgroup_skb/${string}`
        ? CgroupSkbCtx
        : S extends `cgroup/${infer H}`
          ? H extends SockAddrHook
            ? SockAddrCtx<H>
            : H extends SockHook
              ? SockCtx<H>
              : Record<string, unknown>
          : S extends 'sk_skb' | `sk_skb/${string}`
            ? SkSkbCtx
            : S extends 'sockops'
              ? SockOpsCtx
              : S extends 'sk_msg'
                ? SkMsgCtx
                : Record<string, unknown>;

/** Byte order and width the DSL gives a context field. */
function fieldInfo(kind: CtxKind, f: CtxField): ScalarInfo {
  if (f.size === 8) return SCALARS.u64;
  if ((f.name === 'protocol' && kind !== 'sock_addr') || f.name === 'vlan_proto') return SCALARS.be16;
  // remote_port of __sk_buff, bpf_sock_ops and sk_msg_md is the be16 port shifted into a be32 (bpf_ntohl gives the port).
  if (f.bigEndian) return /port/.test(f.name) && f.name !== 'remote_port' ? SCALARS.be16 : SCALARS.be32;
  return SCALARS.u32;
}

/** Builds the runtime context view over the context pointer in `ctxReg`. */
export function makeCtx(rec: Recorder, ctxReg: VReg, kind: CtxKind, attach: AttachTypeName | undefined): Record<string, unknown> {
  const struct = CTX_STRUCT_OF[kind];
  let fields: CtxField[];
  try {
    fields = ctxFields(kind, attach);
  } catch (e) {
    throw new DslError('DSL_CTX', (e as Error).message, callerLocation());
  }
  const scope = rec.scope;
  const core: PtrCore = { rec, schema: { kind: 'struct', name: struct, size: 0, align: 8 } as never, base: ctxReg, off: 0, region: 'ctx', scope, src: undefined };
  const out: Record<string, unknown> = {};
  const where = `${struct}${attach ? ` in ${attach}` : ''}`;
  const place = (f: CtxField, off: number, label: string) => {
    if (f.pointer) throw new DslError('DSL_CTX', `${label} is a pointer field; use b.parse() for packet data`, callerLocation());
    if (!f.read && !f.write) throw new DslError('DSL_CTX', `${label} is not accessible in ${where}`, callerLocation());
    const info = fieldInfo(kind, f);
    const size = (f.count ? f.size / f.count : f.size) as 4 | 8;
    const p = new PlaceImpl({ ...core, off }, info, size, f.write, label);
    if (!f.read) {
      // Write-only: reading is a build error at the use.
      return new Proxy(p, {
        get(target, prop, recv) {
          if (prop === 'set') return target.set.bind(target);
          if (typeof prop === 'string' && prop !== 'type' && prop !== 'info') throw new DslError('DSL_CTX', `${label} is not readable in ${where}`, callerLocation());
          return Reflect.get(target, prop, recv);
        },
      });
    }
    return p;
  };
  for (const f of fields) {
    Object.defineProperty(out, f.name, {
      enumerable: true,
      get: () => {
        if (f.count) {
          const label = `${struct}.${f.name}`;
          // The whole array as a copy source/destination (`key.address.set(ctx.user_ip6)`), moved in element-wide accesses.
          const arrayCore: PtrCore = { ...core, schema: { kind: 'array', name: label, size: f.size, align: f.size / f.count } as never, off: f.offset, ctxAccess: { read: f.read, write: f.write } };
          const view = {
            length: f.count,
            at: (i: number) => {
              if (!Number.isInteger(i) || i < 0 || i >= f.count!) throw new DslError('DSL_INDEX', `${label}: index ${i} out of bounds (length ${f.count})`, callerLocation());
              return place(f, f.offset + (i * f.size) / f.count!, `${label}[${i}]`);
            },
            set: (src: unknown) => copyInto(arrayCore, src, label, arrayCore.schema.align),
          };
          Object.defineProperty(view, CORE, { value: arrayCore, enumerable: false });
          return view;
        }
        return place(f, f.offset, `${struct}.${f.name}`);
      },
    });
  }
  Object.defineProperty(out, CORE, { value: core, enumerable: false });
  return out;
}
