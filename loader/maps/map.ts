/**
 * A loaded BPF map: owns its fd; reads and writes typed through codecs
 * (dsl/types schemas) or raw bytes; per-CPU values as arrays; batch operations;
 * pinning.
 */
import { rmSync } from 'node:fs';
import { BpfError, LoaderError, type BpfErrorContext } from '../errors.js';
import {
  mapBatch,
  mapCreate,
  mapDeleteElem,
  mapFreeze,
  mapGetNextKey,
  mapLookupAndDeleteElem,
  mapLookupElem,
  mapUpdateElem,
  objGet,
  objPin,
  getFdById,
} from '../sys/bpf.js';
import { Cmd, MapFlag, OBJ_NAME_LEN, UpdateFlag, mapTypeName, type MapTypeName } from '../sys/constants.js';
import { possibleCpus } from '../sys/cpus.js';
import { Fd } from '../sys/fd.js';
import { bpfObjectKind } from '../sys/fdinfo.js';
import { mapInfo, type MapInfo } from '../sys/info.js';
import { btfCodecsForMap } from './btf-codec.js';
import { FdValueCodec, RawCodec, type AnyCodec, type InputOf, type OutputOf } from './codec.js';
import { defaultFlags, isFdMap, isMapInMap, isPerCpu, type Stored } from './kinds.js';
import { isBtfTypeRef, mapTypeNumber, type MapDefinition, type TypeSpec } from '../../dsl/object/index.js';
import type { MapCreateOptions } from './spec.js';
import { checkMapCreateNumbers, updateFlags } from './validate.js';

/** Update modes: create or replace, only create, only replace. */
export type UpdateMode = 'any' | 'noexist' | 'exist';

/** Options of `set`. */
export interface UpdateOptions {
  /** Take the value's bpf_spin_lock while copying (BPF_F_LOCK). */
  readonly lock?: boolean;
}

/** Options for opening an existing map (pin, id): how to read its keys and values. */
export interface OpenOptions<KC extends AnyCodec = AnyCodec, VC extends AnyCodec = AnyCodec> {
  readonly key?: KC;
  readonly value?: VC;
  /** Open read-only (BPF_F_RDONLY) — needed for frozen or read-only pins without write permission. */
  readonly readOnly?: boolean;
  /** Name for messages (defaults to the kernel's name). */
  readonly name?: string;
  /**
   * Derive key/value codecs from the map's own BTF (when it has one and no
   * codec is given): values then decode to plain objects by field name.
   */
  readonly useBtf?: boolean;
}

/** Key codec a spec implies: its key schema, else raw bytes. */
type KeyCodecOf<S> = S extends { key: infer C extends AnyCodec } ? C : RawCodec;
/** Map type name a spec implies. */
type TypeOf<S> = S extends { type: infer T extends MapTypeName } ? T : MapTypeName;
/** Value codec a spec implies. */
type ValueCodecOf<S> = S extends { value: infer C extends AnyCodec }
  ? C
  : S extends { type: infer T extends string }
    ? T extends 'PROG_ARRAY' | 'ARRAY_OF_MAPS' | 'HASH_OF_MAPS' | 'SOCKMAP' | 'SOCKHASH' | 'PERF_EVENT_ARRAY' | 'CGROUP_ARRAY' | 'DEVMAP' | 'DEVMAP_HASH' | 'CPUMAP' | 'XSKMAP' | 'REUSEPORT_SOCKARRAY'
      ? FdValueCodec
      : RawCodec
    : RawCodec;

const NAME_OK = /^[A-Za-z0-9_.]*$/;

/** The name the kernel will store: validated, truncated to 15 characters. */
export function kernelObjectName(name: string | undefined, what: string): string {
  if (!name) return '';
  if (!NAME_OK.test(name)) throw new LoaderError('LOADER_NAME', `${what} name "${name}" may only contain letters, digits, '_' and '.'`);
  return name.slice(0, OBJ_NAME_LEN - 1);
}

