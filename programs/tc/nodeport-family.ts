/**
 * What differs between IPv4 and IPv6 on the NodePort path, as one descriptor
 * per family: header parsing, the tables, address comparison and checksum
 * words, and the FIB parameters. The path itself (nodeport-forward.ts,
 * nodeport-reply.ts) is written once against this descriptor.
 */
import { FibLookup4, FibLookup6, type B, type Cond, type Int } from '../../dsl/program/index.js';
import { u16 } from '../../dsl/types/index.js';
import { affinity4, affinity6, backends4, backends6, revNat4, revNat6, services4, services6 } from '../lb/maps.js';
import { AffinityKey4, AffinityKey6, Backend4, Backend6, RevNat4, RevNat6, ServiceKey4, ServiceKey6 } from '../lb/schemas.js';
import type { AffinityTable } from './affinity.js';
import type { AnyPlace, CsumDelta } from './nodeport-csum.js';
import { ETH_P_IP, ETH_P_IPV6, L4_OFF4, L4_OFF6, NpIcmpError4, NpIcmpError6, NpIp4, NpIp6 } from './nodeport-headers.js';
import { isIcmp4Error, isIcmp6Error, PROTO_ICMP, PROTO_ICMPV6 } from './parse-headers.js';
import { localEndpoints4, localEndpoints6, npConfig4, npConfig6, npFlows4, npFlows6 } from './nodeport-maps.js';
import { NodeConfig4, NodeConfig6, NodePortFlow4, NodePortFlow6 } from './nodeport-schemas.js';
import { neigh4, neigh6 } from './neigh-maps.js';
import { snat4, snat6 } from './snat-maps.js';
import { SnatEntry4, SnatEntry6, SnatKey4, SnatKey6 } from './snat-schemas.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** The family's tables and schemas are typed loosely on purpose: one path serves two layouts. */
type AnyMap = any;
type Schema = any;

/** The parsed L3 header: the header view (saddr/daddr places) and the L4 protocol. */
export interface L3 {
  readonly ip: AnyPlace;
  readonly proto: Int<'u8'>;
}

/** One address family's schemas, tables and address operations. */
export interface NpFamily {
  readonly name: 'ipv4' | 'ipv6';
  readonly ethProto: number;
  /** Offset of the L4 header. */
  readonly l4Off: number;
  /** Whether the L3 header has its own checksum (IPv4). */
  readonly l3Csum: boolean;
  readonly ServiceKey: Schema;
  readonly Backend: Schema;
  readonly RevNat: Schema;
  readonly SnatKey: Schema;
  readonly SnatEntry: Schema;
  readonly Flow: Schema;
  readonly Config: Schema;
  readonly Fib: typeof FibLookup4 | typeof FibLookup6;
  readonly services: AnyMap;
  readonly backends: AnyMap;
  readonly revNat: AnyMap;
  readonly snat: AnyMap;
  readonly flows: AnyMap;
  readonly neigh: AnyMap;
  readonly endpoints: AnyMap;
  readonly config: AnyMap;
  /** The session-affinity table (client source address → last backend). */
  readonly affinity: AffinityTable;
  /** AF_INET / AF_INET6 for bpf_fib_lookup. */
  readonly af: number;
  /** Field names of the FIB source and destination. */
  readonly fibSrc: 'ipv4_src' | 'ipv6_src';
  readonly fibDst: 'ipv4_dst' | 'ipv6_dst';
  /** Parses the L3 header at 14 (returns TC_ACT_OK from the program when it is not one NodePort handles). */
  parseL3(b: B, ok: number): L3;
  /** The L3 length for bpf_fib_lookup's `tot_len` (host order). */
  totLen(ip: AnyPlace): Int<'u16'>;
  /** a == b for two address places. */
  eq(a: AnyPlace, b: AnyPlace): Cond;
  /** The address is all zeroes. */
  isZero(a: AnyPlace): Cond;
  /** dst = src for two address places, in 32-bit words (a plain copy moves an IPv6 address in packet memory byte by byte). */
  copyAddr(dst: AnyPlace, src: AnyPlace): void;
  /** Adds the address's 16-bit words to a checksum delta (complemented when `old`). */
  words(d: CsumDelta, a: AnyPlace, old: boolean): void;
  /** The header's TTL (IPv4) or hop limit (IPv6) place. */
  hops(ip: AnyPlace): AnyPlace;
  /** IPPROTO_ICMP / IPPROTO_ICMPV6. */
  readonly icmpProto: number;
  /** The ICMP error header plus the embedded L3 header and 8 bytes (at `l4Off`). */
  readonly IcmpError: Schema;
  /** The ICMP type is an error NodePort translates. */
  isIcmpError(type: Int<'u8'>): Cond;
  /** The embedded L3 header (of an `IcmpError` view) is one NodePort translates; its L4 protocol. */
  embeddedProto(b: B, ip: AnyPlace, ok: number): Int<'u8'>;
}

