/**
 * Typed bpf(2) commands. Each function fills its `bpf_attr` layout, makes the
 * call, and either returns the result (a new fd, or nothing) or throws a
 * `BpfError` naming the command and errno. Nothing here owns an fd: callers wrap
 * returned fds in `Fd` right away.
 */
import { BpfError, type BpfErrorContext } from '../errors.js';
import {
  BtfLoadAttr,
  GetIdAttr,
  InfoAttr,
  LinkCreateAttr,
  LinkDetachAttr,
  LinkUpdateAttr,
  MapBatchAttr,
  MapCreateAttr,
  MapElemAttr,
  ObjAttr,
  ProgAttachAttr,
  ProgBindMapAttr,
  ProgLoadAttr,
  ProgQueryAttr,
  TestRunAttr,
} from './attr.js';
import { Cmd } from './constants.js';
import { errnoNumber } from './errno.js';
import { bpfSyscall } from './ffi.js';
import type { LayoutInput } from './layout.js';

const EINTR = errnoNumber('EINTR')!;
const EAGAIN = errnoNumber('EAGAIN')!;
const ENOENT = errnoNumber('ENOENT')!;

/** Outcome of a call that may fail in an expected way (the caller decides). */
export type Attempt = { ok: true; ret: number } | { ok: false; errno: number };

/** Raw bpf() with EINTR retried; never throws for errno. */
export function tryBpf(cmd: number, attr: Uint8Array, retryEagain = 0): Attempt {
  for (let tries = 0; ; tries++) {
    const { ret, errno } = bpfSyscall(cmd, attr);
    if (ret >= 0) return { ok: true, ret };
    if (errno === EINTR || (errno === EAGAIN && tries < retryEagain)) continue;
    return { ok: false, errno };
  }
}

/** Raw bpf() that throws `BpfError` on failure and returns the (non-negative) result. */
export function bpf(cmd: number, attr: Uint8Array, ctx?: BpfErrorContext): number {
  const r = tryBpf(cmd, attr);
  if (!r.ok) throw new BpfError(cmd, r.errno, ctx);
  return r.ret;
}

// ---------------------------------------------------------------- maps

/** BPF_MAP_CREATE → new map fd. */
export function mapCreate(attr: LayoutInput<typeof MapCreateAttr.fields>, ctx?: BpfErrorContext): number {
  return bpf(Cmd.MAP_CREATE, MapCreateAttr.encode(attr), ctx);
}

/** BPF_MAP_LOOKUP_ELEM into `value`; false if the key is absent (ENOENT). */
export function mapLookupElem(fd: number, key: Uint8Array | null, value: Uint8Array, flags = 0, ctx?: BpfErrorContext): boolean {
  const r = tryBpf(Cmd.MAP_LOOKUP_ELEM, MapElemAttr.encode({ map_fd: fd, key, value, flags }));
  if (r.ok) return true;
  if (r.errno === ENOENT) return false;
  throw new BpfError(Cmd.MAP_LOOKUP_ELEM, r.errno, ctx);
}

/** BPF_MAP_UPDATE_ELEM with ANY/NOEXIST/EXIST(/LOCK) flags. */
export function mapUpdateElem(fd: number, key: Uint8Array | null, value: Uint8Array, flags = 0, ctx?: BpfErrorContext): void {
  bpf(Cmd.MAP_UPDATE_ELEM, MapElemAttr.encode({ map_fd: fd, key, value, flags }), ctx);
}

/** BPF_MAP_DELETE_ELEM; false if the key was absent. */
export function mapDeleteElem(fd: number, key: Uint8Array | null, ctx?: BpfErrorContext): boolean {
  const r = tryBpf(Cmd.MAP_DELETE_ELEM, MapElemAttr.encode({ map_fd: fd, key }));
  if (r.ok) return true;
  if (r.errno === ENOENT) return false;
  throw new BpfError(Cmd.MAP_DELETE_ELEM, r.errno, ctx);
}

