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

/** Bytes each BTF kind (index) adds after the 12-byte common header: fixed part… */
const EXTRA_FIXED = new Uint8Array([0, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 4, 0, 0]);
/** …and per vlen member. */
const EXTRA_PER_MEMBER = new Uint8Array([0, 0, 0, 0, 12, 12, 8, 0, 0, 0, 0, 0, 0, 8, 0, 12, 0, 0, 0, 12]);
const KINDS = EXTRA_FIXED.length;

/** The kernel's BTF, indexed for name lookups. */
export class VmlinuxIndex {
  /** FUNC types as parallel arrays: name offset, type id (filled by one scan). */
  private funcNameOffs?: Uint32Array;
  private funcIds?: Uint32Array;
  private funcCount = 0;
  /** FUNCs named `bpf_*` (kfuncs, fentry/LSM test targets) by name. */
  private readonly bpfFuncs = new Map<string, number>();
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

  /**
   * Reads and indexes /sys/kernel/btf/vmlinux; undefined when it is absent,
   * unreadable or malformed (the prober then falls back to its own tables).
   */
  static load(path = '/sys/kernel/btf/vmlinux'): VmlinuxIndex | undefined {
    try {
      const index = new VmlinuxIndex(readFileSync(path));
      index.scan();
      return index;
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
   * Walks every type once with integer reads only: FUNC name offsets and ids
   * into typed arrays, and the members of each wanted enum. Names are decoded
   * only on lookup.
   */
  private scan(): void {
    const wanted = new Map<number, string>();
    for (const e of ENUMS) {
      const off = this.offsetOf(e);
      if (off !== undefined) wanted.set(off, e);
    }
    const dv = this.dv;
    let offs = new Uint32Array(1 << 16);
    let ids = new Uint32Array(1 << 16);
    let n = 0;
    let pos = this.typeStart;
    let id = 1;
    const end = this.typeEnd;
    while (pos + 12 <= end) {
      const nameOff = dv.getUint32(pos, true);
      const info = dv.getUint32(pos + 4, true);
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      if (kind >= KINDS) throw new Error(`unknown BTF kind ${kind} at type ${id}`);
      if (kind === KIND_FUNC) {
        if (n === offs.length) {
          const grow = (a: Uint32Array) => {
            const b = new Uint32Array(a.length * 2);
            b.set(a);
            return b;
          };
          offs = grow(offs);
          ids = grow(ids);
        }
        offs[n] = nameOff;
        ids[n++] = id;
        // Every name the prober asks for starts with `bpf_`: index those by name now.
        const at = this.strBase + nameOff;
        const b = this.bytes;
        if (b[at] === 0x62 && b[at + 1] === 0x70 && b[at + 2] === 0x66 && b[at + 3] === 0x5f) {
          const name = this.name(nameOff);
          if (!this.bpfFuncs.has(name)) this.bpfFuncs.set(name, id);
        }
      } else if ((kind === KIND_ENUM || kind === KIND_ENUM64) && wanted.has(nameOff)) {
        const e = wanted.get(nameOff)!;
        if (!this.enums.has(e)) {
          const members = new Map<string, number>();
          const step = kind === KIND_ENUM ? 8 : 12;
          for (let m = 0; m < vlen; m++) {
            const at = pos + 12 + m * step;
            members.set(this.name(dv.getUint32(at, true)), dv.getInt32(at + 4, true));
          }
          this.enums.set(e, members);
        }
      }
      pos += 12 + EXTRA_FIXED[kind]! + EXTRA_PER_MEMBER[kind]! * vlen;
      id++;
    }
    if (pos !== end) throw new Error(`BTF type section ends mid-type (at byte ${pos - this.typeStart} of ${end - this.typeStart})`);
    this.funcNameOffs = offs;
    this.funcIds = ids;
    this.funcCount = n;
  }

  /** BTF id of the kernel function `name` (the first FUNC of that name), or undefined. */
  funcId(name: string): number | undefined {
    if (!this.funcNameOffs) this.scan();
    if (name.startsWith('bpf_')) return this.bpfFuncs.get(name);
    const off = this.offsetOf(name);
    if (off === undefined) return undefined;
    const offs = this.funcNameOffs!;
    for (let k = 0; k < this.funcCount; k++) if (offs[k] === off) return this.funcIds![k];
    return undefined;
  }

  /** Members (name → value) of the named enum, e.g. `bpf_func_id`; undefined when absent. */
  enumMembers(name: (typeof ENUMS)[number]): ReadonlyMap<string, number> | undefined {
    if (!this.funcNameOffs) this.scan();
    return this.enums.get(name);
  }

  /** Names of all kernel functions starting with `prefix`. */
  funcsWithPrefix(prefix: string): string[] {
    if (!this.funcNameOffs) this.scan();
    const out: string[] = [];
    for (let k = 0; k < this.funcCount; k++) {
      const n = this.name(this.funcNameOffs![k]!);
      if (n.startsWith(prefix)) out.push(n);
    }
    return out;
  }
}

/** The enums the prober reads from the kernel's BTF. */
export const ENUMS = ['bpf_func_id', 'bpf_prog_type', 'bpf_map_type', 'bpf_attach_type', 'bpf_link_type'] as const;