const round8 = (n: number) => Math.ceil(n / 8) * 8;

/**
 * A loaded map. `K`/`V` are what reads return (decoded by the codecs), `KIn`/`VIn`
 * what writes accept; `T` the map type, which decides whether values are per-CPU
 * arrays.
 */
export class BpfMap<KC extends AnyCodec = RawCodec, VC extends AnyCodec = AnyCodec, T extends MapTypeName = MapTypeName> implements Disposable {
  readonly #fd: Fd;
  /** Map type name. */
  readonly type: T;
  /** Kernel map type number. */
  readonly typeId: number;
  /** Name given at creation (full, untruncated) or reported by the kernel. */
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly key: KC;
  readonly value: VC;
  /** Values per key: possible CPUs for per-CPU maps, else 1. */
  readonly valuesPerKey: number;
  /** Bytes of one lookup/update value buffer (per-CPU: rounded to 8 × CPUs). */
  readonly valueBufferSize: number;
  #pinnedAt: string | undefined;

  private constructor(fd: Fd, meta: { type: number; name: string; keySize: number; valueSize: number; maxEntries: number; flags: number }, key?: AnyCodec, value?: AnyCodec) {
    this.#fd = fd;
    this.typeId = meta.type;
    this.type = mapTypeName(meta.type) as T;
    this.name = meta.name;
    this.keySize = meta.keySize;
    this.valueSize = meta.valueSize;
    this.maxEntries = meta.maxEntries;
    this.flags = meta.flags;
    const perCpu = isPerCpu(this.type);
    this.valuesPerKey = perCpu ? possibleCpus() : 1;
    this.valueBufferSize = perCpu ? round8(this.valueSize) * this.valuesPerKey : this.valueSize;
    this.key = (key ?? new RawCodec(this.keySize, 'key')) as KC;
    this.value = (value ?? (isFdMap(this.type) ? new FdValueCodec(this.valueSize) : new RawCodec(this.valueSize, 'value'))) as VC;
    if (this.key.size !== this.keySize)
      throw new LoaderError('LOADER_SIZE', `${this.describe()}: key codec is ${this.key.size} bytes but the map's key size is ${this.keySize}`);
    if (this.value.size !== this.valueSize)
      throw new LoaderError('LOADER_SIZE', `${this.describe()}: value codec is ${this.value.size} bytes but the map's value size is ${this.valueSize}`);
  }

  // ------------------------------------------------------------ creation / opening

