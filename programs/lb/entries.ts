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
  /**
   * A services key; written into `out` (which keeps its zero padding) when given.
   * `scope` defaults to `SERVICE_SCOPE_EXTERNAL` (`SERVICE_SCOPE_INTERNAL`: a Local-policy frontend's local-only twin).
   */
  serviceKey(address: Uint8Array, port: number, backendSlot: number, proto: number, out?: Uint8Array, scope?: number): Uint8Array;
  decodeServiceKey(bytes: Uint8Array): ServiceKeyFields;
  /** A services value; written into `out` (whose other bytes must be zero) when given. */
  serviceValue(backendId: number, count: number, revNatIndex: number, flags: number, out?: Uint8Array): Uint8Array;
  decodeServiceValue(bytes: Uint8Array): ServiceEntryFields;
  backendKey(id: number, out?: Uint8Array): Uint8Array;
  decodeBackendKey(bytes: Uint8Array): number;
  /** A backends value; `out` as for `serviceValue`. */
  backendValue(address: Uint8Array, port: number, proto: number, flags: number, out?: Uint8Array): Uint8Array;
  decodeBackendValue(bytes: Uint8Array): BackendFields;
  revNatKey(index: number, out?: Uint8Array): Uint8Array;
  decodeRevNatKey(bytes: Uint8Array): number;
  /** A reverse-NAT value; `out` as for `serviceValue`. */
  revNatValue(address: Uint8Array, port: number, out?: Uint8Array): Uint8Array;
  decodeRevNatValue(bytes: Uint8Array): RevNatFields;
  /** Whether backend value bytes hold exactly these fields (no decode, no allocation). */
  backendIs(bytes: Uint8Array, address: Uint8Array, port: number, proto: number, flags: number): boolean;
  /** Whether services value bytes hold exactly these fields (flags2 and padding zero). */
  serviceIs(bytes: Uint8Array, backendId: number, count: number, revNatIndex: number, flags: number): boolean;
  /** Whether reverse-NAT value bytes hold exactly this frontend. */
  revNatIs(bytes: Uint8Array, address: Uint8Array, port: number): boolean;
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

// Byte writers: a DataView per entry would be most of the cost (and garbage) of a large sync.
const put16be = (b: Uint8Array, at: number, v: number) => ((b[at] = v >>> 8), (b[at + 1] = v & 255));
const put16le = (b: Uint8Array, at: number, v: number) => ((b[at] = v & 255), (b[at + 1] = v >>> 8));
const put32le = (b: Uint8Array, at: number, v: number) => ((b[at] = v & 255), (b[at + 1] = (v >>> 8) & 255), (b[at + 2] = (v >>> 16) & 255), (b[at + 3] = v >>> 24));
const get16be = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const get16le = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const sameAt = (b: Uint8Array, at: number, want: Uint8Array) => {
  for (let i = 0; i < want.length; i++) if (b[at + i] !== want[i]) return false;
  return true;
};
const get32le = (b: Uint8Array, at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

function entries(family: AddressFamily, key: StructSchema, backend: StructSchema, revNat: StructSchema): FamilyEntries {
  const k = offsets(key, ['address', 'port', 'backendSlot', 'proto', 'scope']);
  const v = offsets(ServiceEntry, ['backendId', 'count', 'revNatIndex', 'flags', 'flags2']);
  const b = offsets(backend, ['address', 'port', 'proto', 'flags']);
  const r = offsets(revNat, ['address', 'port']);
  const text = (bytes: Uint8Array, at: number) =>
    family === 'ipv4' ? formatIpv4(((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0) : formatIpv6(bytes, at);
  return {
    family,
    serviceKey(address, port, backendSlot, proto, out = new Uint8Array(key.size), scope = SERVICE_SCOPE_EXTERNAL) {
      for (let i = 0; i < address.length; i++) out[k.address + i] = address[i]!;
      put16be(out, k.port, port);
      put16le(out, k.backendSlot, backendSlot);
      out[k.proto] = proto;
      out[k.scope] = scope;
      return out;
    },
    decodeServiceKey(bytes) {
      return { address: text(bytes, k.address), port: get16be(bytes, k.port), backendSlot: get16le(bytes, k.backendSlot), proto: bytes[k.proto]!, scope: bytes[k.scope]! };
    },
    serviceValue(backendId, count, revNatIndex, flags, out = new Uint8Array(ServiceEntry.size)) {
      put32le(out, v.backendId, backendId);
      put16le(out, v.count, count);
      put16le(out, v.revNatIndex, revNatIndex);
      out[v.flags] = flags;
      return out;
    },
    decodeServiceValue(bytes) {
      return { backendId: get32le(bytes, v.backendId), count: get16le(bytes, v.count), revNatIndex: get16le(bytes, v.revNatIndex), flags: bytes[v.flags]!, flags2: bytes[v.flags2]! };
    },
    backendKey(id, out = new Uint8Array(4)) {
      put32le(out, 0, id);
      return out;
    },
    decodeBackendKey: (bytes) => get32le(bytes, 0),
    backendValue(address, port, proto, flags, out = new Uint8Array(backend.size)) {
      for (let i = 0; i < address.length; i++) out[b.address + i] = address[i]!;
      put16be(out, b.port, port);
      out[b.proto] = proto;
      out[b.flags] = flags;
      return out;
    },
    decodeBackendValue(bytes) {
      return { address: text(bytes, b.address), port: get16be(bytes, b.port), proto: bytes[b.proto]!, flags: bytes[b.flags]! };
    },
    revNatKey(index, out = new Uint8Array(2)) {
      put16le(out, 0, index);
      return out;
    },
    decodeRevNatKey: (bytes) => get16le(bytes, 0),
    revNatValue(address, port, out = new Uint8Array(revNat.size)) {
      for (let i = 0; i < address.length; i++) out[r.address + i] = address[i]!;
      put16be(out, r.port, port);
      return out;
    },
    decodeRevNatValue(bytes) {
      return { address: text(bytes, r.address), port: get16be(bytes, r.port) };
    },
    serviceIs(bytes, backendId, count, revNatIndex, flags) {
      if (bytes.length !== ServiceEntry.size || get32le(bytes, v.backendId) !== backendId || get16le(bytes, v.count) !== count) return false;
      if (get16le(bytes, v.revNatIndex) !== revNatIndex || bytes[v.flags] !== flags || bytes[v.flags2] !== 0) return false;
      for (let i = v.flags2 + 1; i < ServiceEntry.size; i++) if (bytes[i] !== 0) return false;
      return true;
    },
    backendIs(bytes, address, port, proto, flags) {
      return sameAt(bytes, b.address, address) && get16be(bytes, b.port) === port && bytes[b.proto] === proto && bytes[b.flags] === flags && bytes.length === backend.size;
    },
    revNatIs(bytes, address, port) {
      if (bytes.length !== revNat.size || !sameAt(bytes, r.address, address) || get16be(bytes, r.port) !== port) return false;
      // Padding is written as zeros.
      for (let i = r.port + 2; i < revNat.size; i++) if (bytes[i] !== 0) return false;
      return true;
    },
    sizes: { serviceKey: key.size, serviceValue: ServiceEntry.size, backendValue: backend.size, revNatValue: revNat.size },
  };
}

/** IPv4 entries. */
export const entries4 = entries('ipv4', ServiceKey4, Backend4, RevNat4);
/** IPv6 entries. */
export const entries6 = entries('ipv6', ServiceKey6, Backend6, RevNat6);
