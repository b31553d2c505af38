/**
 * Assertions shared by the NodePort packet tests: whole-packet equality with a
 * readable tuple in the message, and the SNAT candidate sequence computed in
 * TypeScript (the reference the allocator must follow).
 */
import { expect } from 'vitest';
import { SNAT_GOLDEN } from '../../programs/tc/snat-schemas.js';
import { describePacket } from './nodeport-packets.js';

/** `got` equals `want` byte for byte (both checksums included). */
export function expectPacket(got: Uint8Array, want: Uint8Array, what: string): void {
  expect(describePacket(got.subarray(0, want.length)), what).toBe(describePacket(want));
  expect(got.length, `${what}: length`).toBe(want.length);
  expect([...got], `${what}: bytes`).toEqual([...want]);
}

/** The allocator's next hashed candidate after `prev` in [min, max]. */
export function hashedPort(prev: number, min: number, max: number): number {
  const span = max - min + 1;
  return min + ((Math.imul(prev, SNAT_GOLDEN) >>> 0) >>> 16) % span;
}
