/**
 * Test packets for the NodePort path, built and checksummed from scratch here
 * (independently of the programs): Ethernet + IPv4 (no options) or IPv6 + TCP
 * or UDP. The expected output of a translation is built the same way with the
 * translated fields, so comparing bytes checks every field and both checksums.
 */
import { ipv6 } from '../../dsl/types/index.js';

/** One packet's fields. IPv6 when the addresses contain ':'. */
export interface PacketSpec {
  readonly smac: string;
  readonly dmac: string;
  readonly saddr: string;
  readonly daddr: string;
  readonly sport: number;
  readonly dport: number;
  /** 6 (TCP, default) or 17 (UDP). */
  readonly proto?: 6 | 17;
  readonly payload?: readonly number[];
  /** UDP only: send checksum 0 (no checksum, IPv4). */
  readonly noUdpCsum?: boolean;
  /** TCP flags (default SYN). */
  readonly tcpFlags?: number;
  /** IPv4 TTL / IPv6 hop limit (default {@link DEFAULT_TTL}). */
  readonly ttl?: number;
}

/** The TTL / hop limit of built packets. */
export const DEFAULT_TTL = 64;
/** The same after the node forwarded it once. */
export const FORWARDED_TTL = DEFAULT_TTL - 1;

/** `aa:bb:…` as bytes. */
export const macBytes = (m: string) => m.split(':').map((x) => parseInt(x, 16));
/** A dotted IPv4 address as bytes. */
export const v4Bytes = (a: string) => a.split('.').map(Number);

/** The one's-complement sum of the 16-bit words of `bytes[from, to)` (an odd last byte padded), plus `init`. */
export function sum16(bytes: Uint8Array, from: number, to: number, init = 0): number {
  let s = init;
  for (let k = from; k < to; k += 2) s += (bytes[k]! << 8) | (k + 1 < to ? bytes[k + 1]! : 0);
  return s;
}
/** Folds a sum to 16 bits and complements it: the checksum field's value. */
export function finish(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Builds the packet with correct IPv4 header and TCP/UDP checksums. */
export function packet(f: PacketSpec): Uint8Array {
  const v6 = f.saddr.includes(':');
  const proto = f.proto ?? 6;
  const payload = f.payload ?? [0x68, 0x69, 0x21];
  const l3 = v6 ? 40 : 20;
  const l4len = (proto === 6 ? 20 : 8) + payload.length;
  const p = new Uint8Array(14 + l3 + l4len);
  p.set(macBytes(f.dmac), 0);
  p.set(macBytes(f.smac), 6);
  const l4 = 14 + l3;
  if (v6) {
    p.set([0x86, 0xdd], 12);
    p.set([0x60, 0, 0, 0, l4len >> 8, l4len & 0xff, proto, f.ttl ?? DEFAULT_TTL], 14);
    p.set(ipv6.encode(f.saddr) as Uint8Array, 22);
    p.set(ipv6.encode(f.daddr) as Uint8Array, 38);
  } else {
    p.set([0x08, 0x00], 12);
    const tot = 20 + l4len;
    p.set([0x45, 0, tot >> 8, tot & 0xff, 0x12, 0x34, 0x40, 0, f.ttl ?? DEFAULT_TTL, proto, 0, 0], 14);
    p.set(v4Bytes(f.saddr), 26);
    p.set(v4Bytes(f.daddr), 30);
    const c = finish(sum16(p, 14, 34));
    p[24] = c >> 8;
    p[25] = c & 0xff;
  }
  p.set([f.sport >> 8, f.sport & 0xff, f.dport >> 8, f.dport & 0xff], l4);
  if (proto === 6) p.set([0, 0, 0, 1, 0, 0, 0, 0, 0x50, f.tcpFlags ?? 0x02, 0xfa, 0xf0, 0, 0, 0, 0], l4 + 4);
  else p.set([l4len >> 8, l4len & 0xff, 0, 0], l4 + 4);
  p.set(payload, l4 + (proto === 6 ? 20 : 8));
  const csumAt = l4 + (proto === 6 ? 16 : 6);
  if (proto === 17 && f.noUdpCsum) return p;
  const pseudo = v6 ? sum16(p, 22, 54) + l4len + proto : sum16(p, 26, 34) + proto + l4len;
  let c = finish(sum16(p, l4, p.length, pseudo));
  if (proto === 17 && c === 0) c = 0xffff;
  p[csumAt] = c >> 8;
  p[csumAt + 1] = c & 0xff;
  return p;
}

/** The tuple and MACs of a packet, for readable assertion messages. */
export function describePacket(p: Uint8Array): string {
  const hex = (a: Uint8Array) => [...a].map((x) => x.toString(16).padStart(2, '0')).join(':');
  const v6 = p[12] === 0x86 && p[13] === 0xdd;
  const l4 = v6 ? 54 : 34;
  const addr = (o: number) => (v6 ? (ipv6.decode(p.subarray(o, o + 16)) as string) : [...p.subarray(o, o + 4)].join('.'));
  const port = (o: number) => (p[o]! << 8) | p[o + 1]!;
  return `${hex(p.subarray(6, 12))} > ${hex(p.subarray(0, 6))} ${addr(v6 ? 22 : 26)}:${port(l4)} > ${addr(v6 ? 38 : 30)}:${port(l4 + 2)} ttl ${p[v6 ? 21 : 22]}`;
}