/** BPF_MAP_GET_NEXT_KEY: first key when `key` is null; false at the end. */
export function mapGetNextKey(fd: number, key: Uint8Array | null, nextKey: Uint8Array, ctx?: BpfErrorContext): boolean {
  const r = tryBpf(Cmd.MAP_GET_NEXT_KEY, MapElemAttr.encode({ map_fd: fd, key, value: nextKey }));
  if (r.ok) return true;
  if (r.errno === ENOENT) return false;
  throw new BpfError(Cmd.MAP_GET_NEXT_KEY, r.errno, ctx);
}

/** BPF_MAP_LOOKUP_AND_DELETE_ELEM; false if absent. */
export function mapLookupAndDeleteElem(fd: number, key: Uint8Array | null, value: Uint8Array, flags = 0, ctx?: BpfErrorContext): boolean {
  const r = tryBpf(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, MapElemAttr.encode({ map_fd: fd, key, value, flags }));
  if (r.ok) return true;
  if (r.errno === ENOENT) return false;
  throw new BpfError(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, r.errno, ctx);
}

/** BPF_MAP_FREEZE: no more writes from user space. */
export function mapFreeze(fd: number, ctx?: BpfErrorContext): void {
  bpf(Cmd.MAP_FREEZE, MapElemAttr.encode({ map_fd: fd }), ctx);
}

/** Result of one batch call: how many elements were processed and whether the map is exhausted. */
export interface BatchResult {
  readonly count: number;
  /** True when the kernel said ENOENT: no more elements after this batch. */
  readonly done: boolean;
}

/**
 * One BPF_MAP_{LOOKUP,LOOKUP_AND_DELETE,UPDATE,DELETE}_BATCH call. `inBatch` /
 * `outBatch` are opaque cursors of the map's batch size (key size for hash maps,
 * 4 for arrays); `count` is both the capacity and, returned, the elements done.
 */
export function mapBatch(
  cmd: number,
  args: { fd: number; keys: Uint8Array; values?: Uint8Array; count: number; inBatch?: Uint8Array | null; outBatch?: Uint8Array; elemFlags?: number },
  ctx?: BpfErrorContext,
): BatchResult {
  const attr = MapBatchAttr.encode({
    map_fd: args.fd,
    in_batch: args.inBatch ?? null,
    out_batch: args.outBatch ?? null,
    keys: args.keys,
    values: args.values ?? null,
    count: args.count,
    elem_flags: args.elemFlags ?? 0,
  });
  const r = tryBpf(cmd, attr);
  const count = MapBatchAttr.get(attr, 'count');
  if (r.ok) return { count, done: false };
  if (r.errno === ENOENT && cmd !== Cmd.MAP_DELETE_BATCH && cmd !== Cmd.MAP_UPDATE_BATCH) return { count, done: true };
  throw new BpfError(cmd, r.errno, { ...ctx, subject: `${ctx?.subject ? `${ctx.subject}, ` : ''}after ${count} element(s)` });
}

// ---------------------------------------------------------------- programs

/** BPF_PROG_LOAD attributes. */
export type ProgLoadInput = LayoutInput<typeof ProgLoadAttr.fields>;

/**
 * BPF_PROG_LOAD without throwing: the caller inspects errno and the log.
 * Returns the attr too, so `log_true_size` can be read back.
 */
export function progLoad(attr: ProgLoadInput): Attempt & { attr: Uint8Array } {
  const bytes = ProgLoadAttr.encode(attr);
  // libbpf retries EAGAIN on program load: the verifier can ask for it under memory pressure.
  return { ...tryBpf(Cmd.PROG_LOAD, bytes, 5), attr: bytes };
}

/** The kernel's `log_true_size` after a load (0 on kernels before 6.4). */
export function progLoadLogTrueSize(attr: Uint8Array): number {
  return ProgLoadAttr.get(attr, 'log_true_size');
}

/** BPF_PROG_TEST_RUN inputs. */
export type TestRunInput = LayoutInput<typeof TestRunAttr.fields>;
/** BPF_PROG_TEST_RUN outputs. */
export interface TestRunOutput {
  readonly retval: number;
  readonly duration: number;
  readonly dataSizeOut: number;
  readonly ctxSizeOut: number;
}