/** IPv4. */
export const family4: NpFamily = {
  name: 'ipv4', ethProto: ETH_P_IP, l4Off: L4_OFF4, l3Csum: true, af: 2, fibSrc: 'ipv4_src', fibDst: 'ipv4_dst',
  ServiceKey: ServiceKey4, Backend: Backend4, RevNat: RevNat4, SnatKey: SnatKey4, SnatEntry: SnatEntry4,
  Flow: NodePortFlow4, Config: NodeConfig4, Fib: FibLookup4,
  services: services4, backends: backends4, revNat: revNat4, snat: snat4, flows: npFlows4, neigh: neigh4,
  endpoints: localEndpoints4, config: npConfig4,
  affinity: { map: affinity4, Key: AffinityKey4, copyAddr: (dst, src) => dst.set(src) },
  parseL3(b, ok) {
    const ip = b.parse(NpIp4, 14).orReturn(ok);
    // Options or fragments would move or split the L4 header: leave those to the stack.
    b.if(ip.verIhl.ne(0x45), () => b.return(ok));
    b.if(ip.frag.and(0x3fff).ne(0), () => b.return(ok));
    return { ip, proto: ip.proto.get() };
  },
  totLen: (ip) => ip.totLen.to(u16),
  eq: (a, b) => a.eq(b),
  isZero: (a) => a.eq(0),
  copyAddr: (dst, src) => dst.set(src),
  words: (d, a, old) => d.word32(a, old),
  hops: (ip) => ip.ttl,
  icmpProto: PROTO_ICMP, IcmpError: NpIcmpError4,
  // Destination unreachable (fragmentation needed, port unreachable, …) and time exceeded.
  isIcmpError: isIcmp4Error,
  embeddedProto(b, ip, ok) {
    // Options would move the ports; a later fragment has none.
    b.if(ip.verIhl.ne(0x45), () => b.return(ok));
    b.if(ip.frag.and(0x1fff).ne(0), () => b.return(ok));
    return ip.proto.get();
  },
};

/** Copies an IPv6 address in 32-bit words (a plain copy moves one in packet memory byte by byte). */
function copyWords6(dst: any, src: any): void {
  for (let i = 0; i < 4; i++) dst.word(i).set(src.word(i));
}

/** IPv6. */
export const family6: NpFamily = {
  name: 'ipv6', ethProto: ETH_P_IPV6, l4Off: L4_OFF6, l3Csum: false, af: 10, fibSrc: 'ipv6_src', fibDst: 'ipv6_dst',
  ServiceKey: ServiceKey6, Backend: Backend6, RevNat: RevNat6, SnatKey: SnatKey6, SnatEntry: SnatEntry6,
  Flow: NodePortFlow6, Config: NodeConfig6, Fib: FibLookup6,
  services: services6, backends: backends6, revNat: revNat6, snat: snat6, flows: npFlows6, neigh: neigh6,
  endpoints: localEndpoints6, config: npConfig6,
  affinity: { map: affinity6, Key: AffinityKey6, copyAddr: copyWords6 },
  parseL3(b, ok) {
    const ip = b.parse(NpIp6, 14).orReturn(ok);
    return { ip, proto: ip.nexthdr.get() };
  },
  totLen: (ip) => ip.payloadLen.to(u16).add(40),
  eq: (a: any, b: any) => a.word(0).eq(b.word(0)).and(() => a.word(1).eq(b.word(1))).and(() => a.word(2).eq(b.word(2))).and(() => a.word(3).eq(b.word(3))),
  isZero: (a: any) => a.word(0).eq(0).and(() => a.word(1).eq(0)).and(() => a.word(2).eq(0)).and(() => a.word(3).eq(0)),
  copyAddr: copyWords6,
  words: (d, a, old) => d.groups128(a, old),
  hops: (ip) => ip.hopLimit,
  icmpProto: PROTO_ICMPV6, IcmpError: NpIcmpError6,
  isIcmpError: isIcmp6Error,
  embeddedProto: (_b, ip) => ip.nexthdr.get(),
};
