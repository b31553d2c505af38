/**
 * Test-only service-table fill for the socket-LB tests: writes a frontend, its
 * backend slots, backends and reverse-NAT entry straight into the loaded maps with
 * the shared schema codecs (the real service manager is programs/lb/manager.ts).
 */
import type { LoadedObject } from '../../loader/index.js';
import { u16, u32, u64 } from '../../dsl/types/index.js';
import { nodeAddressEntries } from '../../programs/sock/index.js';
import {
  AffinityEntry, AffinityKey4, AffinityKey6, Backend4, Backend6, RevNat4, RevNat6, ServiceEntry, ServiceKey4, ServiceKey6, SockBackend4, SockRevNat4, SockRevNatKey4,
  IPPROTO_TCP, IPPROTO_UDP, SERVICE_FLAG_AFFINITY, SERVICE_FLAG_NODEPORT,
} from '../../programs/lb/schemas.js';

/** One service for {@link fillService}. */
export interface TestService {
  /** Frontend address (`0.0.0.0` / `::` for a NodePort wildcard). */
  readonly address: string;
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
  readonly backends: readonly { readonly address: string; readonly port: number }[];
  /** Backend ids start here (default 1). */
  readonly firstBackendId?: number;
  readonly revNatIndex: number;
  /** Session affinity with this timeout in seconds (the flag on every entry, the timeout in the frontend's backendId). */
  readonly affinitySeconds?: number;
}

const raw = (b: Uint8Array) => b as never;

/** Writes `s` into the lb4_* or lb6_* maps of `obj` (the family follows the address). */
export function fillService(obj: LoadedObject, s: TestService): void {
  const v6 = s.address.includes(':');
  const proto = s.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
  const Key = v6 ? ServiceKey6 : ServiceKey4;
  const services = obj.map(v6 ? 'lb6_services' : 'lb4_services');
  const key = { address: s.address, port: s.port, backendSlot: 0, proto, scope: 0 };
  const nodePort = s.address === '0.0.0.0' || s.address === '::';
  const first = s.firstBackendId ?? 1;
  const affinity = s.affinitySeconds !== undefined ? SERVICE_FLAG_AFFINITY : 0;
  s.backends.forEach((b, i) => {
    const be = { address: b.address, port: b.port, proto, flags: 0 };
    obj.map(v6 ? 'lb6_backends' : 'lb4_backends').set(raw(u32.encode(first + i)), raw(v6 ? Backend6.encode(be) : Backend4.encode(be)));
    services.set(raw(Key.encode({ ...key, backendSlot: i + 1 } as never)), raw(ServiceEntry.encode({ backendId: first + i, count: s.backends.length, revNatIndex: s.revNatIndex, flags: affinity, flags2: 0 })));
  });
  // The frontend last, as the manager does: a connect never sees slots that are not there yet.
  const flags = (nodePort ? SERVICE_FLAG_NODEPORT : 0) | affinity;
  services.set(raw(Key.encode(key as never)), raw(ServiceEntry.encode({ backendId: s.affinitySeconds ?? 0, count: s.backends.length, revNatIndex: s.revNatIndex, flags, flags2: 0 })));
  const rn = { address: s.address, port: s.port };
  // Objects built without reverse hooks (4.19) have no reverse-NAT map.
  const revNat = obj.maps.get(v6 ? 'lb6_reverse_nat' : 'lb4_reverse_nat');
  revNat?.set(raw(u16.encode(s.revNatIndex)), raw(v6 ? RevNat6.encode(rn) : RevNat4.encode(rn)));
}

/** Removes `s` again in the manager's order: frontend first, then slots, backends and the reverse-NAT entry. */
export function deleteService(obj: LoadedObject, s: TestService): void {
  const v6 = s.address.includes(':');
  const proto = s.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
  const Key = v6 ? ServiceKey6 : ServiceKey4;
  const services = obj.map(v6 ? 'lb6_services' : 'lb4_services');
  const key = { address: s.address, port: s.port, backendSlot: 0, proto, scope: 0 };
  services.delete(raw(Key.encode(key as never)));
  s.backends.forEach((_, i) => {
    services.delete(raw(Key.encode({ ...key, backendSlot: i + 1 } as never)));
    obj.map(v6 ? 'lb6_backends' : 'lb4_backends').delete(raw(u32.encode((s.firstBackendId ?? 1) + i)));
  });
  obj.maps.get(v6 ? 'lb6_reverse_nat' : 'lb4_reverse_nat')?.delete(raw(u16.encode(s.revNatIndex)));
}

