/** BPF_OBJ_GET_INFO_BY_FD for maps, programs and BTF, decoded into plain objects. */
import { BtfInfoStruct, MapInfoStruct, ProgInfoStruct } from './attr.js';
import { objGetInfoByFd } from './bpf.js';
import { mapTypeName, progTypeName } from './constants.js';
import { cString } from './layout.js';

/** What the kernel reports about a map. */
export interface MapInfo {
  readonly id: number;
  readonly type: number;
  /** Type name (`HASH`), or `type_<n>` if newer than our table. */
  readonly typeName: string;
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly btfId: number;
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  readonly mapExtra: bigint;
  readonly ifindex: number;
}

/** Reads `bpf_map_info` for a map fd. */
export function mapInfo(fd: number): MapInfo {
  const buf = new Uint8Array(MapInfoStruct.size);
  objGetInfoByFd(fd, buf);
  const i = MapInfoStruct.decode(buf);
  return {
    id: i.id,
    type: i.type,
    typeName: mapTypeName(i.type),
    name: cString(i.name),
    keySize: i.key_size,
    valueSize: i.value_size,
    maxEntries: i.max_entries,
    flags: i.map_flags,
    btfId: i.btf_id,
    btfKeyTypeId: i.btf_key_type_id,
    btfValueTypeId: i.btf_value_type_id,
    mapExtra: i.map_extra,
    ifindex: i.ifindex,
  };
}

/** What the kernel reports about a program. */
export interface ProgInfo {
  readonly id: number;
  readonly type: number;
  readonly typeName: string;
  readonly name: string;
  /** The program tag (hash of its instructions), as 16 hex digits. */
  readonly tag: string;
  /** Bytes of the kernel's translated program (8 per instruction). */
  readonly xlatedSize: number;
  /** Bytes of JIT-compiled machine code (0 if not JITed). */
  readonly jitedSize: number;
  /** Instructions the verifier processed (kernel 5.16+). */
  readonly verifiedInsns: number;
  readonly mapIds: readonly number[];
  readonly btfId: number;
  readonly loadTime: bigint;
  readonly createdByUid: number;
  readonly gplCompatible: boolean;
  readonly runTimeNs: bigint;
  readonly runCount: bigint;
  readonly funcInfoCount: number;
  readonly lineInfoCount: number;
}

/** Reads `bpf_prog_info` for a program fd (two calls: sizes first, then map ids). */
export function progInfo(fd: number, opts: { xlated?: boolean } = {}): ProgInfo & { xlated?: Uint8Array } {
  const first = new Uint8Array(ProgInfoStruct.size);
  objGetInfoByFd(fd, first);
  const i0 = ProgInfoStruct.decode(first);
  const mapIds = new Uint8Array(4 * i0.nr_map_ids);
  const xlated = opts.xlated ? new Uint8Array(i0.xlated_prog_len) : undefined;
  // Second call with only the arrays we want; every other array count must be 0.
  const second = ProgInfoStruct.encode({
    nr_map_ids: i0.nr_map_ids,
    map_ids: i0.nr_map_ids ? mapIds : null,
    xlated_prog_len: xlated ? i0.xlated_prog_len : 0,
    xlated_prog_insns: xlated ?? null,
  });
  objGetInfoByFd(fd, second);
  const i = ProgInfoStruct.decode(second);
  const n = Math.min(i.nr_map_ids, i0.nr_map_ids);
  const info: ProgInfo & { xlated?: Uint8Array } = {
    id: i.id,
    type: i.type,
    typeName: progTypeName(i.type),
    name: cString(i.name),
    tag: Buffer.from(i.tag).toString('hex'),
    xlatedSize: i0.xlated_prog_len,
    jitedSize: i0.jited_prog_len,
    verifiedInsns: i.verified_insns,
    mapIds: Array.from(new Uint32Array(mapIds.buffer, 0, n)),
    btfId: i.btf_id,
    loadTime: i.load_time,
    createdByUid: i.created_by_uid,
    gplCompatible: (i.gpl_compatible & 1) === 1,
    runTimeNs: i.run_time_ns,
    runCount: i.run_cnt,
    funcInfoCount: i0.nr_func_info,
    lineInfoCount: i0.nr_line_info,
  };
  if (xlated) info.xlated = xlated;
  return info;
}

/** What the kernel reports about a BTF object; `data` is its raw bytes if asked for. */
export interface BtfInfo {
  readonly id: number;
  readonly size: number;
  readonly name: string;
  readonly kernel: boolean;
  readonly data?: Uint8Array;
}

/** Reads `bpf_btf_info` (optionally with the BTF bytes) for a BTF fd. */
export function btfInfo(fd: number, opts: { data?: boolean } = {}): BtfInfo {
  const first = new Uint8Array(BtfInfoStruct.size);
  objGetInfoByFd(fd, first);
  const i0 = BtfInfoStruct.decode(first);
  const nameBuf = new Uint8Array(64);
  const data = opts.data ? new Uint8Array(i0.btf_size) : undefined;
  const second = BtfInfoStruct.encode({ btf: data ?? null, btf_size: data ? i0.btf_size : 0, name: nameBuf, name_len: nameBuf.length });
  objGetInfoByFd(fd, second);
  const i = BtfInfoStruct.decode(second);
  const out: BtfInfo = { id: i.id, size: i0.btf_size, name: cString(nameBuf), kernel: i.kernel_btf !== 0 };
  return data ? { ...out, data } : out;
}
