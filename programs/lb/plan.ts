/**
 * Planning a change to one service as an ordered list of map writes, appended
 * to the request's schedule (writes.ts; no kernel here): the manager executes
 * them in order and undoes them in reverse on failure. The order is what keeps a connect that races with the update
 * consistent — at every step, each slot `1..count` of the frontend a reader
 * can see exists and names a backend entry that exists:
 *
 * upsert (new or changed service)
 *   1. backend entries: new ones created, changed ones (draining or local flag)
 *      rewritten — except those losing the local flag (step 7);
 *   2. the reverse-NAT entry (before the frontend, so the first reply finds it);
 *   3. slots a reader cannot reach before or after the change: positions above
 *      the old count (written before the count is raised), and positions
 *      within both counts (each rewrite swaps one existing backend for another);
 *      likewise the local-only (INTERNAL-scope) slots of a Local-policy service;
 *   4. the INTERNAL-scope frontend (its new count), created here when the
 *      policy becomes Local, so it exists before the flag says to read it;
 *   5. the frontend entry (slot 0): the new count, flags and affinity timeout become visible here;
 *   6. slots between the new and the old count (only when shrinking: a draining
 *      backend moves there only once readers can no longer pick it), and
 *      deletes of slots beyond the new layout; INTERNAL-scope slots beyond the
 *      new local count, and the whole INTERNAL frontend when the policy left
 *      Local (the flag was cleared in step 5);
 *   7. deletes of backends the service no longer has (no slot names them now),
 *      and rewrites of backends that stopped being local (no local slot names
 *      them now, so a Local-policy reader never picks a backend without the flag).
 *
 * delete: frontend first (new connections stop matching), the INTERNAL-scope
 * frontend, then slots, backends, and the reverse-NAT entry last.
 *
 * A reader that read the old count just before step 4 may still look up a slot
 * deleted in step 5 within the same program run; the datapath treats a missing
 * slot or backend as "service has no backend" for that one connect.
 */
import type { FamilyEntries } from './entries.js';
import { BACKEND_FLAG_LOCAL } from './schemas.js';
import type { NormalizedBackend, NormalizedService } from './spec.js';
import {
  backendBytes, backendFlags, frontendBytes as frontendBytesOf, localFrontendBytes, localSlotBytes, localSlotKey, revNatBytes as revNatBytesOf,
  sameBytes, serviceFlags, slotBytes, slotKey, type BackendState, type ServiceState, type SlotState,
} from './state.js';
import type { TableName } from './writes.js';

export type { TableName } from './writes.js';

/**
 * One map write: `value` undefined deletes. `prev` is what the entry held
 * (undefined: absent), for rollback. `phase` is its step in the order above;
 * writes of one phase are independent of each other, so the manager may issue
 * the same phase of many services together (in batches).
 */
export interface MapOp {
  readonly phase: number;
  readonly table: TableName;
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
  readonly prev: Uint8Array | undefined;
}

/** Where a plan appends its writes, in order (`WriteSchedule`); `key` and `value` are copied at once. */
export interface WriteSink {
  write(phase: number, table: TableName, key: Uint8Array, value: Uint8Array | undefined, prev: Uint8Array | undefined): void;
}

/** The outcome of planning one service change: the state it leads to (its writes went to the sink). */
export interface ServicePlan {
  readonly id: string;
  readonly family: FamilyEntries['family'];
  readonly kind: 'added' | 'updated' | 'removed' | 'unchanged';
  /** Writes appended to the sink. */
  readonly writes: number;
  /** State after the writes (undefined: the service is gone). */
  readonly next: ServiceState | undefined;
  /** Backend ids to return to the pool once the writes are applied. */
  readonly releasedBackendIds: readonly number[];
  /** Reverse-NAT index to return once applied. */
  readonly releasedRevNat: number | undefined;
}

/** Where new ids come from while planning. */
export interface IdSource {
  backendId(): number;
  revNatIndex(): number;
}

export { serviceFlags } from './state.js';

// The sink copies keys as they are written, so one scratch key per size serves every plan (padding stays zero).
const scratch: Uint8Array[] = [];
const key = (size: number) => (scratch[size] ??= new Uint8Array(size));
// Likewise values, one scratch per family and table (written only by that table's encoder, so padding stays zero).
const scratchValues = new Map<string, Uint8Array>();
const value = (enc: FamilyEntries, table: TableName, size: number) => {
  const id = `${enc.family}/${table}`;
  let b = scratchValues.get(id);
  if (!b) scratchValues.set(id, (b = new Uint8Array(size)));
  return b;
};

