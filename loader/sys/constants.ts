/**
 * bpf(2) enums for the syscall layer: the generated UAPI values of dsl/kernel
 * (with the additions newer than the header), re-exported under the names the
 * loader uses. Names are the UAPI names without their prefix, upper-case
 * (`BPF_MAP_TYPE_LRU_HASH` → `LRU_HASH`), as everywhere in tsbpf.
 */
import {
  AttachFlags,
  BpfAttachType,
  BpfCmd,
  BpfLinkType,
  BpfMapType,
  BpfProgType,
  MapFlags,
  nameOf,
  ProgLoadFlags,
  QueryFlags,
  TestRunFlags,
  UAPI,
  UpdateFlags,
  type AttachTypeName,
  type MapTypeName,
  type ProgTypeName,
} from '../../dsl/kernel/index.js';

export type { AttachTypeName, BpfCmdName as CmdName, LinkTypeName, MapTypeName, ProgTypeName } from '../../dsl/kernel/index.js';

/** `enum bpf_cmd`. */
export const Cmd = BpfCmd;
/** `enum bpf_map_type`. */
export const MapType = BpfMapType;
/** `enum bpf_prog_type`. */
export const ProgType = BpfProgType;
/** `enum bpf_attach_type`. */
export const AttachType = BpfAttachType;
/** `enum bpf_link_type`. */
export const LinkType = BpfLinkType;

/** Name of a bpf(2) command number (`BPF_MAP_CREATE`). */
export function cmdName(cmd: number): string {
  return `BPF_${nameOf(BpfCmd, cmd) ?? `CMD_${cmd}`}`;
}

/** Name of an enum value (`type_<n>` for one newer than the table). */
function keyOf<E extends Readonly<Record<string, number>>>(table: E, value: number): keyof E & string {
  return nameOf(table, value) ?? (`type_${value}` as keyof E & string);
}
/** Name of a map type number (`LRU_HASH`). */
export function mapTypeName(type: number): MapTypeName {
  return keyOf(BpfMapType, type);
}
/** Name of a program type number (`SCHED_CLS`). */
export function progTypeName(type: number): ProgTypeName {
  return keyOf(BpfProgType, type);
}
/** Name of an attach type number (`CGROUP_INET4_CONNECT`). */
export function attachTypeName(type: number): AttachTypeName {
  return keyOf(BpfAttachType, type);
}

/** Resolves an enum member given by name or number; throws on an unknown name. */
export function enumValue<T extends Readonly<Record<string, number>>>(table: T, what: string, v: keyof T | number): number {
  if (typeof v === 'number') return v;
  const n = table[v];
  if (n === undefined) throw new RangeError(`unknown ${what} '${String(v)}'`);
  return n;
}

/** Flags of BPF_MAP_*_ELEM updates (`LOCK` is `BPF_F_LOCK`). */
export const UpdateFlag = Object.freeze({ ...UpdateFlags, LOCK: UpdateFlags.F_LOCK });
/** BPF_MAP_CREATE `map_flags` bits. */
export const MapFlag = MapFlags;
/** BPF_PROG_LOAD `prog_flags` bits. */
export const ProgFlag = ProgLoadFlags;
/** BPF_PROG_ATTACH / BPF_LINK_CREATE / BPF_PROG_QUERY flag bits. */
export const AttachFlag = AttachFlags;
/** BPF_PROG_TEST_RUN `flags` bits. */
export const TestRunFlag = TestRunFlags;
/** BPF_PROG_QUERY `query_flags`. */
export const QueryFlag = QueryFlags;

/** Length of kernel object names (BPF_OBJ_NAME_LEN), including the terminating NUL. */
export const OBJ_NAME_LEN = UAPI.BPF_OBJ_NAME_LEN;
/** Size of one instruction slot. */
export const INSN_SIZE = 8;
