/**
 * The byte-level view of one service map the manager writes through: lookups,
 * updates and deletes of encoded keys and values, and a full read for restore.
 * The manager encodes with the shared schemas itself, so any open map works
 * whatever codecs its handle was opened with; tests wrap a table to count or
 * fail writes, and `memoryTable` stands in for a map where no kernel is needed.
 */
import { BpfError, BpfMap, sys } from '../../loader/index.js';

/** One map as raw keys and values. */
export interface ServiceTable {
  /** Map name, for messages. */
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Creates or replaces an entry. */
  update(key: Uint8Array, value: Uint8Array): void;
  /** Deletes an entry; false if it was absent. */
  delete(key: Uint8Array): boolean;
  /** Every entry (copies). */
  entries(): Iterable<readonly [Uint8Array, Uint8Array]>;
  /**
   * Creates or replaces many entries in one call, if the table can: `keys`
   * and `values` are the entries back to back (`keySize`/`valueSize` bytes
   * each), the layout the kernel's batch operations take. On a failure any
   * prefix of them may have been written.
   */
  updateMany?(keys: Uint8Array, values: Uint8Array): void;
  /** Deletes many (present) entries in one call, if the table can (`keys` back to back); on a failure any prefix may be gone. */
  deleteMany?(keys: Uint8Array): void;
}

/** Elements per batch syscall: bounds the buffers and the time one call holds the map. */
const BATCH = 4096;

/** Anything the manager accepts as a map: an open loader map or a table. */
export type TableLike = ServiceTable | BpfMap<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A table over an open kernel map (the handle's codecs are bypassed: bytes go straight to bpf()). */
export function kernelTable(map: BpfMap<any, any>): ServiceTable { // eslint-disable-line @typescript-eslint/no-explicit-any
  const ctx = (op: string) => ({ subject: `${op} map "${map.name}"` });
  // Batch operations came in 5.6; on older kernels the first refusal switches to one call per element.
  let batches = true;
  const many = (cmd: number, keys: Uint8Array, values: Uint8Array | undefined, what: string) => {
    const count = keys.length / map.keySize;
    for (let at = 0; at < count; at += BATCH) {
      const n = Math.min(BATCH, count - at);
      // Views, not copies: the kernel reads the entries straight from the caller's buffers.
      const k = keys.subarray(at * map.keySize, (at + n) * map.keySize);
      const v = values?.subarray(at * map.valueSize, (at + n) * map.valueSize);
      if (batches) {
        try {
          sys.mapBatch(cmd, { fd: map.fd, keys: k, ...(v ? { values: v } : {}), count: n }, ctx(what));
          continue;
        } catch (e) {
          if (!(e instanceof BpfError && ['EINVAL', 'ENOTSUPP', 'EOPNOTSUPP'].includes(e.errno) && at === 0)) throw e;
          batches = false;
        }
      }
      for (let i = 0; i < n; i++) {
        const key = k.subarray(i * map.keySize, (i + 1) * map.keySize);
        if (v) sys.mapUpdateElem(map.fd, key, v.subarray(i * map.valueSize, (i + 1) * map.valueSize), 0, ctx('update of'));
        else sys.mapDeleteElem(map.fd, key, ctx('delete from'));
      }
    }
  };
  return {
    name: map.name,
    keySize: map.keySize,
    valueSize: map.valueSize,
    maxEntries: map.maxEntries,
    update(key, value) {
      sys.mapUpdateElem(map.fd, key, value, 0, ctx('update of'));
    },
    delete(key) {
      return sys.mapDeleteElem(map.fd, key, ctx('delete from'));
    },
    entries() {
      return readAll(map);
    },
    updateMany(keys, values) {
      many(sys.Cmd.MAP_UPDATE_BATCH, keys, values, 'batch update of');
    },
    deleteMany(keys) {
      many(sys.Cmd.MAP_DELETE_BATCH, keys, undefined, 'batch delete from');
    },
  };
}

/** Every entry of a hash map: BPF_MAP_LOOKUP_BATCH (5.6+), else key-by-key iteration. */
function readAll(map: BpfMap<any, any>): [Uint8Array, Uint8Array][] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const ctx = { subject: `reading map "${map.name}"` };
  const out: [Uint8Array, Uint8Array][] = [];
  let size = 1024;
  let inBatch: Uint8Array | null = null;
  try {
    for (;;) {
      const keys = new Uint8Array(size * map.keySize);
      const values = new Uint8Array(size * map.valueSize);
      const outBatch = new Uint8Array(Math.max(map.keySize, 8));
      let res;
      try {
        res = sys.mapBatch(sys.Cmd.MAP_LOOKUP_BATCH, { fd: map.fd, keys, values, count: size, inBatch, outBatch }, ctx);
      } catch (e) {
        // One hash bucket holds more than a batch: retry it with more room.
        if (e instanceof BpfError && e.errno === 'ENOSPC' && size < 1 << 20) {
          size *= 2;
          continue;
        }
        throw e;
      }
      for (let i = 0; i < res.count; i++)
        out.push([keys.slice(i * map.keySize, (i + 1) * map.keySize), values.slice(i * map.valueSize, (i + 1) * map.valueSize)]);
      if (res.done) return out;
      inBatch = outBatch;
    }
  } catch (e) {
    if (!(e instanceof BpfError) || !['EINVAL', 'ENOTSUPP', 'EOPNOTSUPP'].includes(e.errno) || out.length > 0) throw e;
  }
  // Kernels before 5.6: no batch operations.
  let prev: Uint8Array | null = null;
  for (;;) {
    const next = new Uint8Array(map.keySize);
    if (!sys.mapGetNextKey(map.fd, prev, next, ctx)) return out;
    const value = new Uint8Array(map.valueSize);
    if (sys.mapLookupElem(map.fd, next, value, 0, ctx)) out.push([next, value]);
    prev = next;
  }
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * A table in process memory with a map's capacity rule (a new key beyond
 * `maxEntries` fails with E2BIG, like a full hash map): for dry runs and tests
 * of ordering without a kernel.
 */
export function memoryTable(name: string, keySize: number, valueSize: number, maxEntries: number): ServiceTable & { readonly size: number } {
  const data = new Map<string, [Uint8Array, Uint8Array]>();
  return {
    name,
    keySize,
    valueSize,
    maxEntries,
    get size() {
      return data.size;
    },
    update(key, value) {
      if (key.length !== keySize || value.length !== valueSize) throw new BpfError('BPF_MAP_UPDATE_ELEM', 22, { subject: `update of map "${name}"` });
      const k = hex(key);
      if (!data.has(k) && data.size >= maxEntries) throw new BpfError('BPF_MAP_UPDATE_ELEM', 7, { subject: `update of map "${name}"` });
      data.set(k, [key.slice(), value.slice()]);
    },
    delete(key) {
      return data.delete(hex(key));
    },
    entries() {
      return [...data.values()].map(([k, v]) => [k.slice(), v.slice()] as const);
    },
  };
}

/** The table behind a map handle or table. */
export function asTable(t: TableLike): ServiceTable {
  return t instanceof BpfMap ? kernelTable(t) : t;
}