  /**
   * Creates a map from a spec (BPF_MAP_CREATE). The returned map owns the new fd.
   * Keys and values given as schemas are encoded/decoded through them; sizes
   * (numbers) mean raw bytes. `options` carries load-time extras: custom codecs,
   * BTF type ids of a loaded BTF object, an open inner-map template.
   */
  static create<const S extends MapDefinition, KO extends AnyCodec | undefined = undefined, VO extends AnyCodec | undefined = undefined>(
    spec: S,
    options: MapCreateOptions & { readonly key?: KO; readonly value?: VO } = {},
  ): BpfMap<KO extends AnyCodec ? KO : KeyCodecOf<S>, VO extends AnyCodec ? VO : ValueCodecOf<S>, TypeOf<S>> {
    const name = spec.name ?? '';
    let type: number;
    try {
      type = mapTypeNumber(spec, `map "${name}"`);
    } catch (e) {
      throw new LoaderError('LOADER_MAP_TYPE', (e as Error).message, { cause: e });
    }
    const typeName = mapTypeName(type);
    if (typeName.startsWith('type_')) throw new LoaderError('LOADER_MAP_TYPE', `unknown map type '${String(spec.type)}'`);
    const what = `map "${name}" (${typeName})`;
    refuseLoadTimeFields(spec, what);
    const { keySize, valueSize, key, value } = mapShape(spec, typeName, options, what);
    let flags = spec.flags ?? defaultFlags(typeName);
    checkMapCreateNumbers(what, { keySize, valueSize, maxEntries: spec.maxEntries, flags, numaNode: spec.numaNode, ifindex: spec.ifindex, mapExtra: spec.mapExtra });
    if (spec.numaNode !== undefined) flags |= MapFlag.NUMA_NODE;

    let innerFd: number | undefined;
    let tempInner: BpfMap<AnyCodec, AnyCodec> | undefined;
    if (isMapInMap(typeName)) {
      if (options.innerMap) innerFd = options.innerMap.fd;
      else if (spec.innerMap) {
        tempInner = BpfMap.create(spec.innerMap, options.objectBtf ? { objectBtf: options.objectBtf } : {}) as BpfMap<AnyCodec, AnyCodec>;
        innerFd = tempInner.fd;
      } else throw new LoaderError('LOADER_SPEC', `${what}: a map-in-map needs an innerMap template (in the spec, or an open map in the options)`);
    }
    const ctx: BpfErrorContext = { subject: `creating ${what}` };
    const btf = options.btf;
    try {
      const btfFd = btf ? (typeof btf.fd === 'number' ? btf.fd : btf.fd.fd) : undefined;
      const fd = mapCreate(
        {
          map_type: type,
          key_size: keySize,
          value_size: valueSize,
          max_entries: spec.maxEntries,
          map_flags: flags,
          inner_map_fd: innerFd ?? 0,
          numa_node: spec.numaNode ?? 0,
          map_name: kernelObjectName(name, 'map'),
          map_ifindex: spec.ifindex ?? 0,
          btf_fd: btfFd ?? 0,
          btf_key_type_id: btf?.keyTypeId ?? 0,
          btf_value_type_id: btf?.valueTypeId ?? 0,
          map_extra: spec.mapExtra ?? 0,
        },
        ctx,
      );
      const owned = new Fd(fd, `map "${name}"`);
      try {
        return new BpfMap(owned, { type, name, keySize, valueSize, maxEntries: spec.maxEntries, flags }, key, value) as never;
      } catch (e) {
        owned.close();
        throw e;
      }
    } finally {
      tempInner?.close();
    }
  }

  /** Wraps an owned fd of an existing map; reads its shape from the kernel. Takes ownership of `fd`. */
  static fromFd<KC extends AnyCodec = RawCodec, VC extends AnyCodec = AnyCodec>(fd: Fd, opts: OpenOptions<KC, VC> = {}): BpfMap<KC, VC> {
    try {
      const kind = bpfObjectKind(fd.value);
      if (kind !== 'map') throw new LoaderError('LOADER_NOT_A_MAP', `${fd.what} is a ${kind === 'unknown' ? 'non-BPF object' : kind === 'prog' ? 'program' : kind}, not a map`);
      const info = mapInfo(fd.value);
      const fromBtf = opts.useBtf && (!opts.key || !opts.value) ? btfCodecsForMap(info) : undefined;
      const key = opts.key ?? (fromBtf?.key?.size === info.keySize ? fromBtf.key : undefined);
      const value = opts.value ?? (fromBtf?.value.size === info.valueSize ? fromBtf.value : undefined);
      return new BpfMap(fd, { type: info.type, name: opts.name ?? info.name, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.flags }, key, value);
    } catch (e) {
      fd.close();
      throw e;
    }
  }

