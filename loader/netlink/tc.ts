/**
 * tc over rtnetlink: the `clsact` qdisc and `cls_bpf` filters in direct-action mode
 * (what `tc qdisc add dev X clsact` and `tc filter add dev X ingress bpf da …` do).
 */
import { AttrSet, nestedAttr, stringAttr, u32Attr, type Attr } from './attributes.js';
import {
  AF_UNSPEC,
  ETH_P_ALL_BE,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  RTM_DELQDISC,
  RTM_DELTFILTER,
  RTM_GETQDISC,
  RTM_GETTFILTER,
  RTM_NEWQDISC,
  RTM_NEWTFILTER,
  TCA_BPF_FD,
  TCA_BPF_FLAGS,
  TCA_BPF_FLAG_ACT_DIRECT,
  TCA_BPF_ID,
  TCA_BPF_NAME,
  TCA_BPF_TAG,
  TCA_KIND,
  TCA_OPTIONS,
  TC_H_CLSACT,
  TC_H_MIN_EGRESS,
  TC_H_MIN_INGRESS,
  tcHandle,
} from './constants.js';
import { NetlinkError, NetlinkUsageError } from './errors.js';
import { decodeTcMsg, encodeTcMsg, TCMSG_LEN } from './headers.js';
import type { NetlinkSocket } from './socket.js';

/** Which clsact hook: packets arriving at, or leaving, the interface. */
export type TcDirection = 'ingress' | 'egress';

/** The clsact qdisc's handle (ffff:). */
export const CLSACT_HANDLE = 0xffff0000;