/**
 * Positions `lo..lo+items.length-1` for `items`: an item keeps its previous
 * position if that lies in the range (fewer rewrites), the others fill the
 * free positions in ascending order, in input order.
 */
function layout(items: readonly NormalizedBackend[], lo: number, prevPos: ReadonlyMap<string, number>, out: Map<number, NormalizedBackend>): void {
  const hi = lo + items.length - 1;
  const rest: NormalizedBackend[] = [];
  for (const b of items) {
    const p = prevPos.get(b.key);
    if (p !== undefined && p >= lo && p <= hi && !out.has(p)) out.set(p, b);
    else rest.push(b);
  }
  let next = lo;
  for (const b of rest) {
    while (out.has(next)) next++;
    out.set(next, b);
  }
}

/**
 * The backends an INTERNAL-scope (local-only) frontend lists, only under the
 * Local policy: the active local ones; when there is none, the local ones
 * that are terminating but still serving (kube-proxy's fallback).
 */
export function localPicks(want: NormalizedService): NormalizedBackend[] {
  if (!want.externalLocal) return [];
  const ready = want.backends.filter((b) => b.local && !b.terminating);
  return ready.length > 0 ? ready : want.backends.filter((b) => b.local && b.terminating && b.serving);
}

/** Plans the writes that make the maps hold `want` (given what `prev` left there) into `out`. */
export function planUpsert(prev: ServiceState | undefined, want: NormalizedService, enc: FamilyEntries, ids: IdSource, out: WriteSink): ServicePlan {
  if (!prev) return planAdd(want, enc, ids, out);
  if (holdsExactly(prev, want, enc))
    return { id: want.id, family: want.family, kind: 'unchanged', writes: 0, next: prev, releasedBackendIds: [], releasedRevNat: undefined };
  let writes = 0;
  const write = (phase: number, table: TableName, k: Uint8Array, value: Uint8Array | undefined, before: Uint8Array | undefined) => {
    out.write(phase, table, k, value, before);
    writes++;
  };
  const sk = key(enc.sizes.serviceKey);
  const revNatIndex = prev.revNatIndex;
  const flags = serviceFlags(want);
  const active = want.backends.filter((b) => !b.terminating);
  const draining = want.backends.filter((b) => b.terminating);
  const local = localPicks(want);
  const count = active.length;
  const localCount = local.length;
  const oldCount = prev.count;

  // What the maps hold now, as bytes (the diff and the rollback values).
  const prevByKey = new Map<string, { state: BackendState; bytes: Uint8Array }>();
  const prevPos = new Map<string, number>();
  const prevSlots = new Map<number, Uint8Array>();
  const prevLocalPos = new Map<string, number>();
  const prevLocalSlots = new Map<number, Uint8Array>();
  for (const b of prev.backends.values()) prevByKey.set(b.key, { state: b, bytes: backendBytes(enc, prev, b) });
  for (const [p, s] of prev.slots) {
    prevPos.set(prev.backends.get(s.backendId)!.key, p);
    prevSlots.set(p, slotBytes(enc, prev, s));
  }
  for (const [p, s] of prev.localSlots) {
    prevLocalPos.set(prev.backends.get(s.backendId)!.key, p);
    prevLocalSlots.set(p, localSlotBytes(enc, prev, s));
  }
  const prevFrontend = frontendBytesOf(enc, prev);
  const prevLocalFrontend = prev.externalLocal ? localFrontendBytes(enc, prev) : undefined;
  const prevRevNat = revNatBytesOf(enc, prev);

  // 1. Backend entries (7: those losing the local flag).
  const backends = new Map<number, BackendState>();
  const idOf = new Map<string, number>();
  for (const b of want.backends) {
    const old = prevByKey.get(b.key);
    const id = old?.state.id ?? ids.backendId();
    const bflags = backendFlags(b);
    const bytes = enc.backendValue(b.bytes, b.port, want.proto, bflags);
    if (!(old !== undefined && sameBytes(old.bytes, bytes))) {
      const losesLocal = old !== undefined && (old.state.flags & BACKEND_FLAG_LOCAL) !== 0 && !b.local;
      write(losesLocal ? 7 : 1, 'backends', enc.backendKey(id, key(4)), bytes, old?.bytes);
    }
    backends.set(id, { id, address: b.address, port: b.port, key: b.key, addressBytes: b.bytes, flags: bflags });
    idOf.set(b.key, id);
  }

  // 2. Reverse NAT.
  const revNatBytes = enc.revNatValue(want.addressBytes, want.port);
  if (!sameBytes(prevRevNat, revNatBytes)) write(2, 'revNat', enc.revNatKey(revNatIndex, key(2)), revNatBytes, prevRevNat);

  // The new slot layout: active backends in 1..count, draining ones after.
  const positions = new Map<number, NormalizedBackend>();
  layout(active, 1, prevPos, positions);
  layout(draining, count + 1, prevPos, positions);
  const slots = new Map<number, SlotState>();
  const slotValues = new Map<number, Uint8Array>();
  for (const [p, b] of positions) {
    const backendId = idOf.get(b.key)!;
    slots.set(p, { backendId });
    slotValues.set(p, enc.serviceValue(backendId, count, revNatIndex, flags));
  }
  // The local-only layout: the picked local backends in 1..localCount (nothing drains there).
  const localPositions = new Map<number, NormalizedBackend>();
  layout(local, 1, prevLocalPos, localPositions);
  const localSlots = new Map<number, SlotState>();
  const localValues = new Map<number, Uint8Array>();
  for (const [p, b] of localPositions) {
    const backendId = idOf.get(b.key)!;
    localSlots.set(p, { backendId });
    localValues.set(p, enc.serviceValue(backendId, localCount, revNatIndex, flags));
  }
  const slotWrite = (p: number, phase: number, olds: Map<number, Uint8Array>, nows: Map<number, Uint8Array>, keyOf: typeof slotKey) => {
    const old = olds.get(p);
    const now = nows.get(p);
    if (now && old && sameBytes(old, now)) return;
    if (!now && !old) return;
    write(phase, 'services', keyOf(enc, want, p, sk), now, old);
  };
  const shrinking = (p: number) => p > count && p <= oldCount;
  const sorted = (m: Iterable<number>) => [...m].sort((a, b) => a - b);

  // 3. Slots no reader can pick before or after, or swaps within both counts (local ones too: none drains).
  for (const p of sorted(slots.keys())) if (!shrinking(p)) slotWrite(p, 3, prevSlots, slotValues, slotKey);
  for (const p of sorted(localSlots.keys())) slotWrite(p, 3, prevLocalSlots, localValues, localSlotKey);

  // 4. The local-only frontend, before the frontend's flag sends readers to it.
  const localFrontend = want.externalLocal ? enc.serviceValue(want.affinityTimeout, localCount, revNatIndex, flags) : undefined;
  if (localFrontend && !sameBytes(prevLocalFrontend, localFrontend)) write(4, 'services', localSlotKey(enc, want, 0, sk), localFrontend, prevLocalFrontend);

  // 5. The frontend: the new count and flags take effect.
  const frontendBytes = enc.serviceValue(want.affinityTimeout, count, revNatIndex, flags);
  if (!sameBytes(prevFrontend, frontendBytes)) write(5, 'services', slotKey(enc, want, 0, sk), frontendBytes, prevFrontend);

  // 6. Slots readers could pick until step 5, slots beyond the new layouts, a local-only frontend no longer wanted.
  for (const p of sorted(slots.keys())) if (shrinking(p)) slotWrite(p, 6, prevSlots, slotValues, slotKey);
  for (const p of sorted(prev.slots.keys())) if (!slots.has(p)) slotWrite(p, 6, prevSlots, slotValues, slotKey);
  if (!localFrontend && prevLocalFrontend) write(6, 'services', localSlotKey(enc, want, 0, sk), undefined, prevLocalFrontend);
  for (const p of sorted(prev.localSlots.keys())) if (!localSlots.has(p)) slotWrite(p, 6, prevLocalSlots, localValues, localSlotKey);

  // 7. Backends that left the service.
  const releasedBackendIds: number[] = [];
  for (const old of prev.backends.values()) {
    if (idOf.has(old.key)) continue;
    write(7, 'backends', enc.backendKey(old.id, key(4)), undefined, prevByKey.get(old.key)!.bytes);
    releasedBackendIds.push(old.id);
  }

  if (writes === 0) return { id: want.id, family: want.family, kind: 'unchanged', writes: 0, next: prev, releasedBackendIds, releasedRevNat: undefined };
  const next: ServiceState = {
    id: want.id,
    family: want.family,
    address: want.address,
    port: want.port,
    protocol: want.protocol,
    proto: want.proto,
    addressBytes: want.addressBytes,
    nodePort: want.nodePort,
    externalIP: want.externalIP,
    externalLocal: want.externalLocal,
    affinityTimeout: want.affinityTimeout,
    revNatIndex,
    count,
    localCount,
    slots,
    localSlots,
    backends,
  };
  return { id: want.id, family: want.family, kind: 'updated', writes, next, releasedBackendIds, releasedRevNat: undefined };
}

