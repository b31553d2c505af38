/**
 * What the manager knows about one service: its frontend, ids, and the fields
 * of every entry it wrote (or found at restore), so a change is planned as a
 * diff against the maps and a rollback can restore them exactly. Entries are
 * kept as fields, not bytes (a first sync of 10,000 services would otherwise
 * keep ~60,000 small arrays alive and spend most of its time in GC); only a
 * restored entry whose bytes differ from what the manager would write keeps
 * its bytes (`raw`), so rollback still restores exactly what was there.
 */
import type { FamilyEntries } from './entries.js';
import { BACKEND_FLAG_LOCAL, BACKEND_FLAG_TERMINATING, SERVICE_FLAG_AFFINITY, SERVICE_FLAG_EXTERNAL_IP, SERVICE_FLAG_EXTERNAL_LOCAL, SERVICE_FLAG_NODEPORT, SERVICE_SCOPE_EXTERNAL, SERVICE_SCOPE_INTERNAL } from './schemas.js';
import type { AddressFamily, Protocol, Service } from './spec.js';

/** One backend slot (`backendSlot >= 1`) of a service. */
export interface SlotState {
  readonly backendId: number;
  /** The slot's value bytes, only when they differ from the encoding of the fields. */
  readonly raw?: Uint8Array;
}

/** One backend entry of a service. */
export interface BackendState {
  readonly id: number;
  readonly address: string;
  readonly port: number;
  /** `address:port`, canonical. */
  readonly key: string;
  /** The backend address in network order. */
  readonly addressBytes: Uint8Array;
  /** `BackendEntry.flags` (draining, local). */
  readonly flags: number;
  /** The value bytes, only when they differ from the encoding of the fields. */
  readonly raw?: Uint8Array;
}

/**
 * One service. Slots `1..count` are the backends new connections pick;
 * slots above `count` hold draining (terminating) backends: never picked, but
 * kept so existing flows and a restarted manager still find them.
 */
export interface ServiceState {
  /** Canonical frontend text (`formatFrontend`). */
  readonly id: string;
  readonly family: AddressFamily;
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly proto: number;
  /** The frontend address in network order. */
  readonly addressBytes: Uint8Array;
  readonly nodePort: boolean;
  readonly externalIP: boolean;
  /**
   * `externalTrafficPolicy=Local`: the frontend carries `SERVICE_FLAG_EXTERNAL_LOCAL`
   * and has a second, `SERVICE_SCOPE_INTERNAL` frontend entry (`localCount`,
   * `localSlots`) listing the active local backends (or, with none, the serving terminating ones).
   */
  readonly externalLocal: boolean;
  /**
   * ClientIP affinity timeout in seconds, 0 without affinity: every entry
   * carries `SERVICE_FLAG_AFFINITY` and both frontend entries hold the
   * timeout in `backendId`.
   */
  readonly affinityTimeout: number;
  readonly revNatIndex: number;
  /** Backend count in the frontend entry. */
  readonly count: number;
  /** Backend count in the INTERNAL-scope frontend entry (0 unless `externalLocal`). */
  readonly localCount: number;
  /** That entry's value bytes, only when they differ from the encoding of the fields. */
  readonly localFrontendRaw?: Uint8Array;
  /** INTERNAL-scope slots `1..localCount` (empty unless `externalLocal`); they name backends of `backends`. */
  readonly localSlots: ReadonlyMap<number, SlotState>;
  /** The frontend entry's value bytes, only when they differ from the encoding of the fields. */
  readonly frontendRaw?: Uint8Array;
  /** The reverse-NAT entry's value bytes, likewise. */
  readonly revNatRaw?: Uint8Array;
  /** Backend slots by position (1-based). */
  readonly slots: ReadonlyMap<number, SlotState>;
  /** Backends by id. */
  readonly backends: ReadonlyMap<number, BackendState>;
}

/** Number of map entries a service occupies, per table. */
export function entriesOf(s: ServiceState): { services: number; backends: number; revNat: number } {
  return { services: 1 + s.slots.size + (s.externalLocal ? 1 + s.localSlots.size : 0), backends: s.backends.size, revNat: 1 };
}

