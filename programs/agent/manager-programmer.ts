/**
 * The adapter between the agent and the service manager (programs/lb): the
 * one file that knows both. Per service key it translates the Service and its
 * EndpointSlices with the manager's Kubernetes import (`translateService`:
 * frontends per port and family, terminating endpoints draining, kube-proxy's
 * serving+terminating fallback), remembers which frontends the key owns, and
 * sends the manager only what changed: new or different frontends as upserts,
 * frontends the key no longer has as deletes — one all-or-nothing request
 * per sync. The full sync after a start is the manager's `sync` (prune), so
 * services restored from pins that are gone from the cluster are removed.
 *
 * A request the manager refuses for its input (a bad address, too many
 * backends, full maps, two Services claiming one frontend) is split per
 * service so one bad Service cannot hold up the others; the refused ones keep
 * what they had and are reported. Kernel write failures are thrown (the sync
 * loop retries; the manager rolled the request back).
 */
import { ServiceError } from '../lb/errors.js';
import { translateService, type KubernetesEndpointSlice, type KubernetesImportOptions, type KubernetesService, type SkippedService } from '../lb/kubernetes.js';
import type { ServiceManager } from '../lb/manager.js';
import { formatFrontend, type ServiceSpec } from '../lb/spec.js';
import type { Logger } from './log.js';
import type { MapFill, ProgramResult, ProgrammerCounts, ServiceProgrammer } from './programmer.js';
import type { ServiceState } from './store.js';

/** Manager refusals about the input (nothing was written; retrying the same input cannot help). */
const INPUT_ERRORS = new Set([
  'LB_INVALID_SPEC', 'LB_INVALID_ADDRESS', 'LB_INVALID_PORT', 'LB_INVALID_PROTOCOL', 'LB_MIXED_FAMILY',
  'LB_DUPLICATE_FRONTEND', 'LB_DUPLICATE_BACKEND', 'LB_TOO_MANY_BACKENDS', 'LB_MAP_FULL', 'LB_FAMILY_UNAVAILABLE',
]);

interface Owned {
  readonly spec: ServiceSpec;
  /** The spec as JSON: unchanged frontends are not sent again. */
  readonly text: string;
}

/** A {@link ServiceProgrammer} over a {@link ServiceManager}; see the module comment. */
export class ManagerProgrammer implements ServiceProgrammer {
  /** Service key → its frontends (canonical text) → spec. */
  private readonly owned = new Map<string, Map<string, Owned>>();
  /** Frontend → the service key owning it. */
  private readonly owner = new Map<string, string>();
  /** What the translation left out of each service, as last logged (logged again only when it changes). */
  private readonly skipsLogged = new Map<string, string>();

  /** Translation options, limited to the families the manager has tables for. */
  private readonly translate: KubernetesImportOptions;

  constructor(
    readonly manager: ServiceManager,
    private readonly log: Logger,
    translate: KubernetesImportOptions = {},
  ) {
    this.translate = { ...translate, families: manager.families };
  }

  apply(changes: ReadonlyMap<string, ServiceState | undefined>, full: boolean): ProgramResult {
    const wanted = this.translateAll(changes);
    try {
      return this.commit(changes, wanted, full);
    } catch (e) {
      if (!(e instanceof ServiceError) || !INPUT_ERRORS.has(e.code) || changes.size === 1) {
        if (e instanceof ServiceError && INPUT_ERRORS.has(e.code)) {
          const [key] = changes.keys();
          this.log.warn('service refused by the datapath; keeping what it had', { service: key, code: e.code, error: e.message });
          return { upserted: 0, deleted: 0, rejected: 1 };
        }
        throw e;
      }
    }
    // One refused service must not hold up the rest: apply them one by one.
    let upserted = 0;
    let deleted = 0;
    let rejected = 0;
    if (full) {
      // Prune first what no key wants any more, then add service by service.
      const keep = new Set<string>();
      for (const m of wanted.values()) for (const id of m.keys()) keep.add(id);
      const stale = this.manager.list().map((s) => formatFrontend(s.frontend)).filter((id) => !keep.has(id) && !this.owner.has(id));
      if (stale.length) deleted += this.manager.apply({ delete: stale }).removed.length;
    }
    for (const key of changes.keys()) {
      const one = new Map([[key, changes.get(key)]]);
      const r = this.apply(one, false);
      upserted += r.upserted;
      deleted += r.deleted;
      rejected += r.rejected ?? 0;
    }
    return { upserted, deleted, rejected };
  }