  /**
   * Opens a pinned map (BPF_OBJ_GET). With `useBtf`, keys and values are
   * whatever the map's BTF decodes to (raw bytes if it has none).
   */
  static fromPin(path: string, opts: OpenOptions & { readonly useBtf: true }): BpfMap<AnyCodec, AnyCodec>;
  static fromPin<KC extends AnyCodec = RawCodec, VC extends AnyCodec = AnyCodec>(path: string, opts?: OpenOptions<KC, VC>): BpfMap<KC, VC>;
  static fromPin<KC extends AnyCodec = RawCodec, VC extends AnyCodec = AnyCodec>(path: string, opts: OpenOptions<KC, VC> = {}): BpfMap<KC, VC> {
    const fd = new Fd(objGet(path, opts.readOnly ? MapFlag.RDONLY : 0), `map pinned at ${path}`);
    const map = BpfMap.fromFd(fd, opts);
    map.#pinnedAt = path;
    return map;
  }

  /**
   * The map pinned at `path` if it matches `spec` (type, key/value size, max
   * entries, flags), else a new one pinned there — how an upgraded agent keeps
   * its state. A mismatching pin is refused with the differences listed
   * (`onMismatch: 'fail'`, the default) or replaced by a fresh map
   * (`'replace'`; programs still using the old map keep it).
   */
  static openOrCreate<const S extends MapDefinition>(
    spec: S,
    path: string,
    opts: { onMismatch?: 'fail' | 'replace' } = {},
  ): { map: BpfMap<KeyCodecOf<S>, ValueCodecOf<S>, TypeOf<S>>; created: boolean; replaced: boolean; mismatches: string[] } {
    let existing: BpfMap<AnyCodec, AnyCodec> | undefined;
    try {
      existing = BpfMap.fromPin(path);
    } catch (e) {
      if (!(e instanceof BpfError && e.errno === 'ENOENT')) throw e;
    }
    let mismatches: string[] = [];
    if (existing) {
      try {
        mismatches = existing.mismatches(spec);
      } finally {
        existing.close();
      }
      if (mismatches.length === 0) {
        const map = BpfMap.fromPin(path, { ...(isCodec(spec.key) ? { key: spec.key } : {}), ...(isCodec(spec.value) ? { value: spec.value } : {}), ...(spec.name ? { name: spec.name } : {}) });
        return { map: map as never, created: false, replaced: false, mismatches };
      }
      if ((opts.onMismatch ?? 'fail') === 'fail')
        throw new LoaderError(
          'LOADER_PIN_MISMATCH',
          `map pinned at ${path} does not match map "${spec.name ?? ''}": ${mismatches.join(', ')}; remove the pin (rm ${path}) or use onMismatch: 'replace'`,
        );
    }
    const map = BpfMap.create(spec);
    try {
      if (existing) rmSync(path, { force: true });
      map.pin(path);
    } catch (e) {
      map.close();
      throw e;
    }
    return { map, created: true, replaced: existing !== undefined, mismatches };
  }

  /** Opens a map by kernel id (BPF_MAP_GET_FD_BY_ID). */
  static fromId<KC extends AnyCodec = RawCodec, VC extends AnyCodec = AnyCodec>(id: number, opts: OpenOptions<KC, VC> = {}): BpfMap<KC, VC> {
    return BpfMap.fromFd(new Fd(getFdById('map', id, opts.readOnly ? MapFlag.RDONLY : 0), `map id ${id}`), opts);
  }

  // ------------------------------------------------------------ identity

  /** The fd number (throws once closed). */
  get fd(): number {
    return this.#fd.value;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#fd.closed;
  }

  /** The path this map was pinned at or opened from, if any. */
  get pinnedPath(): string | undefined {
    return this.#pinnedAt;
  }

  /** What the kernel reports now (BPF_OBJ_GET_INFO_BY_FD). */
  info(): MapInfo {
    return mapInfo(this.fd);
  }

  /** Whether this map has per-CPU values. */
  get perCpu(): boolean {
    return isPerCpu(this.type);
  }

  private describe(): string {
    return `map "${this.name}" (${this.type})`;
  }

  private ctx(op: string): BpfErrorContext {
    return { subject: `${op} ${this.describe()}` };
  }

  // ------------------------------------------------------------ element operations

