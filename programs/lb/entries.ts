/**
 * Encoding and decoding of the manager's map entries for one address family.
 * Offsets come from the shared schemas' layouts (so the manager writes exactly
 * what the programs read); the bytes are written directly rather than through
 * the generic schema codec because a full sync encodes tens of thousands of
 * entries. test/lb/entries.test.ts checks both paths give identical bytes.
 */
import { formatIpv4, formatIpv6, type StructSchema } from '../../dsl/types/index.js';
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

/** Encoders/decoders of one family's entries; addresses are given as their network-order bytes. */
export interface FamilyEntries {
  readonly family: AddressFamily;
  serviceKey(address: Uint8Array, port: number, backendSlot: number, proto: number): Uint8Array;
  decodeServiceKey(bytes: Uint8Array): ServiceKeyFields;
  serviceValue(backendId: number, count: number, revNatIndex: number, flags: number): Uint8Array;
  decodeServiceValue(bytes: Uint8Array): ServiceEntryFields;
  backendKey(id: number): Uint8Array;
  decodeBackendKey(bytes: Uint8Array): number;
  backendValue(address: Uint8Array, port: number, proto: number, flags: number): Uint8Array;
  decodeBackendValue(bytes: Uint8Array): BackendFields;
  revNatKey(index: number): Uint8Array;
  decodeRevNatKey(bytes: Uint8Array): number;
  revNatValue(address: Uint8Array, port: number): Uint8Array;
  decodeRevNatValue(bytes: Uint8Array): RevNatFields;
  /** Byte sizes the maps must have. */
  readonly sizes: { readonly serviceKey: number; readonly serviceValue: number; readonly backendValue: number; readonly revNatValue: number };
}

function offsets<const N extends string>(s: StructSchema, names: readonly N[]): Record<N, number> {
  const out = {} as Record<N, number>;
  for (const n of names) {
    const m = s.members.find((x) => x.name === n);
    if (!m) throw new Error(`${s.name} has no member ${n}`);
    out[n] = m.offset;
  }
  return out;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function entries(family: AddressFamily, key: StructSchema, backend: StructSchema, revNat: StructSchema): FamilyEntries {
  const k = offsets(key, ['address', 'port', 'backendSlot', 'proto', 'scope']);
  const v = offsets(ServiceEntry, ['backendId', 'count', 'revNatIndex', 'flags', 'flags2']);
  const b = offsets(backend, ['address', 'port', 'proto', 'flags']);
  const r = offsets(revNat, ['address', 'port']);
  const text = (bytes: Uint8Array, at: number) =>
    family === 'ipv4' ? formatIpv4(view(bytes).getUint32(at, false)) : formatIpv6(bytes, at);
  return {
    family,
    serviceKey(address, port, backendSlot, proto) {
      const out = new Uint8Array(key.size);
      const d = view(out);
      out.set(address, k.address);
      d.setUint16(k.port, port, false);
      d.setUint16(k.backendSlot, backendSlot, true);
      out[k.proto] = proto;
      out[k.scope] = SERVICE_SCOPE_EXTERNAL;
      return out;
    },
    decodeServiceKey(bytes) {
      const d = view(bytes);
      return { address: text(bytes, k.address), port: d.getUint16(k.port, false), backendSlot: d.getUint16(k.backendSlot, true), proto: bytes[k.proto]!, scope: bytes[k.scope]! };
    },
    serviceValue(backendId, count, revNatIndex, flags) {
      const out = new Uint8Array(ServiceEntry.size);
      const d = view(out);
      d.setUint32(v.backendId, backendId, true);
      d.setUint16(v.count, count, true);
      d.setUint16(v.revNatIndex, revNatIndex, true);
      out[v.flags] = flags;
      return out;
    },
    decodeServiceValue(bytes) {
      const d = view(bytes);
      return { backendId: d.getUint32(v.backendId, true), count: d.getUint16(v.count, true), revNatIndex: d.getUint16(v.revNatIndex, true), flags: bytes[v.flags]!, flags2: bytes[v.flags2]! };
    },
    backendKey(id) {
      const out = new Uint8Array(4);
      view(out).setUint32(0, id, true);
      return out;
    },
    decodeBackendKey: (bytes) => view(bytes).getUint32(0, true),
    backendValue(address, port, proto, flags) {
      const out = new Uint8Array(backend.size);
      out.set(address, b.address);
      view(out).setUint16(b.port, port, false);
      out[b.proto] = proto;
      out[b.flags] = flags;
      return out;
    },
    decodeBackendValue(bytes) {
      return { address: text(bytes, b.address), port: view(bytes).getUint16(b.port, false), proto: bytes[b.proto]!, flags: bytes[b.flags]! };
    },
    revNatKey(index) {
      const out = new Uint8Array(2);
      view(out).setUint16(0, index, true);
      return out;
    },
    decodeRevNatKey: (bytes) => view(bytes).getUint16(0, true),
    revNatValue(address, port) {
      const out = new Uint8Array(revNat.size);
      out.set(address, r.address);
      view(out).setUint16(r.port, port, false);
      return out;
    },
    decodeRevNatValue(bytes) {
      return { address: text(bytes, r.address), port: view(bytes).getUint16(r.port, false) };
    },
    sizes: { serviceKey: key.size, serviceValue: ServiceEntry.size, backendValue: backend.size, revNatValue: revNat.size },
  };
}

/** IPv4 entries. */
export const entries4 = entries('ipv4', ServiceKey4, Backend4, RevNat4);
/** IPv6 entries. */
export const entries6 = entries('ipv6', ServiceKey6, Backend6, RevNat6);
