/**
 * What differs between IPv4 and IPv6 in the tc datapath, as one build-time
 * description per family: header offsets, the conntrack and service tables, the
 * address schema and how addresses compare. The datapath code is written once
 * against a `Family` and emitted for both.
 *
 * Views of addresses are typed loosely here (`AddrView`): an IPv4 address is a
 * be32 place, an IPv6 address a 16-byte view; both copy with `.set(other)`.
 */
import type { B, Cond, Int, MapDef, Ptr, Region, View } from '../../dsl/program/index.js';
import { ipv4, ipv6, type AnySchema } from '../../dsl/types/index.js';
import { affinity4, affinity6, backends4, backends6, revNat4, revNat6, services4, services6 } from '../lb/maps.js';
import { AffinityKey4, AffinityKey6, Backend4, Backend6, RevNat4, RevNat6, ServiceKey4, ServiceKey6 } from '../lb/schemas.js';
import type { AffinityTable } from './affinity.js';
import { ct4, ct6 } from './conntrack-maps.js';
import { CtEntry, CtKey4, CtKey6 } from './conntrack-schemas.js';
import {
  ETH_HLEN, ETH_P_IP, ETH_P_IPV6, isIcmp4Error, isIcmp6Error,
  IPV4_HLEN, IPV6_HLEN, PROTO_ICMP, PROTO_ICMPV6,
} from './parse-headers.js';

/** An address of either family in memory: a be32 place (IPv4) or a 16-byte view (IPv6). */
export type AddrView = View<typeof ipv4, Region> | View<typeof ipv6, Region>;
/** A conntrack key of either family on the stack. */
export type CtKeyView = Ptr<typeof CtKey4, 'stack'> | Ptr<typeof CtKey6, 'stack'>;
/** A conntrack entry in its map or on the stack. */
export type CtEntryView = Ptr<typeof CtEntry, 'map_value'> | Ptr<typeof CtEntry, 'stack'>;
/** The conntrack map of either family. */
export type CtMapDef = typeof ct4 | typeof ct6;
/**
 * A view of a family-dependent struct (service key, backend, reverse-NAT
 * entry, embedded header) in code written once for both families; the schema
 * comes from the `Family`, so the view is typed loosely.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FamilyView = any;
/** A family-dependent map (services, backends, reverse NAT). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FamilyMap = MapDef<any, any, 'hash'>;

/** Build-time description of one address family. */
export interface Family {
  readonly name: 'ipv4' | 'ipv6';
  readonly v6: boolean;
  /** EtherType. */
  readonly ethProto: number;
  /** Address size in bytes. */
  readonly addrSize: 4 | 16;
  /** Offsets in the packet (Ethernet at 0). */
  readonly saddrOff: number;
  readonly daddrOff: number;
  /** IPv4 header checksum offset; undefined for IPv6 (no header checksum). */
  readonly ipCsumOff: number | undefined;
  /** Where the L4 header starts (no IPv4 options, no IPv6 extension headers). */
  readonly l4Off: number;
  /** IP header length. */
  readonly ipHlen: number;
  /** ICMP protocol number of the family. */
  readonly icmpProto: number;
  /** Whether an ICMP type is one of the errors translated through NAT. */
  isIcmpError(type: Int<'u8'>): Cond;
  /** Address schema (ipv4 / ipv6). */
  readonly addr: AnySchema;
  readonly ctKey: AnySchema;
  readonly serviceKey: AnySchema;
  readonly backend: AnySchema;
  readonly revNat: AnySchema;
  readonly ctMap: CtMapDef;
  readonly servicesMap: FamilyMap;
  readonly backendsMap: FamilyMap;
  readonly revNatMap: FamilyMap;
  /** The session-affinity table (client source address → last backend). */
  readonly affinity: AffinityTable;
  /**
   * Source address a hairpin flow (a pod reaching its own service and picked as
   * its backend) is rewritten to, so the pod accepts the packet from "someone else".
   */
  readonly loopback: string;
  /** Copies address `src` into `dst`. */
  copyAddr(dst: AddrView, src: AddrView): void;
  /** Whether two addresses are equal. */
  addrEq(b: B, x: AddrView, y: AddrView): Cond;
  /** A stack local holding the constant address `text`. */
  addrConst(b: B, text: string): AddrView;
}

type V4 = View<typeof ipv4, 'stack'>;
type V6 = View<typeof ipv6, 'stack'>;

/** Dotted-quad text → host-order number. */
function ipv4Number(text: string): number {
  const parts = text.split('.').map(Number);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** Hairpin source address for IPv4 (link-local, never a pod's). */
export const HAIRPIN_IPV4 = '169.254.42.1';
/** Hairpin source address for IPv6. */
export const HAIRPIN_IPV6 = 'fd00::a9fe:2a01';

/** IPv4. */
export const IPV4: Family = Object.freeze({
  name: 'ipv4',
  v6: false,
  ethProto: ETH_P_IP,
  addrSize: 4,
  saddrOff: ETH_HLEN + 12,
  daddrOff: ETH_HLEN + 16,
  ipCsumOff: ETH_HLEN + 10,
  l4Off: ETH_HLEN + IPV4_HLEN,
  ipHlen: IPV4_HLEN,
  icmpProto: PROTO_ICMP,
  isIcmpError: isIcmp4Error,
  addr: ipv4,
  ctKey: CtKey4,
  serviceKey: ServiceKey4,
  backend: Backend4,
  revNat: RevNat4,
  ctMap: ct4,
  servicesMap: services4,
  backendsMap: backends4,
  revNatMap: revNat4,
  affinity: { map: affinity4, Key: AffinityKey4, copyAddr: (dst: AddrView, src: AddrView) => (dst as V4).set(src as V4) },
  loopback: HAIRPIN_IPV4,
  copyAddr: (dst: AddrView, src: AddrView) => (dst as V4).set(src as V4),
  addrEq: (_b: B, x: AddrView, y: AddrView) => (x as V4).eq(y as V4),
  addrConst: (b: B, text: string) => b.local(ipv4, ipv4Number(text)),
});

/** IPv6. */
export const IPV6: Family = Object.freeze({
  name: 'ipv6',
  v6: true,
  ethProto: ETH_P_IPV6,
  addrSize: 16,
  saddrOff: ETH_HLEN + 8,
  daddrOff: ETH_HLEN + 24,
  ipCsumOff: undefined,
  l4Off: ETH_HLEN + IPV6_HLEN,
  ipHlen: IPV6_HLEN,
  icmpProto: PROTO_ICMPV6,
  isIcmpError: isIcmp6Error,
  addr: ipv6,
  ctKey: CtKey6,
  serviceKey: ServiceKey6,
  backend: Backend6,
  revNat: RevNat6,
  ctMap: ct6,
  servicesMap: services6,
  backendsMap: backends6,
  revNatMap: revNat6,
  affinity: { map: affinity6, Key: AffinityKey6, copyAddr: (dst: AddrView, src: AddrView) => (dst as V6).set(src as V6) },
  loopback: HAIRPIN_IPV6,
  copyAddr: (dst: AddrView, src: AddrView) => (dst as V6).set(src as V6),
  addrEq: (_b: B, a: AddrView, c: AddrView) => {
    const [x, y] = [a as V6, c as V6];
    return x.word(0).eq(y.word(0)).and(() => x.word(1).eq(y.word(1))).and(() => x.word(2).eq(y.word(2))).and(() => x.word(3).eq(y.word(3)));
  },
  addrConst: (b: B, text: string) => b.local(ipv6, text),
});

/** Both families, IPv4 first. */
export const FAMILIES: readonly Family[] = [IPV4, IPV6];
