/**
 * Session affinity (Kubernetes `sessionAffinity: ClientIP`) in the socket LB: a
 * client — named by its network namespace, since at connect time no source
 * address is chosen and a pod is one namespace — keeps the backend slot it was
 * last given while the service's timeout has not run out since that use. Only
 * services whose frontend entry carries SERVICE_FLAG_AFFINITY are affected; their
 * frontend entry's `backendId` is the timeout in seconds.
 */
import type { B, Nullable, Place, Ptr, Value } from '../../dsl/program/index.js';
import { u16, u64 } from '../../dsl/types/index.js';
import { affinityReusable } from '../lb/affinity-rule.js';
import { affinity4, affinity6 } from '../lb/maps.js';
import { AffinityKey4, AffinityKey6, SERVICE_FLAG_AFFINITY, type ServiceEntry } from '../lb/schemas.js';

type Entry = Ptr<typeof ServiceEntry, 'map_value'>;

/** The affinity steps of one translation (see {@link sessionAffinity}). */
export interface Affinity {
  /**
   * Sets `slotKey` (the `backendSlot` of the service key that `slotEntry` looks
   * up) to the slot for a new pick from the frontend entry `svc`. With the
   * affinity flag: this client's remembered slot if its entry is younger than
   * the timeout, the slot is within `1..count` and still names the remembered
   * backend; otherwise, and without the flag, `fallback()`.
   */
  pick(svc: Entry, slotKey: Place<'u16', 'stack'>, slotEntry: () => Nullable<Entry>, fallback: () => Value<'u16'>): void;
  /** After a successful pick from a frontend with the flag: this client → (`slot`, `backendId`), now. */
  remember(slot: Value<'u16'>, backendId: Value<'u32'>): void;
}

/**
 * The affinity steps for the IPv4 (`family` 4, also IPv4-mapped destinations of
 * IPv6 sockets) or IPv6 tables, for a sock_addr program whose context is `ctx`.
 * Declares its key and clock at the caller's scope (call it before the attempt
 * loop): a frontend without the flag costs the flag test, not the lookups.
 */
export function sessionAffinity(b: B, ctx: object, family: 4 | 6): Affinity {
  // Zeroed: `client` stays 0 (the socket LB names clients by namespace only).
  const key = family === 4 ? b.local(AffinityKey4) : b.local(AffinityKey6);
  // Time of the pick; 0 until a frontend with the flag was seen (remember() keys on it).
  const now = b.let(u64, 0);
  const key4 = key as Ptr<typeof AffinityKey4, 'stack'>;
  const key6 = key as Ptr<typeof AffinityKey6, 'stack'>;
  return {
    pick(svc, slotKey, slotEntry, fallback) {
      const slot = b.let(u16, 0);
      b.if(svc.flags.and(SERVICE_FLAG_AFFINITY).ne(0), () => {
        key.netnsCookie.set(b.helper('get_netns_cookie', ctx));
        key.revNatIndex.set(svc.revNatIndex);
        now.set(b.ktimeGetNs());
        (family === 4 ? b.lookup(affinity4, key4) : b.lookup(affinity6, key6)).ifPresent((last) => {
          const mine = last.slot.get();
          b.if(affinityReusable(now, last.lastUsed.get(), mine, svc.backendId.get(), svc.count.get()), () => {
            slotKey.set(mine);
            // A backend removed, drained or moved leaves its slot naming another id (or no slot at all).
            slotEntry().ifPresent((s) => b.if(s.backendId.eq(last.backendId), () => slot.set(mine)));
          });
        });
      });
      b.if(slot.eq(0), () => slot.set(fallback()));
      slotKey.set(slot);
    },
    remember(slot, backendId) {
      b.if(now.ne(0), () => {
        const entry = { lastUsed: now, backendId, slot };
        if (family === 4) b.update(affinity4, key4, entry);
        else b.update(affinity6, key6, entry);
      });
    },
  };
}
