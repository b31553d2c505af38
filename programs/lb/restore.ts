/**
 * Rebuilding the manager's state from the maps (a restarted agent or CLI
 * process): services, backend ids, reverse-NAT indexes. What only an
 * interrupted change can leave behind — slots without a frontend, backends no
 * slot names, reverse-NAT entries no frontend uses, INTERNAL-scope entries of a
 * frontend without the Local flag, INTERNAL-scope slots beyond their count — is
 * listed as orphans to delete; anything a reader could trip over (a visible
 * slot without its backend, ids shared between services, a Local-flagged
 * frontend without its INTERNAL-scope entry, a frontend entry whose affinity
 * flag and timeout disagree) is refused as `LB_STATE`.
 */
import { ServiceError } from './errors.js';
import type { FamilyEntries } from './entries.js';
import type { MapOp } from './plan.js';
import {
  IPPROTO_TCP, IPPROTO_UDP, SERVICE_FLAG_AFFINITY, SERVICE_FLAG_EXTERNAL_IP, SERVICE_FLAG_EXTERNAL_LOCAL, SERVICE_FLAG_NODEPORT, SERVICE_SCOPE_EXTERNAL, SERVICE_SCOPE_INTERNAL,
} from './schemas.js';
import { canonicalAddress, formatEndpoint, formatFrontend, isWildcard, MAX_AFFINITY_TIMEOUT_SECONDS, type Protocol } from './spec.js';
import { sameBytes, serviceFlags, type BackendState, type ServiceState, type SlotState } from './state.js';
import type { ServiceTable } from './tables.js';

/** One family's three tables. */
export interface FamilyTables {
  readonly services: ServiceTable;
  readonly backends: ServiceTable;
  readonly revNat: ServiceTable;
}

/** What was found in one family's maps. */
export interface RestoredFamily {
  readonly services: ServiceState[];
  /** Deletes of leftovers of an interrupted change. */
  readonly orphans: MapOp[];
}

const protocolOf = (proto: number): Protocol | undefined => (proto === IPPROTO_TCP ? 'TCP' : proto === IPPROTO_UDP ? 'UDP' : undefined);

