/**
 * Encoding and decoding of the manager's map entries for one address family,
 * through the shared schemas (so the manager writes exactly what the programs
 * read). All keys and values cross as bytes.
 */
import { u16, u32 } from '../../dsl/types/index.js';
import type { AddressFamily } from './spec.js';
import {
  Backend4, Backend6, RevNat4, RevNat6, SERVICE_SCOPE_EXTERNAL, ServiceEntry, ServiceKey4, ServiceKey6,
} from './schemas.js';

/** A services-table key, decoded. */
export interface ServiceKeyFields {
  readonly address: string;
  readonly port: number;
  readonly backendSlot: number;
  readonly proto: number;
  readonly scope: number;
}

/** A services-table value, decoded. */
export interface ServiceEntryFields {
  readonly backendId: number;
  readonly count: number;
  readonly revNatIndex: number;
  readonly flags: number;
  readonly flags2: number;
}

/** A backends-table value, decoded. */
export interface BackendFields {
  readonly address: string;
  readonly port: number;
  readonly proto: number;
  readonly flags: number;
}

/** A reverse-NAT value, decoded. */
export interface RevNatFields {
  readonly address: string;
  readonly port: number;
}

/** Encoders/decoders of one family's entries. */
export interface FamilyEntries {
  readonly family: AddressFamily;
  serviceKey(address: string, port: number, backendSlot: number, proto: number): Uint8Array;
  decodeServiceKey(bytes: Uint8Array): ServiceKeyFields;
  serviceValue(v: Omit<ServiceEntryFields, 'flags2'>): Uint8Array;
  decodeServiceValue(bytes: Uint8Array): ServiceEntryFields;
  backendKey(id: number): Uint8Array;
  decodeBackendKey(bytes: Uint8Array): number;
  backendValue(v: BackendFields): Uint8Array;
  decodeBackendValue(bytes: Uint8Array): BackendFields;
  revNatKey(index: number): Uint8Array;
  decodeRevNatKey(bytes: Uint8Array): number;
  revNatValue(v: RevNatFields): Uint8Array;
  decodeRevNatValue(bytes: Uint8Array): RevNatFields;
  /** Byte sizes the maps must have. */
  readonly sizes: { readonly serviceKey: number; readonly serviceValue: number; readonly backendValue: number; readonly revNatValue: number };
}

function entries(
  family: AddressFamily,
  key: typeof ServiceKey4 | typeof ServiceKey6,
  backend: typeof Backend4 | typeof Backend6,
  revNat: typeof RevNat4 | typeof RevNat6,
): FamilyEntries {
  // The two families' schemas differ only in the address type; both take and give text.
  const k = key as typeof ServiceKey4;
  const b = backend as typeof Backend4;
  const r = revNat as typeof RevNat4;
  return {
    family,
    serviceKey: (address, port, backendSlot, proto) => k.encode({ address, port, backendSlot, proto, scope: SERVICE_SCOPE_EXTERNAL }),
    decodeServiceKey: (bytes) => k.decode(bytes),
    serviceValue: (v) => ServiceEntry.encode({ ...v, flags2: 0 }),
    decodeServiceValue: (bytes) => ServiceEntry.decode(bytes),
    backendKey: (id) => u32.encode(id),
    decodeBackendKey: (bytes) => u32.decode(bytes) as number,
    backendValue: (v) => b.encode(v),
    decodeBackendValue: (bytes) => b.decode(bytes),
    revNatKey: (index) => u16.encode(index),
    decodeRevNatKey: (bytes) => u16.decode(bytes) as number,
    revNatValue: (v) => r.encode(v),
    decodeRevNatValue: (bytes) => r.decode(bytes),
    sizes: { serviceKey: key.size, serviceValue: ServiceEntry.size, backendValue: backend.size, revNatValue: revNat.size },
  };
}

/** IPv4 entries. */
export const entries4 = entries('ipv4', ServiceKey4, Backend4, RevNat4);
/** IPv6 entries. */
export const entries6 = entries('ipv6', ServiceKey6, Backend6, RevNat6);