  private encodeKey(key: InputOf<KC> | undefined): Uint8Array | null {
    if (this.keySize === 0) return null;
    const bytes = this.key.encode(key);
    if (bytes.length !== this.keySize) throw new LoaderError('LOADER_SIZE', `${this.describe()}: key encodes to ${bytes.length} bytes, expected ${this.keySize}`);
    return bytes;
  }

  private encodeValue(value: Stored<T, InputOf<VC>> | InputOf<VC>, into?: Uint8Array): Uint8Array {
    const out = into ?? new Uint8Array(this.valueBufferSize);
    if (!this.perCpu) {
      const bytes = this.value.encode(value);
      if (bytes.length !== this.valueSize) throw new LoaderError('LOADER_SIZE', `${this.describe()}: value encodes to ${bytes.length} bytes, expected ${this.valueSize}`);
      out.set(bytes);
      return out;
    }
    const stride = round8(this.valueSize);
    const values = Array.isArray(value) ? (value as unknown[]) : undefined;
    if (values && values.length !== this.valuesPerKey)
      throw new LoaderError('LOADER_PERCPU', `${this.describe()}: per-CPU value needs ${this.valuesPerKey} entries (possible CPUs), got ${values.length}`);
    // A single value is written to every CPU's slot.
    const single = values ? undefined : this.value.encode(value);
    for (let cpu = 0; cpu < this.valuesPerKey; cpu++) {
      const bytes = single ?? this.value.encode(values![cpu]);
      if (bytes.length !== this.valueSize) throw new LoaderError('LOADER_SIZE', `${this.describe()}: value encodes to ${bytes.length} bytes, expected ${this.valueSize}`);
      out.set(bytes, cpu * stride);
    }
    return out;
  }

  private decodeValue(buf: Uint8Array, offset = 0): Stored<T, OutputOf<VC>> {
    if (!this.perCpu) return this.value.decode(buf.subarray(offset, offset + this.valueSize)) as Stored<T, OutputOf<VC>>;
    const stride = round8(this.valueSize);
    const out: unknown[] = [];
    for (let cpu = 0; cpu < this.valuesPerKey; cpu++) {
      const at = offset + cpu * stride;
      out.push(this.value.decode(buf.subarray(at, at + this.valueSize)));
    }
    return out as Stored<T, OutputOf<VC>>;
  }

  /** The value at `key` (per-CPU maps: one per possible CPU), or undefined if absent. */
  get(key: InputOf<KC>, opts: UpdateOptions = {}): Stored<T, OutputOf<VC>> | undefined {
    const k = this.encodeKey(key);
    const buf = new Uint8Array(this.valueBufferSize);
    if (!mapLookupElem(this.fd, k, buf, opts.lock ? UpdateFlag.LOCK : 0, this.ctx('lookup in'))) return undefined;
    return this.decodeValue(buf);
  }

  /** Whether `key` is present. */
  has(key: InputOf<KC>): boolean {
    return mapLookupElem(this.fd, this.encodeKey(key), new Uint8Array(this.valueBufferSize), 0, this.ctx('lookup in'));
  }

  /**
   * Writes `value` at `key`. `mode`: 'any' (default) creates or replaces,
   * 'noexist' fails with EEXIST if present, 'exist' fails with ENOENT if absent.
   * Per-CPU maps take one value per possible CPU, or a single value for all.
   */
  set(key: InputOf<KC>, value: Stored<T, InputOf<VC>> | InputOf<VC>, mode: UpdateMode = 'any', opts: UpdateOptions = {}): this {
    const flags = updateFlags(mode, opts);
    mapUpdateElem(this.fd, this.encodeKey(key), this.encodeValue(value), flags, this.ctx('update of'));
    return this;
  }

  /** Alias of `set` with the kernel's name. */
  update(key: InputOf<KC>, value: Stored<T, InputOf<VC>> | InputOf<VC>, mode: UpdateMode = 'any', opts: UpdateOptions = {}): this {
    return this.set(key, value, mode, opts);
  }

