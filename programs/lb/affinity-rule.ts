/**
 * The session-affinity reuse rule shared by every datapath (programs/sock and
 * programs/tc): an affinity entry names a slot that may be reused while it is
 * younger than the frontend's timeout and the slot is still one of `1..count`.
 * The caller then checks that the slot still names the entry's backend (its own
 * services lookup), so a backend removed, drained or moved is never reused.
 */
import type { Cond, Int } from '../../dsl/program/index.js';
import { u64 } from '../../dsl/types/index.js';

const NS_PER_SECOND = 1_000_000_000;

/** Whether an entry last used at `lastUsed` (ns) naming `slot` may be reused at `now` (ns) by a frontend with `timeoutSeconds` and `count` slots. */
export function affinityReusable(now: Int<'u64'>, lastUsed: Int<'u64'>, slot: Int<'u16'>, timeoutSeconds: Int<'u32'>, count: Int<'u16'>): Cond {
  return now.sub(lastUsed).lt(timeoutSeconds.to(u64).mul(NS_PER_SECOND)).and(slot.ge(1)).and(slot.le(count));
}
