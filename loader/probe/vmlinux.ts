/**
 * A fast, read-only index over the running kernel's BTF (/sys/kernel/btf/vmlinux):
 * only what the prober needs — function ids by name (kfuncs, fentry/LSM attach
 * targets) and the members of a few named enums (the kernel's own list of
 * program/map/attach/link types and helper ids). Scanning 5 MB of BTF with
 * DataView and comparing names as bytes takes a few milliseconds; a full
 * dsl/btf decode of vmlinux would build ~100k objects the prober never reads.
 */
import { readFileSync } from 'node:fs';

const BTF_MAGIC = 0xeb9f;
const KIND_ENUM = 6;
const KIND_FUNC = 12;
const KIND_ENUM64 = 19;

/** Bytes each BTF kind adds after the 12-byte common header: [fixed, per vlen member]. */
const EXTRA: ReadonlyArray<readonly [number, number]> = [
  [0, 0], // 0 void
  [4, 0], // 1 INT
  [0, 0], // 2 PTR
  [12, 0], // 3 ARRAY
  [0, 12], // 4 STRUCT
  [0, 12], // 5 UNION
  [0, 8], // 6 ENUM
  [0, 0], // 7 FWD
  [0, 0], // 8 TYPEDEF
  [0, 0], // 9 VOLATILE
  [0, 0], // 10 CONST
  [0, 0], // 11 RESTRICT
  [0, 0], // 12 FUNC
  [0, 8], // 13 FUNC_PROTO
  [4, 0], // 14 VAR
  [0, 12], // 15 DATASEC
  [0, 0], // 16 FLOAT
  [4, 0], // 17 DECL_TAG
  [0, 0], // 18 TYPE_TAG
  [0, 12], // 19 ENUM64
];

/** The kernel's BTF, indexed for name lookups. */
export class VmlinuxIndex {
  private funcsByOffset?: Map<number, number>;
  private readonly enums = new Map<string, Map<string, number>>();
  private readonly strBase: number;
  private readonly strEnd: number;
  private readonly typeStart: number;
  private readonly typeEnd: number;
  private readonly dv: DataView;
  private readonly decoder = new TextDecoder();

  constructor(private readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 24 || this.dv.getUint16(0, true) !== BTF_MAGIC)
      throw new Error('not a little-endian BTF blob (bad magic)');
    const hdrLen = this.dv.getUint32(4, true);
    this.typeStart = hdrLen + this.dv.getUint32(8, true);
    this.typeEnd = this.typeStart + this.dv.getUint32(12, true);
    this.strBase = hdrLen + this.dv.getUint32(16, true);
    this.strEnd = this.strBase + this.dv.getUint32(20, true);
    if (this.typeEnd > bytes.byteLength || this.strEnd > bytes.byteLength) throw new Error('BTF sections run past the end');
  }

  /** Reads /sys/kernel/btf/vmlinux, or returns undefined when it is absent/unreadable. */
  static load(path = '/sys/kernel/btf/vmlinux'): VmlinuxIndex | undefined {
    try {
      return new VmlinuxIndex(readFileSync(path));
    } catch {
      return undefined;
    }
  }

  private name(off: number): string {
    const start = this.strBase + off;
    const end = this.bytes.indexOf(0, start);
    return this.decoder.decode(this.bytes.subarray(start, end < 0 ? this.strEnd : end));
  }

  /**
   * Offset of `name` in the string table, found as the bytes `\0name\0`
   * (pahole deduplicates strings, so the first whole match is the one types use).
   */
  private offsetOf(name: string): number | undefined {
    const needle = Buffer.from(`\0${name}\0`);
    const buf = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.strBase, this.strEnd - this.strBase);
    const at = buf.indexOf(needle);
    return at < 0 ? undefined : at + 1;
  }

  /**
   * Walks every type once with integer reads only: FUNC name offsets → ids, and
   * the start of each wanted enum. Names are decoded only on lookup.
   */
  private scan(): void {
    const funcs = new Map<number, number>();
    const wanted = new Map<number, string>();
    for (const e of ENUMS) {
      const off = this.offsetOf(e);
      if (off !== undefined) wanted.set(off, e);
    }
    const dv = this.dv;
    let pos = this.typeStart;
    let id = 1;
    while (pos + 12 <= this.typeEnd) {
      const nameOff = dv.getUint32(pos, true);
      const info = dv.getUint32(pos + 4, true);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const extra = EXTRA[kind];
      if (!extra) throw new Error(`unknown BTF kind ${kind} at type ${id}`);
      if (kind === KIND_FUNC) {
        if (!funcs.has(nameOff)) funcs.set(nameOff, id);
      } else if (kind === KIND_ENUM || kind === KIND_ENUM64) {
        const e = wanted.get(nameOff);
        if (e !== undefined && !this.enums.has(e)) {
          const members = new Map<string, number>();
          const step = kind === KIND_ENUM ? 8 : 12;
          for (let m = 0; m < vlen; m++) {
            const at = pos + 12 + m * step;
            members.set(this.name(dv.getUint32(at, true)), dv.getInt32(at + 4, true));
          }
          this.enums.set(e, members);
        }
      }
      pos += 12 + extra[0] + extra[1] * vlen;
      id++;
    }
    this.funcsByOffset = funcs;
  }

  /** BTF id of the kernel function `name`, or undefined. */
  funcId(name: string): number | undefined {
    if (!this.funcsByOffset) this.scan();
    const off = this.offsetOf(name);
    return off === undefined ? undefined : this.funcsByOffset!.get(off);
  }

  /** Members (name → value) of the named enum, e.g. `bpf_func_id`; undefined when absent. */
  enumMembers(name: (typeof ENUMS)[number]): ReadonlyMap<string, number> | undefined {
    if (!this.funcsByOffset) this.scan();
    return this.enums.get(name);
  }

  /** Names of all kernel functions starting with `prefix`. */
  funcsWithPrefix(prefix: string): string[] {
    if (!this.funcsByOffset) this.scan();
    const out: string[] = [];
    for (const off of this.funcsByOffset!.keys()) {
      const n = this.name(off);
      if (n.startsWith(prefix)) out.push(n);
    }
    return out;
  }
}

/** The enums the prober reads from the kernel's BTF. */
export const ENUMS = ['bpf_func_id', 'bpf_prog_type', 'bpf_map_type', 'bpf_attach_type', 'bpf_link_type'] as const;
