/**
 * The service manager: the one writer of the service tables. It keeps what it
 * wrote in memory (rebuilt from the maps when it starts, so a restart loses
 * nothing), validates a whole request before the first write, plans each
 * service change as ordered map writes (see plan.ts for the order that keeps
 * racing connects consistent), and undoes a request's writes if the kernel
 * refuses one midway. A change costs writes for that service only: nothing
 * scans or rewrites the other services.
 */
import { join } from 'node:path';
import { parseIpv6 } from '../../dsl/types/index.js';
import { BpfError, BpfMap } from '../../loader/index.js';
import { entries4, entries6, type FamilyEntries } from './entries.js';
import { ServiceError } from './errors.js';
import { IdAllocator } from './ids.js';
import { backends4, backends6, revNat4, revNat6, services4, services6 } from './maps.js';
import { planDelete, planUpsert, type IdSource, type MapOp, type ServicePlan } from './plan.js';
import { restoreFamily, type FamilyTables } from './restore.js';
import {
  DEFAULT_MAX_BACKENDS_PER_SERVICE, MAX_BACKEND_SLOTS, normalizeFrontend, normalizeService, parseFrontend,
  type AddressFamily, type FrontendSpec, type NormalizedService, type Service, type ServiceSpec,
} from './spec.js';
import { entriesOf, toService, type ServiceState } from './state.js';
import { asTable, type ServiceTable, type TableLike } from './tables.js';
import { WriteSchedule, type TableName, type TableSizes, type WriteGroup } from './writes.js';

/** The maps a manager writes; a family is either given completely (its three maps) or not at all. */
export interface ServiceMaps {
  readonly services4?: TableLike;
  readonly backends4?: TableLike;
  readonly revNat4?: TableLike;
  readonly services6?: TableLike;
  readonly backends6?: TableLike;
  readonly revNat6?: TableLike;
}

/** Options of a manager. */
export interface ServiceManagerOptions {
  /** Most backends (draining included) one service may have; default 4096, at most 65535. */
  readonly maxBackendsPerService?: number;
}

/** What opening a manager found in (and cleaned from) the maps. */
export interface RestoreReport {
  readonly services: number;
  readonly backends: number;
  /** Leftovers of an interrupted change that were deleted (slots, backends and reverse-NAT entries). */
  readonly orphansRemoved: number;
}

/** The outcome of a request: frontends (canonical text) by what happened to them. */
export interface ChangeReport {
  readonly added: string[];
  readonly updated: string[];
  readonly removed: string[];
  /** Services asked for that already were exactly so (no write). */
  readonly unchanged: number;
  /** Map writes (updates and deletes) issued. */
  readonly writes: number;
}

/** A batch of changes, applied all-or-nothing. */
export interface ChangeRequest {
  /** Services to create or replace. */
  readonly upsert?: readonly ServiceSpec[];
  /** Frontends to delete (absent ones are ignored). */
  readonly delete?: readonly (FrontendSpec | string)[];
  /** Also delete every service not in `upsert` (what `sync` does). */
  readonly prune?: boolean;
}

/** Result of `upsertService`. */
export interface UpsertResult {
  readonly service: Service;
  readonly change: 'added' | 'updated' | 'unchanged';
  readonly writes: number;
}

/** Fill level of one map. */
export interface MapUsage {
  readonly name: string;
  readonly entries: number;
  readonly maxEntries: number;
}

interface Family {
  readonly enc: FamilyEntries;
  readonly tables: FamilyTables;
  readonly backendIds: IdAllocator;
  readonly revNatIndexes: IdAllocator;
  /** Entries the manager holds per table. */
  readonly used: Record<TableName, number>;
}

const FAMILY_MAPS = {
  ipv4: { services: 'services4', backends: 'backends4', revNat: 'revNat4', enc: entries4 },
  ipv6: { services: 'services6', backends: 'backends6', revNat: 'revNat6', enc: entries6 },
} as const;