/** BPF_PROG_TEST_RUN; `Attempt` so the caller can grow buffers on ENOSPC. */
export function progTestRun(input: TestRunInput): ({ ok: true } | { ok: false; errno: number }) & TestRunOutput {
  const attr = TestRunAttr.encode(input);
  const r = tryBpf(Cmd.PROG_TEST_RUN, attr);
  const out = {
    retval: TestRunAttr.get(attr, 'retval'),
    duration: TestRunAttr.get(attr, 'duration'),
    dataSizeOut: TestRunAttr.get(attr, 'data_size_out'),
    ctxSizeOut: TestRunAttr.get(attr, 'ctx_size_out'),
  };
  return r.ok ? { ok: true, ...out } : { ok: false, errno: r.errno, ...out };
}

/** BPF_PROG_BIND_MAP: keep a map alive with a program that does not reference it. */
export function progBindMap(progFd: number, mapFd: number): void {
  bpf(Cmd.PROG_BIND_MAP, ProgBindMapAttr.encode({ prog_fd: progFd, map_fd: mapFd }));
}

// ---------------------------------------------------------------- objects

function cPath(path: string): Uint8Array {
  const enc = new TextEncoder().encode(path);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}

/** BPF_OBJ_PIN: make `fd`'s object reachable at a bpffs path. */
export function objPin(fd: number, path: string): void {
  bpf(Cmd.OBJ_PIN, ObjAttr.encode({ pathname: cPath(path), bpf_fd: fd }), { path });
}

/** BPF_OBJ_GET: open a pinned object → new fd. `flags`: MapFlag.RDONLY/WRONLY for maps. */
export function objGet(path: string, flags = 0): number {
  return bpf(Cmd.OBJ_GET, ObjAttr.encode({ pathname: cPath(path), file_flags: flags }), { path });
}

/** BPF_OBJ_GET_INFO_BY_FD into `info` (a `bpf_*_info` buffer); returns the length the kernel filled. */
export function objGetInfoByFd(fd: number, info: Uint8Array): number {
  const attr = InfoAttr.encode({ bpf_fd: fd, info_len: info.byteLength, info });
  bpf(Cmd.OBJ_GET_INFO_BY_FD, attr);
  return InfoAttr.get(attr, 'info_len');
}

/** Which object kind an id refers to, for the *_GET_FD_BY_ID / *_GET_NEXT_ID commands. */
export type IdKind = 'prog' | 'map' | 'btf' | 'link';

const fdById: Record<IdKind, number> = {
  prog: Cmd.PROG_GET_FD_BY_ID,
  map: Cmd.MAP_GET_FD_BY_ID,
  btf: Cmd.BTF_GET_FD_BY_ID,
  link: Cmd.LINK_GET_FD_BY_ID,
};
const nextId: Record<IdKind, number> = {
  prog: Cmd.PROG_GET_NEXT_ID,
  map: Cmd.MAP_GET_NEXT_ID,
  btf: Cmd.BTF_GET_NEXT_ID,
  link: Cmd.LINK_GET_NEXT_ID,
};

/** BPF_{PROG,MAP,BTF,LINK}_GET_FD_BY_ID → new fd. */
export function getFdById(kind: IdKind, id: number, openFlags = 0): number {
  return bpf(fdById[kind], GetIdAttr.encode({ start_id: id, open_flags: openFlags }), { subject: `${kind} id ${id}` });
}

/** BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID → next id after `start`, or undefined at the end. */
export function getNextId(kind: IdKind, start: number): number | undefined {
  const attr = GetIdAttr.encode({ start_id: start });
  const r = tryBpf(nextId[kind], attr);
  if (r.ok) return GetIdAttr.get(attr, 'next_id');
  if (r.errno === ENOENT) return undefined;
  throw new BpfError(nextId[kind], r.errno);
}

/** Every id of one object kind, ascending. */
export function* allIds(kind: IdKind): Generator<number> {
  let id = 0;
  for (;;) {
    const next = getNextId(kind, id);
    if (next === undefined) return;
    yield next;
    id = next;
  }
}

// ---------------------------------------------------------------- BTF

