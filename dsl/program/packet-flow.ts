/**
 * Flow-sensitive packet-pointer validity. A helper that may move packet data
 * starts a new packet generation; a pointer from an older generation is refused
 * at its use (DSL_PACKET_INVALIDATED). Branches follow control flow like the
 * verifier does: an arm that always returns never reaches the code after the
 * branch, so a helper inside it does not invalidate pointers there; arms that
 * fall through merge (any change in one of them invalidates afterwards). A loop
 * body that changes the packet makes pointers from outside the loop stale on the
 * next iteration, so their uses in the body are refused too.
 */
import type { SourceLocation } from '../isa/index.js';
import { DslError, formatLocation } from '../ir/errors.js';
import type { Node } from '../ir/index.js';
import type { Recorder, Scope } from './recorder.js';

/** The packet generation at one point of the body. */
interface PacketState {
  readonly epoch: number;
  readonly by: string | undefined;
}

const stateOf = (rec: Recorder): PacketState => ({ epoch: rec.packetEpoch, by: rec.packetInvalidatedBy });
function restore(rec: Recorder, s: PacketState): void {
  rec.packetEpoch = s.epoch;
  rec.packetInvalidatedBy = s.by;
}

/** Starts a new packet generation (a packet-changing helper was called; `by` says which, where). */
export function invalidatePacket(rec: Recorder, by: string): void {
  rec.packetEpoch = ++rec.packetGenerations;
  rec.packetInvalidatedBy = by;
}

/** Whether control can leave the end of `nodes` (only `return` ends a path; break/continue still reach later code). */
export function fallsThrough(nodes: readonly Node[]): boolean {
  for (const n of nodes) {
    if (n.op === 'return') return false;
    if (n.op === 'if' && !fallsThrough(n.then) && !fallsThrough(n.else)) return false;
  }
  return true;
}

/**
 * Records the arms of a branch (each in its own scope, all starting from the
 * packet state before the branch) and leaves the merged state of the arms that
 * fall through. A missing arm records nothing (and falls through).
 */
export function recordArms(rec: Recorder, arms: readonly ((() => void) | undefined)[]): Node[][] {
  const start = stateOf(rec);
  const ends: PacketState[] = [];
  const out = arms.map((arm) => {
    restore(rec, start);
    const nodes = arm ? rec.block(arm) : [];
    if (fallsThrough(nodes)) ends.push(stateOf(rec));
    return nodes;
  });
  const changed = ends.filter((e) => e.epoch !== start.epoch);
  if (changed.length === 0) restore(rec, start);
  else if (ends.every((e) => e.epoch === changed[0]!.epoch)) restore(rec, changed[0]!);
  else invalidatePacket(rec, changed[0]!.by ?? 'a helper');
  return out;
}

/** A use of a packet pointer (recorded by checkPacket) while a loop body is being recorded. */
export interface PacketUse {
  readonly epoch: number | undefined;
  readonly scope: Scope | undefined;
  readonly src: SourceLocation | undefined;
}

function inside(scope: Scope | undefined, outer: Scope): boolean {
  for (let s = scope; s; s = s.parent) if (s === outer) return true;
  return false;
}

/**
 * Records a loop body (through `record`, which runs `body` in the loop's scope).
 * When the body may change the packet on a path that reaches the next iteration,
 * a use in the body of a packet pointer made before the loop is a build error.
 */
export function recordLoopBody<T>(rec: Recorder, record: (body: () => void) => T, body: () => void): T {
  const start = rec.packetEpoch;
  const outerUses = rec.packetUses;
  const uses: PacketUse[] = [];
  rec.packetUses = uses;
  let bodyScope: Scope | undefined;
  let out: T;
  try {
    out = record(() => {
      bodyScope = rec.scope;
      body();
    });
  } finally {
    rec.packetUses = outerUses;
  }
  outerUses?.push(...uses);
  if (rec.packetEpoch !== start && bodyScope) {
    const stale = uses.find((u) => u.epoch === start && !inside(u.scope, bodyScope!));
    if (stale)
      throw new DslError(
        'DSL_PACKET_INVALIDATED',
        `packet pointer from before the loop is used in a loop body in which ${rec.packetInvalidatedBy ?? 'a helper'} changes the packet: the next iteration would use it after the change; parse() inside the loop (used at ${formatLocation(stale.src)})`,
        stale.src,
      );
  }
  return out;
}