/** The map declarations (maps.ts) behind each `ServiceMaps` field: names for pins and specs for creating them. */
export const SERVICE_MAP_DECLARATIONS = { services4, backends4, revNat4, services6, backends6, revNat6 } as const;

function checkShape(t: ServiceTable, keySize: number, valueSize: number, field: string): void {
  if (t.keySize !== keySize || t.valueSize !== valueSize)
    throw new ServiceError('LB_MAPS', `${field} (map "${t.name}") has ${t.keySize}-byte keys and ${t.valueSize}-byte values; the service tables need ${keySize} and ${valueSize}`);
}

/** The service manager; see the module comment. */
export class ServiceManager implements Disposable {
  readonly #families = new Map<AddressFamily, Family>();
  readonly #services = new Map<string, ServiceState>();
  readonly #owned: BpfMap<any, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  #broken: ServiceError | undefined;
  #closed = false;
  /** Most backends one service may have. */
  readonly maxBackendsPerService: number;
  /** What was found in the maps when the manager was opened. */
  readonly restored: RestoreReport;

  private constructor(maps: ServiceMaps, options: ServiceManagerOptions, owned: BpfMap<any, any>[]) { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.#owned = owned;
    const limit = options.maxBackendsPerService ?? DEFAULT_MAX_BACKENDS_PER_SERVICE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BACKEND_SLOTS)
      throw new ServiceError('LB_INVALID_SPEC', `maxBackendsPerService must be an integer in 1..${MAX_BACKEND_SLOTS}, got ${limit}`);
    this.maxBackendsPerService = limit;
    let backends = 0;
    let orphans = 0;
    const leftovers: { family: AddressFamily; op: MapOp }[] = [];
    for (const family of ['ipv4', 'ipv6'] as const) {
      const names = FAMILY_MAPS[family];
      const given = [maps[names.services], maps[names.backends], maps[names.revNat]];
      if (given.every((m) => m === undefined)) continue;
      if (given.some((m) => m === undefined))
        throw new ServiceError('LB_MAPS', `the ${family} maps come together: give ${names.services}, ${names.backends} and ${names.revNat}`);
      const enc = names.enc;
      const tables: FamilyTables = { services: asTable(given[0]!), backends: asTable(given[1]!), revNat: asTable(given[2]!) };
      checkShape(tables.services, enc.sizes.serviceKey, enc.sizes.serviceValue, names.services);
      checkShape(tables.backends, 4, enc.sizes.backendValue, names.backends);
      checkShape(tables.revNat, 2, enc.sizes.revNatValue, names.revNat);
      const found = restoreFamily(tables, enc);
      const backendIds: number[] = [];
      const revNats: number[] = [];
      const used = { services: 0, backends: 0, revNat: 0 };
      for (const s of found.services) {
        this.#services.set(s.id, s);
        backendIds.push(...s.backends.keys());
        revNats.push(s.revNatIndex);
        const e = entriesOf(s);
        used.services += e.services;
        used.backends += e.backends;
        used.revNat += e.revNat;
      }
      const maxId = backendIds.reduce((a, b) => Math.max(a, b), tables.backends.maxEntries);
      const maxRevNat = Math.min(65535, revNats.reduce((a, b) => Math.max(a, b), tables.revNat.maxEntries));
      this.#families.set(family, { enc, tables, backendIds: new IdAllocator(maxId, backendIds), revNatIndexes: new IdAllocator(maxRevNat, revNats), used });
      leftovers.push(...found.orphans.map((op) => ({ family, op })));
      backends += backendIds.length;
    }
    if (this.#families.size === 0) throw new ServiceError('LB_MAPS', 'no service maps given: pass the IPv4 maps, the IPv6 maps or both');
    // Only once both families restored cleanly: nothing is written when a restore is refused.
    for (const { family, op } of leftovers) this.#table(family, op.table).delete(op.key);
    orphans = leftovers.length;
    this.restored = { services: this.#services.size, backends, orphansRemoved: orphans };
  }

  /**
   * A manager over open maps (e.g. `mapsOf(loadObject(...))`), restoring its
   * state from what they hold. The maps stay the caller's to close.
   */
  static fromMaps(maps: ServiceMaps, options: ServiceManagerOptions = {}): ServiceManager {
    return new ServiceManager(maps, options, []);
  }

  /**
   * A manager over the maps pinned by name in `dir` (`lb4_services`, …, as
   * `loadObject(..., { pinRoot: dir })` pins them). A family whose three pins
   * are all absent is left out; `create: true` creates and pins missing maps
   * from their declarations instead. The manager owns the opened maps
   * (`close()` closes them; the pins stay).
   */
  static fromPins(dir: string, options: ServiceManagerOptions & { readonly create?: boolean } = {}): ServiceManager {
    const opened: Partial<Record<keyof ServiceMaps, BpfMap<any, any>>> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
    const owned: BpfMap<any, any>[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      for (const [field, decl] of Object.entries(SERVICE_MAP_DECLARATIONS) as [keyof ServiceMaps, (typeof SERVICE_MAP_DECLARATIONS)[keyof ServiceMaps]][]) {
        const path = join(dir, decl.name);
        let map: BpfMap<any, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
        try {
          if (options.create) map = BpfMap.openOrCreate(decl, path).map;
          else {
            map = BpfMap.fromPin(path);
            const mismatches = map.mismatches(decl);
            if (mismatches.length > 0) throw new ServiceError('LB_MAPS', `map pinned at ${path} does not match "${decl.name}": ${mismatches.join(', ')}`);
          }
        } catch (e) {
          if (map) map.close();
          if (e instanceof BpfError && e.errno === 'ENOENT' && !options.create) continue;
          if (e instanceof ServiceError) throw e;
          throw new ServiceError('LB_MAPS', `cannot open the service map at ${path}: ${(e as Error).message}`, { cause: e });
        }
        owned.push(map);
        opened[field] = map;
      }
      if (owned.length === 0) throw new ServiceError('LB_MAPS', `no service maps pinned in ${dir} (expected ${Object.values(SERVICE_MAP_DECLARATIONS).map((d) => d.name).join(', ')}): load the socket load balancer with this pin directory first`);
      return new ServiceManager(opened, options, owned);
    } catch (e) {
      for (const m of owned) m.close();
      throw e;
    }
  }

  // ------------------------------------------------------------ reading

  /** Number of services. */
  get size(): number {
    return this.#services.size;
  }

  /** The service at `frontend` (a spec or `IP:PORT/PROTO` text), or undefined. */
  get(frontend: FrontendSpec | string): Service | undefined {
    const s = this.#services.get(this.#frontendId(frontend, 'frontend'));
    return s && toService(s);
  }

  /** Every service, ordered by family, address, port and protocol. */
  list(): Service[] {
    return [...this.#services.values()].sort(compareServices).map(toService);
  }

  /** How full each map is (entries the manager holds). */
  usage(): MapUsage[] {
    const out: MapUsage[] = [];
    for (const f of this.#families.values())
      for (const t of ['services', 'backends', 'revNat'] as const) out.push({ name: f.tables[t].name, entries: f.used[t], maxEntries: f.tables[t].maxEntries });
    return out;
  }

  /** The address families this manager has maps for. */
  get families(): AddressFamily[] {
    return [...this.#families.keys()];
  }

  // ------------------------------------------------------------ writing

  /** Creates or replaces one service. */
  upsertService(spec: ServiceSpec): UpsertResult {
    const report = this.apply({ upsert: [spec] });
    const id = report.added[0] ?? report.updated[0];
    const service = toService(this.#services.get(id ?? normalizeService(spec, '', this.maxBackendsPerService).id)!);
    return { service, change: report.added.length ? 'added' : report.updated.length ? 'updated' : 'unchanged', writes: report.writes };
  }

  /** Deletes the service at `frontend`; false if there was none. */
  deleteService(frontend: FrontendSpec | string): boolean {
    return this.apply({ delete: [frontend] }).removed.length === 1;
  }

  /**
   * Makes the maps hold exactly `desired`: creates what is missing, rewrites
   * only what differs, deletes what is not desired; untouched services cost
   * no write. All-or-nothing like `apply`.
   */
  sync(desired: readonly ServiceSpec[]): ChangeReport {
    return this.apply({ upsert: desired, prune: true });
  }

  /**
   * Applies a batch all-or-nothing: everything is validated and planned
   * before the first write (a bad spec, a duplicate frontend or a full map
   * changes nothing), and a kernel write failing midway rolls back the writes
   * made so far.
   */
  apply(request: ChangeRequest): ChangeReport {
    this.#checkUsable();
    if (typeof request !== 'object' || request === null) throw new ServiceError('LB_INVALID_SPEC', 'a change request must be an object');
    const upserts = request.upsert ?? [];
    const deletes = request.delete ?? [];
    if (!Array.isArray(upserts)) throw new ServiceError('LB_INVALID_SPEC', 'upsert must be an array of service specs', { path: 'upsert' });
    if (!Array.isArray(deletes)) throw new ServiceError('LB_INVALID_SPEC', 'delete must be an array of frontends', { path: 'delete' });

    // Validate everything first.
    const seen = new Map<string, string>();
    const claim = (id: string, path: string) => {
      const first = seen.get(id);
      if (first !== undefined) throw new ServiceError('LB_DUPLICATE_FRONTEND', `frontend ${id} appears twice in one request (${first} and ${path})`, { path });
      seen.set(id, path);
    };
    const wanted: NormalizedService[] = upserts.map((spec, i) => {
      const path = `upsert[${i}]`;
      const n = normalizeService(spec, path, this.maxBackendsPerService);
      claim(n.id, path);
      if (!this.#families.has(n.family)) this.#family(n.family, `${path}.frontend`);
      return n;
    });
    const removals: ServiceState[] = [];
    deletes.forEach((f, i) => {
      const path = `delete[${i}]`;
      const id = this.#frontendId(f, path);
      claim(id, path);
      const s = this.#services.get(id);
      if (s) removals.push(s);
    });
    if (request.prune) for (const s of this.#services.values()) if (!seen.has(s.id)) removals.push(s);

    // Plan: deletes first (they free entries), then updates, then additions.
    const marks = [...this.#families.values()].map((f) => [f, f.backendIds.mark(), f.revNatIndexes.mark()] as const);
    const undoAllocations = () => {
      for (const [f, b, r] of marks) {
        f.backendIds.reset(b);
        f.revNatIndexes.reset(r);
      }
    };
    const plans: ServicePlan[] = [];
    const sched = new WriteSchedule(this.#tableSizes());
    let groups: WriteGroup[];
    try {
      for (const s of removals) {
        sched.begin(s.id, s.family, true);
        plans.push(planDelete(s, this.#family(s.family).enc, sched));
      }
      const ordered = [...wanted.filter((w) => this.#services.has(w.id)), ...wanted.filter((w) => !this.#services.has(w.id))];
      const idSources = new Map<Family, IdSource>();
      for (const w of ordered) {
        const f = this.#family(w.family);
        let source = idSources.get(f);
        if (!source) idSources.set(f, (source = this.#idSource(f)));
        sched.begin(w.id, w.family, false);
        plans.push(planUpsert(this.#services.get(w.id), w, f.enc, source, sched));
      }
      groups = sched.groups();
      this.#checkCapacity(groups);
    } catch (e) {
      undoAllocations();
      throw e;
    }

    const writes = this.#execute(groups, undoAllocations);

    // Commit the new state; ids are returned only now, so none is reused within the request.
    const report = { added: [] as string[], updated: [] as string[], removed: [] as string[], unchanged: 0, writes };
    for (const p of plans) {
      if (p.kind === 'unchanged') {
        report.unchanged++;
        continue;
      }
      const f = this.#family(p.family);
      const before = this.#services.get(p.id);
      if (before) {
        const e = entriesOf(before);
        f.used.services -= e.services;
        f.used.backends -= e.backends;
        f.used.revNat -= e.revNat;
      }
      if (p.next) {
        this.#services.set(p.id, p.next);
        const e = entriesOf(p.next);
        f.used.services += e.services;
        f.used.backends += e.backends;
        f.used.revNat += e.revNat;
      } else this.#services.delete(p.id);
      for (const id of p.releasedBackendIds) f.backendIds.release(id);
      if (p.releasedRevNat !== undefined) f.revNatIndexes.release(p.releasedRevNat);
      report[p.kind].push(p.id);
    }
    return report;
  }

  /** Closes the maps this manager opened itself (`fromPins`); pins and map contents stay. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const m of this.#owned) m.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // ------------------------------------------------------------ internals

  #checkUsable(): void {
    if (this.#closed) throw new ServiceError('LB_CLOSED', 'the service manager was closed');
    if (this.#broken) throw this.#broken;
  }

  #family(family: AddressFamily, path = ''): Family {
    const f = this.#families.get(family);
    if (!f) throw new ServiceError('LB_FAMILY_UNAVAILABLE', `no ${family === 'ipv4' ? 'IPv4' : 'IPv6'} service maps were given to this manager`, { path });
    return f;
  }

  #table(family: AddressFamily, table: TableName): ServiceTable {
    return this.#family(family).tables[table];
  }

  #frontendId(frontend: FrontendSpec | string, path: string): string {
    if (typeof frontend === 'string') {
      const f = parseFrontend(frontend, path);
      return normalizeFrontend(f, path).id;
    }
    return normalizeFrontend(frontend, path).id;
  }

  #idSource(f: Family): IdSource {
    const full = (what: string, table: ServiceTable, a: IdAllocator) =>
      new ServiceError('LB_MAP_FULL', `map "${table.name}" is full: no free ${what} left (all ${a.max} in use)`);
    return {
      backendId: () => f.backendIds.allocate() ?? (() => { throw full('backend ids', f.tables.backends, f.backendIds); })(),
      revNatIndex: () => f.revNatIndexes.allocate() ?? (() => { throw full('reverse-NAT indexes', f.tables.revNat, f.revNatIndexes); })(),
    };
  }

  /** Key and value sizes of the families' tables, for the write schedule. */
  #tableSizes(): Partial<Record<AddressFamily, TableSizes>> {
    const out: Partial<Record<AddressFamily, TableSizes>> = {};
    for (const [family, f] of this.#families) {
      const size = (t: ServiceTable) => ({ key: t.keySize, value: t.valueSize });
      out[family] = { services: size(f.tables.services), backends: size(f.tables.backends), revNat: size(f.tables.revNat) };
    }
    return out;
  }

  /** Refuses writes that would at some point exceed a map's capacity (in the order they run). */
  #checkCapacity(groups: readonly WriteGroup[]): void {
    const running = new Map<Family, Record<TableName, number>>();
    for (const g of groups) {
      const f = this.#family(g.family);
      let r = running.get(f);
      if (!r) running.set(f, (r = { ...f.used }));
      r[g.table] += g.remove ? -g.count : g.created;
      const t = f.tables[g.table];
      if (r[g.table] > t.maxEntries) {
        const who = g.services;
        throw new ServiceError(
          'LB_MAP_FULL',
          `map "${t.name}" is full: ${who.slice(0, 3).join(', ')}${who.length > 3 ? ` and ${who.length - 3} more` : ''} would need ${r[g.table]} entries, it holds ${t.maxEntries} (${f.used[g.table]} in use)`,
        );
      }
    }
  }

  /** Runs the writes group by group, in schedule order (batched where the map can); on a failure undoes them in reverse and throws. */
  #execute(groups: readonly WriteGroup[], undoAllocations: () => void): number {
    /** Groups whose writes may have reached the kernel, with how many of their entries (in order). */
    const touched: { group: WriteGroup; count: number }[] = [];
    let writes = 0;
    try {
      for (const g of groups) {
        const t = this.#table(g.family, g.table);
        const batch = g.count > 1 && (g.remove ? t.deleteMany : t.updateMany);
        if (batch) {
          // A batch that fails may have written any prefix: all of it is undone.
          touched.push({ group: g, count: g.count });
          const keys = g.keys.subarray(0, g.count * g.keySize);
          if (g.remove) t.deleteMany!(keys);
          else t.updateMany!(keys, g.values.subarray(0, g.count * g.valueSize));
          writes += g.count;
        } else {
          // One element either happened or not: it joins the undo list once it did.
          const done = { group: g, count: 0 };
          touched.push(done);
          for (let i = 0; i < g.count; i++) {
            if (g.remove) t.delete(g.key(i));
            else t.update(g.key(i), g.value(i));
            done.count++;
            writes++;
          }
        }
      }
      return writes;
    } catch (e) {
      // Undo everything that may have been written (a write that did not happen undoes to what is there anyway).
      const rollbackErrors: unknown[] = [];
      for (const { group, count } of touched.reverse()) {
        const t = this.#table(group.family, group.table);
        for (let i = count - 1; i >= 0; i--) {
          const prev = group.prev(i);
          try {
            if (prev === undefined) t.delete(group.key(i));
            else t.update(group.key(i), prev);
          } catch (u) {
            rollbackErrors.push(u);
          }
        }
      }
      undoAllocations();
      const why = (e as Error).message;
      if (rollbackErrors.length > 0) {
        this.#broken = new ServiceError(
          'LB_ROLLBACK_FAILED',
          `a map write failed (${why}) and ${rollbackErrors.length} undo writes failed too: the maps may be inconsistent; reopen the manager to restore from them`,
          { cause: e },
        );
        throw this.#broken;
      }
      const full = e instanceof BpfError && (e.errno === 'E2BIG' || e.errno === 'ENOSPC' || e.errno === 'ENOMEM');
      throw new ServiceError(full ? 'LB_MAP_FULL' : 'LB_WRITE_FAILED', `a map write failed after ${writes} writes, which were rolled back: ${why}`, { cause: e });
    }
  }
}

/** A string that sorts like the address's bytes. */
function addressOrder(s: ServiceState): string {
  if (s.family === 'ipv4') return s.address.split('.').map((x) => x.padStart(3, '0')).join('.');
  return Buffer.from(parseIpv6(s.address)!).toString('hex');
}

function compareServices(a: ServiceState, b: ServiceState): number {
  if (a.family !== b.family) return a.family < b.family ? -1 : 1;
  const aa = addressOrder(a);
  const ba = addressOrder(b);
  if (aa !== ba) return aa < ba ? -1 : 1;
  if (a.port !== b.port) return a.port - b.port;
  return a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;
}

/** The service maps of a loaded object (`loadObject(...)`) by their declared names; families it lacks are left out. */
export function mapsOf(object: { readonly maps: ReadonlyMap<string, BpfMap<any, any>> }): ServiceMaps { // eslint-disable-line @typescript-eslint/no-explicit-any
  const out: Record<string, BpfMap<any, any>> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const [field, decl] of Object.entries(SERVICE_MAP_DECLARATIONS)) {
    const m = object.maps.get(decl.name);
    if (m) out[field] = m;
  }
  return out as ServiceMaps;
}