  counts(): ProgrammerCounts {
    let backends = 0;
    for (const u of this.manager.usage()) if (u.name.includes('backends')) backends += u.entries;
    return { frontends: this.manager.size, backends };
  }

  fill(): readonly MapFill[] {
    return this.manager.usage().map((u) => ({ map: u.name, entries: u.entries, capacity: u.maxEntries }));
  }

  /**
   * Logs what the translation left out of a service (an unsupported protocol,
   * another family, internalTrafficPolicy Local without a node name…) when that
   * changes, so a Service that is not (fully) proxied says why without a line
   * per sync.
   */
  private logSkips(key: string, skipped: readonly SkippedService[]): void {
    const text = skipped.map((k) => `${k.service}: ${k.reason}`).join('; ');
    if (text === (this.skipsLogged.get(key) ?? '')) return;
    if (text) {
      this.skipsLogged.set(key, text);
      this.log.warn('service not fully proxied', { service: key, skipped: skipped.map((k) => ({ ...k })) });
    } else this.skipsLogged.delete(key);
  }

  /** Frontends each changed key wants, with frontends another key already owns left out (and logged). */
  private translateAll(changes: ReadonlyMap<string, ServiceState | undefined>): Map<string, Map<string, Owned>> {
    // Frontends the changed keys give up, and those they claim in this batch (no copy of `owner`: syncs stay O(change)).
    const released = new Set<string>();
    for (const key of changes.keys()) for (const id of this.owned.get(key)?.keys() ?? []) released.add(id);
    const taken = new Map<string, string>();
    const out = new Map<string, Map<string, Owned>>();
    for (const [key, state] of changes) {
      const mine = new Map<string, Owned>();
      out.set(key, mine);
      if (!state) {
        this.skipsLogged.delete(key);
        continue;
      }
      const t = translateService(state.service as unknown as KubernetesService, state.slices as unknown as KubernetesEndpointSlice[], this.translate);
      this.logSkips(key, t.skipped);
      for (const { spec } of t.services) {
        const id = formatFrontend(spec.frontend);
        const holder = taken.get(id) ?? (released.has(id) ? undefined : this.owner.get(id));
        if (holder !== undefined && holder !== key) {
          this.log.warn('frontend already served by another service; skipped', { service: key, frontend: id, owner: holder });
          continue;
        }
        taken.set(id, key);
        mine.set(id, { spec, text: JSON.stringify(spec) });
      }
    }
    return out;
  }

  private commit(changes: ReadonlyMap<string, ServiceState | undefined>, wanted: Map<string, Map<string, Owned>>, full: boolean): ProgramResult {
    const upsert: ServiceSpec[] = [];
    const remove: string[] = [];
    const adding = new Set<string>();
    for (const [key, mine] of wanted) {
      const before = this.owned.get(key);
      for (const [id, o] of mine) {
        if (full || before?.get(id)?.text !== o.text) upsert.push(o.spec);
        adding.add(id);
      }
    }
    if (!full)
      for (const key of changes.keys()) for (const id of this.owned.get(key)?.keys() ?? []) if (!adding.has(id) && !wanted.get(key)?.has(id)) remove.push(id);
    const report = full ? this.manager.sync(upsert) : upsert.length || remove.length ? this.manager.apply({ upsert, delete: remove }) : undefined;
    // Written: now record ownership.
    if (full) {
      this.owned.clear();
      this.owner.clear();
    }
    for (const [key, mine] of wanted) {
      for (const id of this.owned.get(key)?.keys() ?? []) if (this.owner.get(id) === key) this.owner.delete(id);
      if (mine.size) this.owned.set(key, mine);
      else this.owned.delete(key);
      for (const id of mine.keys()) this.owner.set(id, key);
    }
    return { upserted: (report?.added.length ?? 0) + (report?.updated.length ?? 0), deleted: report?.removed.length ?? 0 };
  }
}
