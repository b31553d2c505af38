/**
 * Incremental checksum fix-ups done in the program (RFC 1624, eqn. 3:
 * HC' = ~(~HC + ~m + m')) with direct packet writes, so no packet-changing
 * helper runs and the parsed header pointers stay valid. Words are the
 * host-order values of network-order 16-bit fields; the one's-complement sum is
 * byte-order independent as long as the checksum field is read the same way.
 */
import type { B, Int, Var } from '../../dsl/program/index.js';
import { be16, u16, u32 } from '../../dsl/types/index.js';
import { fold16, word16 } from './nat-csum.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** A be16/be32/ipv6 place in the packet, a map value or the stack. */
export type AnyPlace = any;

/** The running sum of ~old + new over replaced 16-bit words. */
export class CsumDelta {
  private readonly acc: Var<'u32'>;

  constructor(private readonly b: B) {
    this.acc = b.let(u32, 0);
  }

  /** The sum so far. */
  get value(): Int<'u32'> {
    return this.acc;
  }

  /** Adds a 16-bit word (host-order value in 0..0xffff); `old` words are complemented. */
  word(w: Int<'u32'>, old: boolean): void {
    this.acc.set(this.acc.add(old ? w.xor(0xffff) : w));
  }

  /** Adds another running sum (of ~old + new words). */
  add(sum: Int<'u32'>): void {
    this.acc.set(this.acc.add(sum));
  }

  /** Adds the two halves of a be32 value (an IPv4 address or a be32 field). */
  word32(v: AnyPlace, old: boolean): void {
    const x: Int<'u32'> = v.to(u32);
    this.word(x.shr(16), old);
    this.word(x.and(0xffff), old);
  }

  /** Adds the eight groups of an IPv6 address view. */
  groups128(v: AnyPlace, old: boolean): void {
    for (let i = 0; i < 8; i++) this.word(v.half(i).to(u16).to(u32), old);
  }

  /** Adds a be16 port value. */
  port(v: AnyPlace, old: boolean): void {
    this.word(word16(v), old);
  }
}

/** Applies `delta` (sum of ~old + new words) to the checksum at `field` (TCP, IPv4 header). */
export function applyCsum(field: AnyPlace, delta: Int<'u32'>): void {
  const old = word16(field);
  field.set(fold16(old.xor(0xffff).add(delta)).xor(0xffff).to(u16).to(be16));
}

/**
 * Applies `delta` to a UDP checksum: 0 (no checksum, IPv4) stays 0, and a
 * result of 0 is written as 0xffff (RFC 768).
 */
export function applyUdpCsum(b: B, field: AnyPlace, delta: Int<'u32'>): void {
  const old = word16(field);
  b.if(old.ne(0), () => {
    const sum = fold16(old.xor(0xffff).add(delta)).xor(0xffff);
    b.if(sum.eq(0), () => field.set(0xffff), () => field.set(sum.to(u16).to(be16)));
  });
}