/** Reads one family's maps into service states (pure apart from the reads). */
export function restoreFamily(tables: FamilyTables, enc: FamilyEntries): RestoredFamily {
  const fail = (msg: string) => new ServiceError('LB_STATE', `${tables.services.name}: ${msg}; the maps were not written by this manager (clear them to start over)`);
  const orphans: MapOp[] = [];

  const backendRows = new Map<number, { key: Uint8Array; bytes: Uint8Array }>();
  for (const [k, v] of tables.backends.entries()) backendRows.set(enc.decodeBackendKey(k), { key: k, bytes: v });
  const revNatRows = new Map<number, { key: Uint8Array; bytes: Uint8Array }>();
  for (const [k, v] of tables.revNat.entries()) revNatRows.set(enc.decodeRevNatKey(k), { key: k, bytes: v });

  interface Group {
    frontend?: { key: Uint8Array; bytes: Uint8Array };
    slots: Map<number, { key: Uint8Array; bytes: Uint8Array }>;
    /** The INTERNAL-scope (local backends) twin of the frontend and its slots. */
    localFrontend?: { key: Uint8Array; bytes: Uint8Array };
    localSlots: Map<number, { key: Uint8Array; bytes: Uint8Array }>;
    address: string;
    addressBytes: Uint8Array;
    port: number;
    proto: number;
  }
  const groups = new Map<string, Group>();
  for (const [k, v] of tables.services.entries()) {
    const key = enc.decodeServiceKey(k);
    if (key.scope !== SERVICE_SCOPE_EXTERNAL && key.scope !== SERVICE_SCOPE_INTERNAL) throw fail(`entry with scope ${key.scope} (${formatEndpoint(key.address, key.port)})`);
    const id = `${formatEndpoint(key.address, key.port)}/${key.proto}`;
    let g = groups.get(id);
    if (!g)
      groups.set(id, (g = { slots: new Map(), localSlots: new Map(), address: key.address, addressBytes: k.slice(0, enc.family === 'ipv4' ? 4 : 16), port: key.port, proto: key.proto }));
    const row = { key: k, bytes: v };
    if (key.scope === SERVICE_SCOPE_INTERNAL) {
      if (key.backendSlot === 0) g.localFrontend = row;
      else g.localSlots.set(key.backendSlot, row);
    } else if (key.backendSlot === 0) g.frontend = row;
    else g.slots.set(key.backendSlot, row);
  }

  /**
   * A frontend entry's affinity timeout: with `SERVICE_FLAG_AFFINITY` its
   * `backendId` is the timeout (1..86400), without it 0. Anything else is no
   * state the manager ever writes (both are set in one entry write).
   */
  const timeoutOf = (e: { backendId: number; flags: number }, what: string): number => {
    const affinity = (e.flags & SERVICE_FLAG_AFFINITY) !== 0;
    if (!affinity && e.backendId !== 0) throw fail(`${what} has backend id ${e.backendId} in slot 0 but no affinity flag`);
    if (affinity && (e.backendId < 1 || e.backendId > MAX_AFFINITY_TIMEOUT_SECONDS))
      throw fail(`${what} has the affinity flag but timeout ${e.backendId} (not in 1..${MAX_AFFINITY_TIMEOUT_SECONDS})`);
    return affinity ? e.backendId : 0;
  };

  const services: ServiceState[] = [];
  const usedBackends = new Map<number, string>();
  const usedRevNat = new Map<number, string>();
  for (const g of groups.values()) {
    const dropLocal = () => {
      if (g.localFrontend) orphans.push({ phase: 1, table: 'services', key: g.localFrontend.key, value: undefined, prev: g.localFrontend.bytes });
      for (const s of g.localSlots.values()) orphans.push({ phase: 1, table: 'services', key: s.key, value: undefined, prev: s.bytes });
    };
    if (!g.frontend) {
      dropLocal();
      for (const s of g.slots.values()) orphans.push({ phase: 1, table: 'services', key: s.key, value: undefined, prev: s.bytes });
      continue;
    }
    const protocol = protocolOf(g.proto);
    if (!protocol) throw fail(`frontend ${formatEndpoint(g.address, g.port)} has protocol ${g.proto}`);
    const id = formatFrontend({ address: g.address, port: g.port, protocol });
    const fe = enc.decodeServiceValue(g.frontend.bytes);
    const affinityTimeout = timeoutOf(fe, `frontend ${id}`);
    const rn = revNatRows.get(fe.revNatIndex);
    if (!rn) throw fail(`frontend ${id} names reverse-NAT index ${fe.revNatIndex}, which is not in ${tables.revNat.name}`);
    const other = usedRevNat.get(fe.revNatIndex);
    if (other) throw fail(`frontends ${other} and ${id} share reverse-NAT index ${fe.revNatIndex}`);
    usedRevNat.set(fe.revNatIndex, id);

    const nodePort = (fe.flags & SERVICE_FLAG_NODEPORT) !== 0 || isWildcard(g.address);
    const externalIP = (fe.flags & SERVICE_FLAG_EXTERNAL_IP) !== 0;
    const externalLocal = (fe.flags & SERVICE_FLAG_EXTERNAL_LOCAL) !== 0;
    // The manager writes the INTERNAL frontend before setting the flag and clears the flag before deleting it.
    if (externalLocal && !g.localFrontend) throw fail(`frontend ${id} has the external-Local flag but no INTERNAL-scope frontend`);
    // INTERNAL entries of a frontend without the flag: left by an interrupted switch of policy.
    if (!externalLocal) dropLocal();
    const flags = serviceFlags({ nodePort, externalIP, externalLocal, affinityTimeout });
    const slots = new Map<number, SlotState>();
    const backends = new Map<number, BackendState>();
    const keys = new Set<string>();
    for (const p of [...g.slots.keys()].sort((a, b) => a - b)) {
      const row = g.slots.get(p)!;
      const backendId = enc.decodeServiceValue(row.bytes).backendId;
      const b = backendRows.get(backendId);
      if (!b) {
        if (p <= fe.count) throw fail(`slot ${p} of ${id} names backend ${backendId}, which is not in ${tables.backends.name}`);
        // A draining slot whose backend is gone: a leftover of an interrupted delete.
        orphans.push({ phase: 1, table: 'services', key: row.key, value: undefined, prev: row.bytes });
        continue;
      }
      const owner = usedBackends.get(backendId);
      if (owner !== undefined && (owner !== id || backends.has(backendId))) throw fail(`backend ${backendId} appears in ${owner} and ${id}`);
      const bv = enc.decodeBackendValue(b.bytes);
      if (bv.proto !== g.proto) throw fail(`backend ${backendId} of ${id} has protocol ${bv.proto}`);
      const key = formatEndpoint(bv.address, bv.port);
      if (keys.has(key)) throw fail(`backend ${key} appears twice in ${id}`);
      keys.add(key);
      usedBackends.set(backendId, id);
      // Bytes are kept only where they differ from what the fields encode to, so rollback restores them exactly.
      slots.set(p, sameBytes(row.bytes, enc.serviceValue(backendId, fe.count, fe.revNatIndex, flags)) ? { backendId } : { backendId, raw: row.bytes });
      const addressBytes = canonicalAddress(bv.address)!.bytes;
      const backend = { id: backendId, address: bv.address, port: bv.port, key, addressBytes, flags: bv.flags };
      backends.set(backendId, sameBytes(b.bytes, enc.backendValue(addressBytes, bv.port, g.proto, bv.flags)) ? backend : { ...backend, raw: b.bytes });
    }
    for (let p = 1; p <= fe.count; p++) if (!slots.has(p)) throw fail(`${id} has count ${fe.count} but no slot ${p}`);
    // The local-only slots: 1..localCount name backends of this service; any beyond are leftovers of a shrink.
    const localSlots = new Map<number, SlotState>();
    let localCount = 0;
    let localFrontendRaw: Uint8Array | undefined;
    if (externalLocal) {
      const lf = enc.decodeServiceValue(g.localFrontend!.bytes);
      // Checked on its own: the manager writes it just before the frontend, so an interrupted change may leave it
      // with the other timeout (kept as raw bytes and rewritten by the next change), never with a half-set one.
      timeoutOf(lf, `INTERNAL-scope frontend of ${id}`);
      localCount = lf.count;
      if (!sameBytes(g.localFrontend!.bytes, enc.serviceValue(affinityTimeout, localCount, fe.revNatIndex, flags))) localFrontendRaw = g.localFrontend!.bytes;
      for (const p of [...g.localSlots.keys()].sort((a, b) => a - b)) {
        const row = g.localSlots.get(p)!;
        if (p > localCount) {
          orphans.push({ phase: 1, table: 'services', key: row.key, value: undefined, prev: row.bytes });
          continue;
        }
        const backendId = enc.decodeServiceValue(row.bytes).backendId;
        if (!backends.has(backendId)) throw fail(`INTERNAL-scope slot ${p} of ${id} names backend ${backendId}, which is not one of its backends`);
        localSlots.set(p, sameBytes(row.bytes, enc.serviceValue(backendId, localCount, fe.revNatIndex, flags)) ? { backendId } : { backendId, raw: row.bytes });
      }
      for (let p = 1; p <= localCount; p++) if (!localSlots.has(p)) throw fail(`INTERNAL-scope frontend of ${id} has count ${localCount} but no slot ${p}`);
    }
    services.push({
      id,
      family: enc.family,
      address: g.address,
      port: g.port,
      protocol,
      proto: g.proto,
      addressBytes: g.addressBytes,
      nodePort,
      externalIP,
      externalLocal,
      affinityTimeout,
      revNatIndex: fe.revNatIndex,
      count: fe.count,
      localCount,
      ...(localFrontendRaw ? { localFrontendRaw } : {}),
      localSlots,
      ...(sameBytes(g.frontend.bytes, enc.serviceValue(affinityTimeout, fe.count, fe.revNatIndex, flags)) ? {} : { frontendRaw: g.frontend.bytes }),
      ...(sameBytes(rn.bytes, enc.revNatValue(g.addressBytes, g.port)) ? {} : { revNatRaw: rn.bytes }),
      slots,
      backends,
    });
  }
  for (const [id, row] of backendRows) if (!usedBackends.has(id)) orphans.push({ phase: 2, table: 'backends', key: row.key, value: undefined, prev: row.bytes });
  for (const [idx, row] of revNatRows) if (!usedRevNat.has(idx)) orphans.push({ phase: 3, table: 'revNat', key: row.key, value: undefined, prev: row.bytes });
  return { services, orphans };
}