/** BPF_BTF_LOAD without throwing (the caller reads the log on failure). */
export function btfLoad(btf: Uint8Array, log?: { buf: Uint8Array; level: number }): Attempt & { attr: Uint8Array } {
  const attr = BtfLoadAttr.encode({
    btf,
    btf_size: btf.byteLength,
    btf_log_buf: log?.buf ?? null,
    btf_log_size: log?.buf.byteLength ?? 0,
    btf_log_level: log?.level ?? 0,
  });
  return { ...tryBpf(Cmd.BTF_LOAD, attr), attr };
}

// ---------------------------------------------------------------- attach (used by loader/links)

/** BPF_LINK_CREATE with the common fields (+ tcx/netkit/cgroup relative_fd/expected_revision) → new link fd. */
export function linkCreate(attr: LayoutInput<typeof LinkCreateAttr.fields>, ctx?: BpfErrorContext): number {
  return bpf(Cmd.LINK_CREATE, LinkCreateAttr.encode(attr), ctx);
}

/** BPF_LINK_UPDATE: swap a link's program atomically (`flags` REPLACE + `old_prog_fd` to guard). */
export function linkUpdate(attr: LayoutInput<typeof LinkUpdateAttr.fields>, ctx?: BpfErrorContext): void {
  bpf(Cmd.LINK_UPDATE, LinkUpdateAttr.encode(attr), ctx);
}

/** BPF_LINK_DETACH: force-detach a link (the fd stays valid, defunct). */
export function linkDetach(linkFd: number, ctx?: BpfErrorContext): void {
  bpf(Cmd.LINK_DETACH, LinkDetachAttr.encode({ link_fd: linkFd }), ctx);
}

/** BPF_PROG_ATTACH. */
export function progAttach(attr: LayoutInput<typeof ProgAttachAttr.fields>, ctx?: BpfErrorContext): void {
  bpf(Cmd.PROG_ATTACH, ProgAttachAttr.encode(attr), ctx);
}

/** BPF_PROG_DETACH. */
export function progDetach(attr: LayoutInput<typeof ProgAttachAttr.fields>, ctx?: BpfErrorContext): void {
  bpf(Cmd.PROG_DETACH, ProgAttachAttr.encode(attr), ctx);
}

/** BPF_PROG_QUERY result. */
export interface ProgQueryResult {
  readonly attachFlags: number;
  readonly progIds: number[];
  readonly progAttachFlags: number[];
  readonly linkIds: number[];
  readonly revision: bigint;
}

/**
 * BPF_PROG_QUERY: programs attached to a cgroup fd / ifindex for an attach type.
 * Asks for the count first, then fetches (retrying if it grew in between).
 */
export function progQuery(targetFd: number, attachType: number, queryFlags = 0, ctx?: BpfErrorContext): ProgQueryResult {
  let capacity = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    const progIds = new Uint8Array(4 * capacity);
    const progFlags = new Uint8Array(4 * capacity);
    const linkIds = new Uint8Array(4 * capacity);
    const withFlags = (queryFlags & 1) === 0; // per-program flags are refused for effective queries
    const attr = ProgQueryAttr.encode({
      target_fd: targetFd,
      attach_type: attachType,
      query_flags: queryFlags,
      prog_ids: capacity ? progIds : null,
      prog_cnt: capacity,
      prog_attach_flags: capacity && withFlags ? progFlags : null,
      link_ids: capacity ? linkIds : null,
    });
    const r = tryBpf(Cmd.PROG_QUERY, attr);
    const count = ProgQueryAttr.get(attr, 'prog_cnt');
    if (!r.ok && !(r.errno === errnoNumber('ENOSPC'))) throw new BpfError(Cmd.PROG_QUERY, r.errno, ctx);
    if (r.ok && count <= capacity) {
      const ids = (b: Uint8Array) => Array.from(new Uint32Array(b.buffer, 0, count));
      return {
        attachFlags: ProgQueryAttr.get(attr, 'attach_flags'),
        progIds: ids(progIds),
        progAttachFlags: withFlags ? ids(progFlags) : [],
        linkIds: ids(linkIds),
        revision: ProgQueryAttr.get(attr, 'revision'),
      };
    }
    capacity = count;
  }
  throw new BpfError(Cmd.PROG_QUERY, errnoNumber('ENOSPC')!, ctx);
}