/** The public view of a service state. */
export function toService(s: ServiceState): Service {
  const positions = [...s.slots.keys()].sort((a, b) => a - b);
  const backends = positions.map((p) => {
    const b = s.backends.get(s.slots.get(p)!.backendId)!;
    return { address: b.address, port: b.port, terminating: p > s.count, local: (b.flags & BACKEND_FLAG_LOCAL) !== 0, id: b.id };
  });
  return {
    frontend: { address: s.address, port: s.port, protocol: s.protocol },
    family: s.family,
    nodePort: s.nodePort,
    externalIP: s.externalIP,
    externalTrafficPolicy: s.externalLocal ? 'Local' : 'Cluster',
    ...(s.affinityTimeout > 0 ? { sessionAffinity: { timeoutSeconds: s.affinityTimeout } } : {}),
    revNatIndex: s.revNatIndex,
    backends,
  };
}

/** Compares two byte arrays. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The services-map key of a service's slot (0: the frontend). */
export function slotKey(enc: FamilyEntries, s: { addressBytes: Uint8Array; port: number; proto: number }, slot: number, out?: Uint8Array): Uint8Array {
  return enc.serviceKey(s.addressBytes, s.port, slot, s.proto, out, SERVICE_SCOPE_EXTERNAL);
}

/** The services-map key of a slot of a service's INTERNAL-scope (local backends) frontend (0: that frontend). */
export function localSlotKey(enc: FamilyEntries, s: { addressBytes: Uint8Array; port: number; proto: number }, slot: number, out?: Uint8Array): Uint8Array {
  return enc.serviceKey(s.addressBytes, s.port, slot, s.proto, out, SERVICE_SCOPE_INTERNAL);
}

/** `ServiceEntry.flags` of a service. */
export function serviceFlags(s: { nodePort: boolean; externalIP: boolean; externalLocal: boolean; affinityTimeout: number }): number {
  return (
    (s.nodePort ? SERVICE_FLAG_NODEPORT : 0) | (s.externalIP ? SERVICE_FLAG_EXTERNAL_IP : 0) | (s.externalLocal ? SERVICE_FLAG_EXTERNAL_LOCAL : 0) |
    (s.affinityTimeout > 0 ? SERVICE_FLAG_AFFINITY : 0)
  );
}

/** `Backend.flags` of a backend spec. */
export function backendFlags(b: { terminating: boolean; local: boolean }): number {
  return (b.terminating ? BACKEND_FLAG_TERMINATING : 0) | (b.local ? BACKEND_FLAG_LOCAL : 0);
}

// The byte getters below encode into `out` when given (a scratch buffer only they write, so its padding stays zero).

/** The frontend entry's value bytes as they are in the map (`backendId`: the affinity timeout). */
export function frontendBytes(enc: FamilyEntries, s: ServiceState, out?: Uint8Array): Uint8Array {
  return s.frontendRaw ?? enc.serviceValue(s.affinityTimeout, s.count, s.revNatIndex, serviceFlags(s), out);
}

/** The reverse-NAT entry's value bytes as they are in the map. */
export function revNatBytes(enc: FamilyEntries, s: ServiceState, out?: Uint8Array): Uint8Array {
  return s.revNatRaw ?? enc.revNatValue(s.addressBytes, s.port, out);
}

/** The INTERNAL-scope frontend entry's value bytes as they are in the map (only when `externalLocal`). */
export function localFrontendBytes(enc: FamilyEntries, s: ServiceState, out?: Uint8Array): Uint8Array {
  return s.localFrontendRaw ?? enc.serviceValue(s.affinityTimeout, s.localCount, s.revNatIndex, serviceFlags(s), out);
}

/** An INTERNAL-scope slot's value bytes as they are in the map. */
export function localSlotBytes(enc: FamilyEntries, s: ServiceState, slot: SlotState, out?: Uint8Array): Uint8Array {
  return slot.raw ?? enc.serviceValue(slot.backendId, s.localCount, s.revNatIndex, serviceFlags(s), out);
}

/** A slot's value bytes as they are in the map. */
export function slotBytes(enc: FamilyEntries, s: ServiceState, slot: SlotState, out?: Uint8Array): Uint8Array {
  return slot.raw ?? enc.serviceValue(slot.backendId, s.count, s.revNatIndex, serviceFlags(s), out);
}

/** A backend's value bytes as they are in the map. */
export function backendBytes(enc: FamilyEntries, s: ServiceState, b: BackendState, out?: Uint8Array): Uint8Array {
  return b.raw ?? enc.backendValue(b.addressBytes, b.port, s.proto, b.flags, out);
}