/** The filter parent for a clsact direction (ffff:fff2 / ffff:fff3). */
export function clsactParent(direction: TcDirection): number {
  if (direction !== 'ingress' && direction !== 'egress') {
    throw new NetlinkUsageError(`tc direction must be 'ingress' or 'egress', got ${JSON.stringify(direction)}`);
  }
  return tcHandle(TC_H_CLSACT, direction === 'ingress' ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

/** Adds a clsact qdisc. Returns false when one already exists (nothing changed). */
export function addClsact(sock: NetlinkSocket, ifindex: number): boolean {
  try {
    sock.request(`RTM_NEWQDISC (add clsact on ifindex ${ifindex})`, {
      type: RTM_NEWQDISC,
      flags: NLM_F_CREATE | NLM_F_EXCL,
      header: encodeTcMsg({ family: AF_UNSPEC, ifindex, handle: CLSACT_HANDLE, parent: TC_H_CLSACT }),
      attrs: [stringAttr(TCA_KIND, 'clsact')],
    });
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && e.errnoName === 'EEXIST') return false;
    throw e;
  }
}

/** Deletes the clsact qdisc and with it every tc filter on both directions. */
export function deleteClsact(sock: NetlinkSocket, ifindex: number): void {
  sock.request(`RTM_DELQDISC (delete clsact on ifindex ${ifindex})`, {
    type: RTM_DELQDISC,
    header: encodeTcMsg({ family: AF_UNSPEC, ifindex, handle: CLSACT_HANDLE, parent: TC_H_CLSACT }),
    attrs: [stringAttr(TCA_KIND, 'clsact')],
  });
}

/** A qdisc as the kernel reports it. */
export interface QdiscInfo {
  readonly ifindex: number;
  readonly kind: string;
  readonly handle: number;
  readonly parent: number;
}

/** Qdiscs of one interface. */
export function listQdiscs(sock: NetlinkSocket, ifindex: number): QdiscInfo[] {
  return sock
    .dump(`RTM_GETQDISC dump (ifindex ${ifindex})`, { type: RTM_GETQDISC, header: encodeTcMsg({ family: AF_UNSPEC, ifindex }) })
    .map((m) => {
      const hdr = decodeTcMsg(m.payload);
      const attrs = AttrSet.decode(m.payload.subarray(TCMSG_LEN));
      return { ifindex: hdr.ifindex, kind: attrs.string(TCA_KIND) ?? '', handle: hdr.handle, parent: hdr.parent };
    })
    // The dump filter on ifindex is advisory on some kernels; enforce it here.
    .filter((q) => q.ifindex === ifindex);
}

/** Whether the interface has a clsact qdisc. */
export function hasClsact(sock: NetlinkSocket, ifindex: number): boolean {
  return listQdiscs(sock, ifindex).some((q) => q.kind === 'clsact');
}

/** Where a tc filter sits: interface, direction, priority and handle. */
export interface TcFilterId {
  readonly ifindex: number;
  readonly direction: TcDirection;
  /** 1..65535; lower runs first. */
  readonly priority: number;
  /** Non-zero filter handle within the priority. */
  readonly handle: number;
}

/** A cls_bpf filter to install. */
export interface BpfFilterSpec extends TcFilterId {
  readonly progFd: number;
  /** Shown by `tc filter show` (TCA_BPF_NAME); defaults to "tsbpf". */
  readonly name?: string;
  /** Replace a filter already at this priority/handle instead of failing with EEXIST. */
  readonly replace?: boolean;
}

function checkId(id: TcFilterId): void {
  if (!Number.isInteger(id.priority) || id.priority < 1 || id.priority > 0xffff) {
    throw new NetlinkUsageError(`tc filter priority must be 1..65535, got ${id.priority}`);
  }
  if (!Number.isInteger(id.handle) || id.handle < 1 || id.handle > 0xffffffff) {
    throw new NetlinkUsageError(`tc filter handle must be 1..0xffffffff, got ${id.handle}`);
  }
  clsactParent(id.direction);
}

function filterHeader(id: TcFilterId): Uint8Array {
  return encodeTcMsg({
    family: AF_UNSPEC,
    ifindex: id.ifindex,
    handle: id.handle,
    parent: clsactParent(id.direction),
    info: ((id.priority << 16) | ETH_P_ALL_BE) >>> 0,
  });
}

function describe(id: TcFilterId): string {
  return `ifindex ${id.ifindex} ${id.direction} prio ${id.priority} handle 0x${id.handle.toString(16)}`;
}

/**
 * Installs (or atomically replaces, with `replace`) a direct-action cls_bpf filter.
 * Needs the clsact qdisc (see `addClsact`).
 */
export function addBpfFilter(sock: NetlinkSocket, spec: BpfFilterSpec): void {
  checkId(spec);
  const options: Attr[] = [
    u32Attr(TCA_BPF_FD, spec.progFd),
    stringAttr(TCA_BPF_NAME, spec.name ?? 'tsbpf'),
    u32Attr(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT),
  ];
  sock.request(`RTM_NEWTFILTER (${spec.replace ? 'replace' : 'add'} bpf filter on ${describe(spec)})`, {
    type: RTM_NEWTFILTER,
    flags: NLM_F_CREATE | (spec.replace ? NLM_F_REPLACE : NLM_F_EXCL),
    header: filterHeader(spec),
    attrs: [stringAttr(TCA_KIND, 'bpf'), nestedAttr(TCA_OPTIONS, options)],
  });
}

/** Deletes one filter by priority and handle. */
export function deleteFilter(sock: NetlinkSocket, id: TcFilterId): void {
  checkId(id);
  sock.request(`RTM_DELTFILTER (delete filter on ${describe(id)})`, {
    type: RTM_DELTFILTER,
    header: filterHeader(id),
    attrs: [stringAttr(TCA_KIND, 'bpf')],
  });
}

/** A tc filter as the kernel reports it. BPF fields are set for cls_bpf filters. */
export interface TcFilterInfo extends TcFilterId {
  readonly kind: string;
  readonly progId?: number;
  readonly name?: string;
  readonly directAction?: boolean;
  /** Program tag as 16 hex digits. */
  readonly tag?: string;
}

/** Every filter on one clsact direction of an interface (empty when there is no clsact). */
export function listFilters(sock: NetlinkSocket, ifindex: number, direction: TcDirection): TcFilterInfo[] {
  const parent = clsactParent(direction);
  let messages;
  try {
    messages = sock.dump(`RTM_GETTFILTER dump (ifindex ${ifindex} ${direction})`, {
      type: RTM_GETTFILTER,
      header: encodeTcMsg({ family: AF_UNSPEC, ifindex, parent }),
    });
  } catch (e) {
    // No clsact qdisc ⇒ no block to dump ⇒ nothing attached.
    if (e instanceof NetlinkError && (e.errnoName === 'EINVAL' || e.errnoName === 'ENOENT')) return [];
    throw e;
  }
  const out: TcFilterInfo[] = [];
  for (const m of messages) {
    const hdr = decodeTcMsg(m.payload);
    // The dump also lists each priority's classifier head (handle 0); only real filters count.
    if (hdr.handle === 0 || hdr.ifindex !== ifindex || hdr.parent !== parent) continue;
    const attrs = AttrSet.decode(m.payload.subarray(TCMSG_LEN));
    const kind = attrs.string(TCA_KIND) ?? '';
    const base = { ifindex, direction, priority: hdr.info >>> 16, handle: hdr.handle, kind };
    const opts = kind === 'bpf' ? attrs.nested(TCA_OPTIONS) : undefined;
    if (!opts) {
      out.push(base);
      continue;
    }
    const tag = opts.get(TCA_BPF_TAG);
    out.push({
      ...base,
      progId: opts.u32(TCA_BPF_ID),
      name: opts.string(TCA_BPF_NAME),
      directAction: ((opts.u32(TCA_BPF_FLAGS) ?? 0) & TCA_BPF_FLAG_ACT_DIRECT) !== 0,
      tag: tag ? Buffer.from(tag).toString('hex') : undefined,
    });
  }
  return out;
}