/** Marks `address` as one of the node's own addresses (lb4_node_addrs / lb6_node_addrs). */
export function addNodeAddress(obj: LoadedObject, address: string): void {
  for (const e of nodeAddressEntries([address])) obj.map(e.map).set(raw(e.key), raw(e.value));
}

/** One decoded IPv4 socket reverse-NAT entry. */
export interface SockRevNatEntry4 {
  readonly cookie: bigint;
  readonly backend: string;
  readonly frontend: string;
}

/** Every entry of lb4_sock_rnat, decoded. */
export function dumpSockRevNat4(obj: LoadedObject): SockRevNatEntry4[] {
  const out: SockRevNatEntry4[] = [];
  for (const [k, v] of obj.map('lb4_sock_rnat').entries() as Iterable<[Uint8Array, Uint8Array]>) {
    const key = SockRevNatKey4.decode(k);
    const val = SockRevNat4.decode(v);
    out.push({ cookie: BigInt(key.cookie), backend: `${key.address}:${key.port}`, frontend: `${val.address}:${val.port}` });
  }
  return out;
}

/** Every entry of lb4_sock_backend: cookie → backend. */
export function dumpSockBackend4(obj: LoadedObject): Map<bigint, string> {
  const out = new Map<bigint, string>();
  for (const [k, v] of obj.map('lb4_sock_backend').entries() as Iterable<[Uint8Array, Uint8Array]>) {
    const val = SockBackend4.decode(v);
    out.set(BigInt(u64.decode(k)), `${val.address}:${val.port}`);
  }
  return out;
}

/** One decoded session-affinity entry. */
export interface AffinityRecord {
  readonly netnsCookie: bigint;
  readonly client: string;
  readonly revNatIndex: number;
  readonly lastUsed: bigint;
  readonly backendId: number;
  readonly slot: number;
}

/** Every entry of lb4_affinity (`family` 4) or lb6_affinity, decoded. */
export function dumpAffinity(obj: LoadedObject, family: 4 | 6 = 4): AffinityRecord[] {
  const Key = family === 4 ? AffinityKey4 : AffinityKey6;
  const out: AffinityRecord[] = [];
  for (const [k, v] of obj.map(family === 4 ? 'lb4_affinity' : 'lb6_affinity').entries() as Iterable<[Uint8Array, Uint8Array]>) {
    const key = Key.decode(k) as { netnsCookie: bigint | number; client: string; revNatIndex: number };
    const val = AffinityEntry.decode(v);
    out.push({ netnsCookie: BigInt(key.netnsCookie), client: key.client, revNatIndex: key.revNatIndex, lastUsed: BigInt(val.lastUsed), backendId: val.backendId, slot: val.slot });
  }
  return out;
}

/** Writes (replaces) the lb4_affinity entry of `r`'s key. */
export function writeAffinity4(obj: LoadedObject, r: AffinityRecord): void {
  const key = AffinityKey4.encode({ netnsCookie: r.netnsCookie, client: r.client, revNatIndex: r.revNatIndex });
  obj.map('lb4_affinity').set(raw(key), raw(AffinityEntry.encode({ lastUsed: r.lastUsed, backendId: r.backendId, slot: r.slot })));
}

/** Rewrites slot `slot` of `s` (an IPv4 service) to name `backendId`; with `count`, also the frontend's count. */
export function setSlot4(obj: LoadedObject, s: TestService, slot: number, backendId: number, count = s.backends.length): void {
  const proto = s.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
  const key = { address: s.address, port: s.port, backendSlot: 0, proto, scope: 0 };
  const flags = s.affinitySeconds !== undefined ? SERVICE_FLAG_AFFINITY : 0;
  const services = obj.map('lb4_services');
  services.set(raw(ServiceKey4.encode({ ...key, backendSlot: slot })), raw(ServiceEntry.encode({ backendId, count, revNatIndex: s.revNatIndex, flags, flags2: 0 })));
  services.set(raw(ServiceKey4.encode(key)), raw(ServiceEntry.encode({ backendId: s.affinitySeconds ?? 0, count, revNatIndex: s.revNatIndex, flags, flags2: 0 })));
}