  /** Deletes `key`; false if it was absent. */
  delete(key: InputOf<KC>): boolean {
    return mapDeleteElem(this.fd, this.encodeKey(key), this.ctx('delete from'));
  }

  /** Looks up and deletes `key` atomically (hash maps 5.14+, queue/stack pop). */
  lookupAndDelete(key?: InputOf<KC>): Stored<T, OutputOf<VC>> | undefined {
    const buf = new Uint8Array(this.valueBufferSize);
    const k = this.keySize === 0 ? null : this.encodeKey(key);
    if (!mapLookupAndDeleteElem(this.fd, k, buf, 0, this.ctx('lookup-and-delete in'))) return undefined;
    return this.decodeValue(buf);
  }

  /** Every key, in the kernel's order (BPF_MAP_GET_NEXT_KEY). */
  *keys(): Generator<OutputOf<KC>> {
    let prev: Uint8Array | null = null;
    for (;;) {
      const next = new Uint8Array(this.keySize);
      if (!mapGetNextKey(this.fd, prev, next, this.ctx('iterating'))) return;
      yield this.key.decode(next);
      prev = next;
    }
  }

  /** Every [key, value] pair; keys deleted while iterating are skipped. */
  *entries(): Generator<[OutputOf<KC>, Stored<T, OutputOf<VC>>]> {
    let prev: Uint8Array | null = null;
    for (;;) {
      const next = new Uint8Array(this.keySize);
      if (!mapGetNextKey(this.fd, prev, next, this.ctx('iterating'))) return;
      const buf = new Uint8Array(this.valueBufferSize);
      if (mapLookupElem(this.fd, next, buf, 0, this.ctx('lookup in'))) yield [this.key.decode(next), this.decodeValue(buf)];
      prev = next;
    }
  }

  [Symbol.iterator](): Generator<[OutputOf<KC>, Stored<T, OutputOf<VC>>]> {
    return this.entries();
  }

  // ------------------------------------------------------------ batch operations

  /**
   * Every entry through BPF_MAP_LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH with
   * `delete: true`), `batchSize` elements per syscall. Throws `BpfError`
   * (EINVAL/ENOTSUPP) for map types without batch support.
   */
  lookupBatch(opts: { batchSize?: number; delete?: boolean } = {}): [OutputOf<KC>, Stored<T, OutputOf<VC>>][] {
    const cmd = opts.delete ? Cmd.MAP_LOOKUP_AND_DELETE_BATCH : Cmd.MAP_LOOKUP_BATCH;
    let size = Math.max(1, opts.batchSize ?? Math.min(Math.max(this.maxEntries, 1), 256));
    const cursorSize = Math.max(this.keySize, 8);
    const out: [OutputOf<KC>, Stored<T, OutputOf<VC>>][] = [];
    let inBatch: Uint8Array | null = null;
    for (;;) {
      const keys = new Uint8Array(size * this.keySize);
      const values = new Uint8Array(size * this.valueBufferSize);
      const outBatch = new Uint8Array(cursorSize);
      let res;
      try {
        res = mapBatch(cmd, { fd: this.fd, keys, values, count: size, inBatch, outBatch }, this.ctx('batch lookup in'));
      } catch (e) {
        // A hash bucket holds more elements than one batch: retry it with room for them.
        if (e instanceof BpfError && e.errno === 'ENOSPC' && size < 1 << 20) {
          size *= 2;
          continue;
        }
        throw e;
      }
      for (let i = 0; i < res.count; i++) {
        out.push([this.key.decode(keys.subarray(i * this.keySize, (i + 1) * this.keySize)), this.decodeValue(values, i * this.valueBufferSize)]);
      }
      if (res.done) return out;
      inBatch = outBatch;
    }
  }