/**
 * `planUpsert` for a service that does not exist yet (most of a first sync),
 * without the diffing: the same writes in the same order (steps 1–5; no
 * reader sees anything before the frontend), active backends in slots
 * `1..count` in input order and draining ones after them.
 */
function planAdd(want: NormalizedService, enc: FamilyEntries, ids: IdSource, out: WriteSink): ServicePlan {
  const sk = key(enc.sizes.serviceKey);
  const revNatIndex = ids.revNatIndex();
  const flags = serviceFlags(want);
  let count = 0;
  for (const b of want.backends) if (!b.terminating) count++;
  const picks = new Set(localPicks(want));
  const localCount = picks.size;
  const backends = new Map<number, BackendState>();
  const slots = new Map<number, SlotState>();
  const localSlots = new Map<number, SlotState>();
  let active = 1;
  let draining = count + 1;
  for (const b of want.backends) {
    const id = ids.backendId();
    const bflags = backendFlags(b);
    out.write(1, 'backends', enc.backendKey(id, key(4)), enc.backendValue(b.bytes, b.port, want.proto, bflags), undefined);
    backends.set(id, { id, address: b.address, port: b.port, key: b.key, addressBytes: b.bytes, flags: bflags });
    const p = b.terminating ? draining++ : active++;
    slots.set(p, { backendId: id });
    if (picks.has(b)) localSlots.set(localSlots.size + 1, { backendId: id });
  }
  out.write(2, 'revNat', enc.revNatKey(revNatIndex, key(2)), enc.revNatValue(want.addressBytes, want.port), undefined);
  for (let p = 1; p <= want.backends.length; p++) out.write(3, 'services', slotKey(enc, want, p, sk), enc.serviceValue(slots.get(p)!.backendId, count, revNatIndex, flags), undefined);
  let writes = 2 * want.backends.length + 2;
  if (want.externalLocal) {
    for (let p = 1; p <= localCount; p++) out.write(3, 'services', localSlotKey(enc, want, p, sk), enc.serviceValue(localSlots.get(p)!.backendId, localCount, revNatIndex, flags), undefined);
    out.write(4, 'services', localSlotKey(enc, want, 0, sk), enc.serviceValue(want.affinityTimeout, localCount, revNatIndex, flags), undefined);
    writes += localCount + 1;
  }
  out.write(5, 'services', slotKey(enc, want, 0, sk), enc.serviceValue(want.affinityTimeout, count, revNatIndex, flags), undefined);
  const { id, family, address, port, protocol, proto, addressBytes, nodePort, externalIP, externalLocal, affinityTimeout } = want;
  const next: ServiceState = {
    id, family, address, port, protocol, proto, addressBytes, nodePort, externalIP, externalLocal, affinityTimeout, revNatIndex, count, localCount, slots, localSlots, backends,
  };
  return { id, family, kind: 'added', writes, next, releasedBackendIds: [], releasedRevNat: undefined };
}

