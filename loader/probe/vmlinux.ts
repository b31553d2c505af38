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
    const found = scanTypes(this.bytes, this.typeStart, this.typeEnd, this.strBase, new Set(wanted.keys()));
    // Every name the prober asks for by FUNC starts with `bpf_`: index those by name now.
    for (let k = 0; k < found.bpfCount; k++) {
      const name = this.name(found.bpfNameOffs[k]!);
      if (!this.bpfFuncs.has(name)) this.bpfFuncs.set(name, found.bpfIds[k]!);
    }
    for (const [pos, nameOff] of found.enumAt) {
      const e = wanted.get(nameOff)!;
      if (this.enums.has(e)) continue;
      const info = this.dv.getUint32(pos + 4, true);
      const step = (info >>> 24) === KIND_ENUM ? 8 : 12;
      const members = new Map<string, number>();
      for (let m = 0; m < (info & 0xffff); m++) {
        const at = pos + 12 + m * step;
        members.set(this.name(this.dv.getUint32(at, true)), this.dv.getInt32(at + 4, true));
      }
      this.enums.set(e, members);
    }
    this.funcNameOffs = found.funcNameOffs;
    this.funcIds = found.funcIds;
    this.funcCount = found.funcCount;
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

/** What one pass over the type section finds. */
interface ScanResult {
  readonly funcNameOffs: Uint32Array;
  readonly funcIds: Uint32Array;
  readonly funcCount: number;
  readonly bpfNameOffs: Uint32Array;
  readonly bpfIds: Uint32Array;
  readonly bpfCount: number;
  /** Byte position and name offset of each wanted ENUM/ENUM64. */
  readonly enumAt: [number, number][];
}

/**
 * The hot loop, kept small and monomorphic so it is fast even before the JIT
 * has warmed up (a CLI run scans once): 32-bit reads through a Uint32Array.
 */
function scanTypes(bytes: Uint8Array, start: number, end: number, strBase: number, enumNames: ReadonlySet<number>): ScanResult {
  // Unaligned (never for the kernel's blob): one copy makes it aligned.
  const section = (bytes.byteOffset + start) % 4 === 0 ? bytes : new Uint8Array(bytes);
  const base = (section.byteOffset + start) >>> 2;
  const words = new Uint32Array(section.buffer, 0, (section.byteOffset + end) >>> 2);
  let funcNameOffs: Uint32Array = new Uint32Array(1 << 16);
  let funcIds: Uint32Array = new Uint32Array(1 << 16);
  let bpfNameOffs: Uint32Array = new Uint32Array(1 << 12);
  let bpfIds: Uint32Array = new Uint32Array(1 << 12);
  let n = 0;
  let nb = 0;
  const enumAt: [number, number][] = [];
  let pos = start;
  let id = 1;
  while (pos + 12 <= end) {
    const w = base + ((pos - start) >>> 2);
    const nameOff = words[w]!;
    const info = words[w + 1]!;
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind >= KINDS) throw new Error(`unknown BTF kind ${kind} at type ${id}`);
    if (kind === KIND_FUNC) {
      if (n === funcNameOffs.length) {
        funcNameOffs = grow(funcNameOffs);
        funcIds = grow(funcIds);
      }
      funcNameOffs[n] = nameOff;
      funcIds[n++] = id;
      const at = strBase + nameOff;
      if (bytes[at] === 0x62 && bytes[at + 1] === 0x70 && bytes[at + 2] === 0x66 && bytes[at + 3] === 0x5f) {
        if (nb === bpfNameOffs.length) {
          bpfNameOffs = grow(bpfNameOffs);
          bpfIds = grow(bpfIds);
        }
        bpfNameOffs[nb] = nameOff;
        bpfIds[nb++] = id;
      }
    } else if ((kind === KIND_ENUM || kind === KIND_ENUM64) && enumNames.has(nameOff)) {
      enumAt.push([pos, nameOff]);
    }
    pos += 12 + EXTRA_FIXED[kind]! + EXTRA_PER_MEMBER[kind]! * vlen;
    id++;
  }
  if (pos !== end) throw new Error(`BTF type section ends mid-type (at byte ${pos - start} of ${end - start})`);
  return { funcNameOffs, funcIds, funcCount: n, bpfNameOffs, bpfIds, bpfCount: nb, enumAt };
}

/** A copy of `a` with twice the room. */
function grow(a: Uint32Array): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

/** The enums the prober reads from the kernel's BTF. */
export const ENUMS = ['bpf_func_id', 'bpf_prog_type', 'bpf_map_type', 'bpf_attach_type', 'bpf_link_type'] as const;
