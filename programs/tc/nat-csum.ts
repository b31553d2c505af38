/**
 * Incremental Internet checksum arithmetic done in BPF code (RFC 1624,
 * HC' = ~(~HC + ~m + m')): the words and the fold, shared by the two users that
 * cannot use the kernel's csum helpers — the ClusterIP translation of an ICMP
 * error's embedded packet (its IP and UDP checksums are plain payload bytes) and
 * NodePort (nodeport-csum.ts: no packet-changing helper across tail-call cuts).
 */
import type { Int, Value, View } from '../../dsl/program/index.js';
import { be16, type ipv4, type ipv6, u16, u32 } from '../../dsl/types/index.js';
import type { AddrView, Family } from './parse-family.js';

/** The 16-bit words of an address of family F as host-order u32 values. */
export function addrWords(F: Family, a: AddrView): Int<'u32'>[] {
  if (!F.v6) {
    const v = (a as View<typeof ipv4, 'stack'>).get().to(u32);
    return [v.shr(16), v.and(0xffff)];
  }
  return Array.from({ length: 8 }, (_, i) => (a as View<typeof ipv6, 'stack'>).half(i).to(u16).to(u32));
}

/** A be16 field as a host-order u32 word. */
export function word16(v: Value<'be16'>): Int<'u32'> {
  return v.to(u16).to(u32);
}

/** One's-complement fold of a sum below 2^24 to 16 bits. */
export function fold16(x: Int<'u32'>): Int<'u32'> {
  const once = x.and(0xffff).add(x.shr(16));
  return once.and(0xffff).add(once.shr(16));
}

/**
 * The checksum `check` after the 16-bit words `from` were replaced by `to`
 * (host-order u32 words, same count), as a be16.
 */
export function csumReplaced(check: Value<'be16'>, from: readonly Int<'u32'>[], to: readonly Int<'u32'>[]): Value<'be16'> {
  let acc = word16(check).xor(0xffff);
  from.forEach((f, i) => {
    acc = acc.add(f.xor(0xffff)).add(to[i]!);
  });
  return fold16(acc).xor(0xffff).and(0xffff).to(u16).to(be16);
}