/** Plans the removal of a service into `out`. */
export function planDelete(prev: ServiceState, enc: FamilyEntries, out: WriteSink): ServicePlan {
  const sk = key(enc.sizes.serviceKey);
  const sv = value(enc, 'services', enc.sizes.serviceValue);
  out.write(1, 'services', slotKey(enc, prev, 0, sk), undefined, frontendBytesOf(enc, prev, sv));
  if (prev.externalLocal) out.write(2, 'services', localSlotKey(enc, prev, 0, sk), undefined, localFrontendBytes(enc, prev, sv));
  for (const p of [...prev.slots.keys()].sort((a, b) => a - b)) out.write(3, 'services', slotKey(enc, prev, p, sk), undefined, slotBytes(enc, prev, prev.slots.get(p)!, sv));
  for (const p of [...prev.localSlots.keys()].sort((a, b) => a - b)) out.write(3, 'services', localSlotKey(enc, prev, p, sk), undefined, localSlotBytes(enc, prev, prev.localSlots.get(p)!, sv));
  for (const b of prev.backends.values()) out.write(4, 'backends', enc.backendKey(b.id, key(4)), undefined, backendBytes(enc, prev, b, value(enc, 'backends', enc.sizes.backendValue)));
  out.write(5, 'revNat', enc.revNatKey(prev.revNatIndex, key(2)), undefined, revNatBytesOf(enc, prev, value(enc, 'revNat', enc.sizes.revNatValue)));
  return {
    id: prev.id,
    family: prev.family,
    kind: 'removed',
    writes: 2 + prev.slots.size + prev.backends.size + (prev.externalLocal ? 1 + prev.localSlots.size : 0),
    next: undefined,
    releasedBackendIds: [...prev.backends.keys()],
    releasedRevNat: prev.revNatIndex,
  };
}

