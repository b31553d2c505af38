/**
 * Dropping a packet with its reason counted in the per-CPU drop-reason array,
 * so an operator (and the tests) can see why traffic was refused.
 */
import type { B } from '../../dsl/program/index.js';
import { dropReasons } from './conntrack-maps.js';

/** TC_ACT_OK: let the packet continue. */
export const TC_ACT_OK = 0;
/** TC_ACT_SHOT: drop the packet. */
export const TC_ACT_SHOT = 2;
/** TC_ACT_REDIRECT: what `bpf_redirect` returns on success. */
export const TC_ACT_REDIRECT = 7;

/** Counts a drop of reason `reason` (a DROP_* constant) and returns TC_ACT_SHOT from the program. */
export function dropWith(b: B, reason: number): void {
  b.lookup(dropReasons, reason).ifPresent((n) => n.set(n.add(1)));
  b.return(TC_ACT_SHOT);
}
