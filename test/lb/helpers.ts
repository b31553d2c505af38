/**
 * Shared pieces of the service-manager tests: real maps created from the
 * declarations in programs/lb/maps.ts (optionally smaller), dumps of their
 * contents (raw bytes for before/after comparisons, decoded for exact entry
 * checks), a table wrapper that counts or fails writes, and one that steps
 * through every single write (a reader looking in between).
 */
import { expect } from 'vitest';
import { BpfMap } from '../../loader/index.js';
import { ServiceError } from '../../programs/lb/errors.js';
import { entries4, entries6, type FamilyEntries } from '../../programs/lb/entries.js';
import { SERVICE_MAP_DECLARATIONS, type ServiceMaps } from '../../programs/lb/manager.js';
import { kernelTable, memoryTable, type ServiceTable, type TableLike } from '../../programs/lb/tables.js';

/** Field names of `ServiceMaps`. */
export const MAP_FIELDS = Object.keys(SERVICE_MAP_DECLARATIONS) as (keyof ServiceMaps)[];

/** The six service maps, created in the kernel (unpinned); `maxEntries` shrinks them all, or the ones named. */
export function createMaps(maxEntries?: number | Partial<Record<keyof ServiceMaps, number>>): Record<keyof ServiceMaps, BpfMap<any, any>> & Disposable { // eslint-disable-line @typescript-eslint/no-explicit-any
  const out: Record<string, BpfMap<any, any>> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    for (const f of MAP_FIELDS) {
      const decl = SERVICE_MAP_DECLARATIONS[f];
      const n = typeof maxEntries === 'number' ? maxEntries : maxEntries?.[f];
      out[f] = BpfMap.create(n === undefined ? decl : { ...decl, maxEntries: n });
    }
  } catch (e) {
    for (const m of Object.values(out)) m.close();
    throw e;
  }
  return Object.assign(out as Record<keyof ServiceMaps, BpfMap<any, any>>, { // eslint-disable-line @typescript-eslint/no-explicit-any
    [Symbol.dispose]() {
      for (const m of Object.values(out)) m.close();
    },
  });
}

/** In-memory stand-ins for the six maps. */
export function memoryMaps(maxEntries = 65536): Record<keyof ServiceMaps, ServiceTable & { readonly size: number }> {
  const out: Record<string, ServiceTable & { readonly size: number }> = {};
  for (const f of MAP_FIELDS) {
    const d = SERVICE_MAP_DECLARATIONS[f];
    out[f] = memoryTable(d.name, d.key.size, d.value.size, maxEntries);
  }
  return out as Record<keyof ServiceMaps, ServiceTable & { readonly size: number }>;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Every entry of every map as sorted `key=value` hex lines: equal dumps mean byte-identical maps. */
export function rawDump(maps: Partial<Record<keyof ServiceMaps, TableLike>>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of MAP_FIELDS) {
    const m = maps[f];
    if (!m) continue;
    const t = m instanceof BpfMap ? kernelTable(m) : m;
    out[f] = [...t.entries()].map(([k, v]) => `${hex(k)}=${hex(v)}`).sort();
  }
  return out;
}

/** One family's maps decoded into readable, sorted entries. */
export function decodedDump(maps: Partial<Record<keyof ServiceMaps, TableLike>>, family: 'ipv4' | 'ipv6') {
  const enc: FamilyEntries = family === 'ipv4' ? entries4 : entries6;
  const [s, b, r] = family === 'ipv4' ? (['services4', 'backends4', 'revNat4'] as const) : (['services6', 'backends6', 'revNat6'] as const);
  const table = (m: TableLike | undefined) => (m instanceof BpfMap ? kernelTable(m) : m!);
  const services = [...table(maps[s]).entries()]
    .map(([k, v]) => ({ ...enc.decodeServiceKey(k), ...enc.decodeServiceValue(v) }))
    .sort((x, y) => (x.address === y.address ? (x.port === y.port ? (x.proto === y.proto ? x.backendSlot - y.backendSlot : x.proto - y.proto) : x.port - y.port) : x.address < y.address ? -1 : 1));
  const backends = [...table(maps[b]).entries()].map(([k, v]) => ({ id: enc.decodeBackendKey(k), ...enc.decodeBackendValue(v) })).sort((x, y) => x.id - y.id);
  const revNat = [...table(maps[r]).entries()].map(([k, v]) => ({ index: enc.decodeRevNatKey(k), ...enc.decodeRevNatValue(v) })).sort((x, y) => x.index - y.index);
  return { services, backends, revNat };
}

/** Write counters and fault injection around a table. */
export interface Instrumented extends ServiceTable {
  /** Updates and deletes that reached the inner table. */
  writes: number;
}