  /**
   * Writes many entries in one BPF_MAP_UPDATE_BATCH (create or replace: the
   * kernel accepts no NOEXIST/EXIST for batches, only `lock`); returns how many
   * were written.
   */
  updateBatch(entries: Iterable<readonly [InputOf<KC>, Stored<T, InputOf<VC>> | InputOf<VC>]>, opts: UpdateOptions = {}): number {
    const list = [...entries];
    if (list.length === 0) return 0;
    const keys = new Uint8Array(list.length * this.keySize);
    const values = new Uint8Array(list.length * this.valueBufferSize);
    list.forEach(([k, v], i) => {
      keys.set(this.encodeKey(k) ?? new Uint8Array(0), i * this.keySize);
      this.encodeValue(v, values.subarray(i * this.valueBufferSize, (i + 1) * this.valueBufferSize));
    });
    const elemFlags = opts.lock ? UpdateFlag.LOCK : 0;
    return mapBatch(Cmd.MAP_UPDATE_BATCH, { fd: this.fd, keys, values, count: list.length, elemFlags }, this.ctx('batch update of')).count;
  }

  /** Deletes many keys in one BPF_MAP_DELETE_BATCH; returns how many were deleted (ENOENT on a missing key throws). */
  deleteBatch(keys: Iterable<InputOf<KC>>): number {
    const list = [...keys];
    if (list.length === 0) return 0;
    const buf = new Uint8Array(list.length * this.keySize);
    list.forEach((k, i) => buf.set(this.encodeKey(k) ?? new Uint8Array(0), i * this.keySize));
    return mapBatch(Cmd.MAP_DELETE_BATCH, { fd: this.fd, keys: buf, count: list.length }, this.ctx('batch delete from')).count;
  }

  /** Forbids further writes from user space (BPF_MAP_FREEZE); programs may still write unless RDONLY_PROG. */
  freeze(): void {
    mapFreeze(this.fd, this.ctx('freezing'));
  }

  // ------------------------------------------------------------ pinning

  /** Pins the map at a bpffs path (BPF_OBJ_PIN). */
  pin(path: string): this {
    objPin(this.fd, path);
    this.#pinnedAt = path;
    return this;
  }