/**
 * Whether `prev` already is `want` entry for entry (the common case of a
 * resync), checked without encoding anything: same flags, affinity timeout and counts, the same
 * backends, each active one in a slot within the count and each draining one
 * beyond it, the local-only slots holding exactly the picked local backends,
 * and every entry holding the bytes a plan would write.
 */
function holdsExactly(prev: ServiceState, want: NormalizedService, enc: FamilyEntries): boolean {
  const n = want.backends.length;
  if (prev.nodePort !== want.nodePort || prev.externalIP !== want.externalIP || prev.externalLocal !== want.externalLocal) return false;
  // The timeout lives in the frontend entries only: a change of it alone rewrites those.
  if (prev.affinityTimeout !== want.affinityTimeout) return false;
  if (prev.backends.size !== n || prev.slots.size !== n) return false;
  const flags = serviceFlags(want);
  let active = 0;
  for (const b of want.backends) if (!b.terminating) active++;
  const picks = new Set(localPicks(want));
  const local = picks.size;
  // Entries without `raw` hold the encoding of the state's fields: compare fields, not bytes.
  if (prev.count !== active || prev.proto !== want.proto) return false;
  if (prev.localCount !== local || prev.localSlots.size !== local) return false;
  if (prev.frontendRaw && !enc.serviceIs(prev.frontendRaw, want.affinityTimeout, active, prev.revNatIndex, flags)) return false;
  if (prev.localFrontendRaw && !enc.serviceIs(prev.localFrontendRaw, want.affinityTimeout, local, prev.revNatIndex, flags)) return false;
  if (prev.revNatRaw ? !enc.revNatIs(prev.revNatRaw, want.addressBytes, want.port) : prev.port !== want.port || !sameBytes(prev.addressBytes, want.addressBytes)) return false;
  // Few backends (the usual case): a scan beats building a map.
  let byKey: Map<string, NormalizedBackend> | undefined;
  if (n > 8) {
    byKey = new Map();
    for (const b of want.backends) byKey.set(b.key, b);
  }
  const find = (key: string) => (byKey ? byKey.get(key) : want.backends.find((b) => b.key === key));
  // Slot positions are distinct map keys and there are n of them, each naming a backend of the n: checking
  // each slot's position class and backend, and each backend's bytes, covers the whole service.
  const ids = new Set<number>();
  for (const [p, s] of prev.slots) {
    const b = prev.backends.get(s.backendId);
    if (!b || p < 1 || p > n) return false;
    const w = find(b.key);
    if (!w || w.terminating !== p > active) return false;
    if (s.raw && !enc.serviceIs(s.raw, s.backendId, active, prev.revNatIndex, flags)) return false;
    const bflags = backendFlags(w);
    if (b.raw ? !enc.backendIs(b.raw, w.bytes, w.port, want.proto, bflags) : b.flags !== bflags || b.port !== w.port || !sameBytes(b.addressBytes, w.bytes)) return false;
    ids.add(s.backendId);
  }
  if (ids.size !== n) return false;
  // Likewise the local-only slots: `local` distinct positions in 1..local, each a picked local backend.
  const localIds = new Set<number>();
  for (const [p, s] of prev.localSlots) {
    const b = prev.backends.get(s.backendId);
    if (!b || p < 1 || p > local) return false;
    const w = find(b.key);
    if (!w || !picks.has(w)) return false;
    if (s.raw && !enc.serviceIs(s.raw, s.backendId, local, prev.revNatIndex, flags)) return false;
    localIds.add(s.backendId);
  }
  return localIds.size === local;
}