/** A shared budget of writes after which the next one fails (undefined: never). */
export interface FailureBudget {
  remaining: number | undefined;
}

/** Wraps a table: counts updates/deletes; fails the write that finds `budget.remaining` at 0. */
export function instrument(inner: TableLike, budget: FailureBudget = { remaining: undefined }): Instrumented {
  const t = inner instanceof BpfMap ? kernelTable(inner) : inner;
  const tick = () => {
    if (budget.remaining !== undefined && budget.remaining-- === 0) throw new Error(`injected failure writing ${t.name}`);
  };
  const self: Instrumented = {
    name: t.name,
    keySize: t.keySize,
    valueSize: t.valueSize,
    maxEntries: t.maxEntries,
    writes: 0,
    update(key, value) {
      tick();
      t.update(key, value);
      self.writes++;
    },
    delete(key) {
      tick();
      const r = t.delete(key);
      self.writes++;
      return r;
    },
    entries: () => t.entries(),
  };
  // Batches pass through; a failure inside one writes the elements before it, like a kernel batch that stops midway.
  const part = (buf: Uint8Array, size: number, i: number) => buf.slice(i * size, (i + 1) * size);
  if (t.updateMany)
    self.updateMany = (keys, values) => {
      const n = keys.length / t.keySize;
      if (budget.remaining !== undefined && budget.remaining < n) {
        for (let i = 0; i < n; i++) self.update(part(keys, t.keySize, i), part(values, t.valueSize, i));
        return;
      }
      if (budget.remaining !== undefined) budget.remaining -= n;
      t.updateMany!(keys, values);
      self.writes += n;
    };
  if (t.deleteMany)
    self.deleteMany = (keys) => {
      const n = keys.length / t.keySize;
      if (budget.remaining !== undefined && budget.remaining < n) {
        for (let i = 0; i < n; i++) self.delete(part(keys, t.keySize, i));
        return;
      }
      if (budget.remaining !== undefined) budget.remaining -= n;
      t.deleteMany!(keys);
      self.writes += n;
    };
  return self;
}

/** Instruments every map of a set with one shared failure budget. */
export function instrumentAll(maps: Record<keyof ServiceMaps, TableLike>): { tables: Record<keyof ServiceMaps, Instrumented>; budget: FailureBudget; total(): number } {
  const budget: FailureBudget = { remaining: undefined };
  const tables: Record<string, Instrumented> = {};
  for (const f of MAP_FIELDS) tables[f] = instrument(maps[f], budget);
  const list = Object.values(tables);
  return { tables: tables as Record<keyof ServiceMaps, Instrumented>, budget, total: () => list.reduce((a, t) => a + t.writes, 0) };
}

/**
 * The tables with every single write going through `step` (which may look at
 * the maps after it, or throw to inject a failure), batches included: a batch is
 * applied one element at a time, as a concurrent reader can see any prefix of a
 * kernel batch. `onBatch` is told each batch's element count.
 */
export function steppedTables(
  maps: Record<keyof ServiceMaps, ServiceTable>,
  step: (write: () => void) => void,
  onBatch: (n: number) => void = () => {},
): Record<keyof ServiceMaps, ServiceTable> {
  const stepped = (t: ServiceTable): ServiceTable => ({
    name: t.name,
    keySize: t.keySize,
    valueSize: t.valueSize,
    maxEntries: t.maxEntries,
    update: (key, value) => step(() => t.update(key, value)),
    delete: (key) => {
      let r = false;
      step(() => (r = t.delete(key)));
      return r;
    },
    entries: () => t.entries(),
    updateMany(keys, values) {
      const n = keys.length / t.keySize;
      onBatch(n);
      for (let i = 0; i < n; i++) step(() => t.update(keys.slice(i * t.keySize, (i + 1) * t.keySize), values.slice(i * t.valueSize, (i + 1) * t.valueSize)));
    },
    deleteMany(keys) {
      const n = keys.length / t.keySize;
      onBatch(n);
      for (let i = 0; i < n; i++) step(() => t.delete(keys.slice(i * t.keySize, (i + 1) * t.keySize)));
    },
  });
  return Object.fromEntries(Object.entries(maps).map(([k, t]) => [k, stepped(t)])) as Record<keyof ServiceMaps, ServiceTable>;
}

/** Runs `f`, which must throw a {@link ServiceError} with `code` (and `path`, when given); returns the error. */
export function throwsCode(f: () => unknown, code: string, path?: string): ServiceError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ServiceError);
    expect((e as ServiceError).code).toBe(code);
    if (path !== undefined) expect((e as ServiceError).path).toBe(path);
    return e as ServiceError;
  }
  throw new Error(`expected ${code}`);
}