  /** Removes the pin at `path` (default: where this map was pinned or opened from). The map stays open. */
  unpin(path = this.#pinnedAt): void {
    if (!path) throw new LoaderError('LOADER_NOT_PINNED', `${this.describe()} is not pinned`);
    rmSync(path, { force: true });
    if (path === this.#pinnedAt) this.#pinnedAt = undefined;
  }

  /**
   * Differences between this map's kernel shape and a spec (type, key/value
   * size, max entries, flags) — empty when an existing (pinned) map can be
   * reused for the spec.
   */
  mismatches(spec: MapDefinition): string[] {
    const info = this.info();
    const type = typeof spec.type === 'number' ? mapTypeName(spec.type) : spec.type;
    const want = {
      type,
      keySize: sizeOf(spec.key, `map "${spec.name ?? ''}" key`),
      valueSize: sizeOf(spec.value, `map "${spec.name ?? ''}" value`),
      maxEntries: spec.maxEntries,
      flags: spec.flags ?? defaultFlags(type),
    };
    const out: string[] = [];
    if (mapTypeName(info.type) !== want.type) out.push(`type ${mapTypeName(info.type)} ≠ ${want.type}`);
    if (want.keySize !== undefined && info.keySize !== want.keySize) out.push(`key size ${info.keySize} ≠ ${want.keySize}`);
    if (want.valueSize !== undefined && info.valueSize !== want.valueSize) out.push(`value size ${info.valueSize} ≠ ${want.valueSize}`);
    if (info.maxEntries !== want.maxEntries) out.push(`max entries ${info.maxEntries} ≠ ${want.maxEntries}`);
    // The kernel may report extra internal flags (e.g. RDONLY after opening read-only); compare the ones asked for.
    const mask = ~(MapFlag.RDONLY | MapFlag.WRONLY);
    if ((info.flags & mask) !== (want.flags & mask)) out.push(`flags 0x${info.flags.toString(16)} ≠ 0x${want.flags.toString(16)}`);
    return out;
  }

  // ------------------------------------------------------------ lifetime

  /** Closes the fd (idempotent). Pins and references held by programs keep the map alive. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `BpfMap(${this.describe()}, fd ${this.#fd.closed ? 'closed' : this.#fd.value})`;
  }
}

/** Whether a key/value type of a spec is a codec (a dsl/types schema), not a size or BTF reference. */
function isCodec(t: TypeSpec | undefined): t is TypeSpec & AnyCodec {
  return typeof t === 'object' && t !== null && !isBtfTypeRef(t);
}

/** Byte size a key/value type gives (undefined when the spec leaves it to the type's default). */
function sizeOf(t: TypeSpec | undefined, what: string, options: MapCreateOptions = {}): number | undefined {
  if (t === undefined) return undefined;
  if (typeof t === 'number') return t;
  if (isBtfTypeRef(t)) {
    if (!options.objectBtf) throw new LoaderError('LOADER_SPEC', `${what} refers to BTF type ${t.btfType}; pass the object's BTF as objectBtf`);
    return options.objectBtf.sizeOf(t.btfType);
  }
  return t.size;
}

/** Key/value sizes and codecs of a spec for a map of type `type` (defaults for keyless, fd and ring maps). */
function mapShape(spec: MapDefinition, type: MapTypeName, options: MapCreateOptions, what: string): { keySize: number; valueSize: number; key?: AnyCodec; value?: AnyCodec } {
  const keySize = sizeOf(spec.key, `${what} key`, options) ?? options.key?.size ?? (type === 'RINGBUF' || type === 'QUEUE' || type === 'STACK' || type === 'BLOOM_FILTER' ? 0 : undefined);
  // Socket maps get 8-byte values: lookups then return the socket cookie (4-byte ones cannot be read back).
  const fdValueSize = type === 'SOCKMAP' || type === 'SOCKHASH' ? 8 : 4;
  const valueSize = sizeOf(spec.value, `${what} value`, options) ?? options.value?.size ?? (isFdMap(type) ? fdValueSize : type === 'RINGBUF' ? 0 : undefined);
  if (keySize === undefined) throw new LoaderError('LOADER_SPEC', `${what}: give a key schema or key size`);
  if (valueSize === undefined) throw new LoaderError('LOADER_SPEC', `${what}: give a value schema or value size`);
  const key = options.key ?? (isCodec(spec.key) ? spec.key : undefined);
  const value = options.value ?? (isCodec(spec.value) ? spec.value : undefined);
  if (key && key.size !== keySize) throw new LoaderError('LOADER_SIZE', `${what}: key size ${keySize} disagrees with the key codec's size ${key.size}`);
  if (value && value.size !== valueSize) throw new LoaderError('LOADER_SIZE', `${what}: value size ${valueSize} disagrees with the value codec's size ${value.size}`);
  return { keySize, valueSize, ...(key ? { key } : {}), ...(value ? { value } : {}) };
}

/**
 * Generic inference skips excess-property checks, so fields of the former loader
 * spec (and load-time things that belong in the options) are refused here rather
 * than silently ignored.
 */
function refuseLoadTimeFields(spec: MapDefinition, what: string): void {
  const moved: Record<string, string> = { keySize: 'give key: <bytes>', valueSize: 'give value: <bytes>', btf: 'pass it as options.btf' };
  for (const [field, hint] of Object.entries(moved))
    if (field in spec) throw new LoaderError('LOADER_SPEC', `${what}: '${field}' is not a map spec field; ${hint}`);
  if (spec.innerMap && 'fd' in spec.innerMap) throw new LoaderError('LOADER_SPEC', `${what}: an open map as inner template goes in options.innerMap`);
}
