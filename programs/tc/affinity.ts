/**
 * Session affinity (Kubernetes `sessionAffinity: ClientIP`) for the tc
 * datapaths, written once for ClusterIP and NodePort and both families.
 *
 * A frontend flagged SERVICE_FLAG_AFFINITY holds its timeout in seconds in its
 * slot-0 `backendId`. At a new pick the client's entry in `lb*_affinity`
 * (netns cookie 0, the packet's source address, the frontend's revNatIndex)
 * names the slot to reuse while it is younger than the timeout, within
 * `1..count`, and that slot still names the entry's backend — so a backend
 * removed, drained or moved by the manager is never reused; otherwise the
 * caller picks as without affinity. Either way the pick is then recorded.
 * Without the flag all this costs two flag tests.
 */
import type { B, Int, Var } from '../../dsl/program/index.js';
import { u16 } from '../../dsl/types/index.js';
import { affinityReusable } from '../lb/affinity-rule.js';
import { AffinityEntry, SERVICE_FLAG_AFFINITY } from '../lb/schemas.js';
import { loose } from './nodeport-loose.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** One family's affinity table, its key schema and how an address is copied into the key. */
export interface AffinityTable {
  /** `affinity4` / `affinity6`. */
  readonly map: any;
  /** `AffinityKey4` / `AffinityKey6`. */
  readonly Key: any;
  /** Copies the client address (a packet or stack place) into the key's `client`. */
  copyAddr(dst: any, src: any): void;
}

/** The frontend a new pick is made from. */
export interface AffinityFrontend {
  /** The frontend entry's flags (of the scope the pick uses). */
  readonly flags: Int<'u8'>;
  /** The frontend entry's `backendId`: the timeout in seconds when flagged. */
  readonly timeout: Int<'u32'>;
  /** Number of backend slots. */
  readonly count: Int<'u16'>;
  readonly revNatIndex: Int<'u16'>;
  /** A stack copy of the frontend's services key (scope set); its `backendSlot` is overwritten. */
  readonly svcKey: any;
  /** The services table the slots are in. */
  readonly services: any;
}

function affinityKey(b: B, t: AffinityTable, client: any, revNatIndex: Int<'u16'>): any {
  const key = loose(b).local(t.Key, { revNatIndex });
  t.copyAddr(key.client, client);
  return key;
}

/**
 * The slot the client's affinity entry names, if the frontend is flagged and
 * the entry is still usable (see the file comment); 0 otherwise.
 */
export function affinitySlot(b: B, t: AffinityTable, f: AffinityFrontend, client: any): Var<'u16'> {
  const slot = b.let(u16, 0);
  b.if(f.flags.and(SERVICE_FLAG_AFFINITY).ne(0), () => {
    loose(b).lookup(t.map, affinityKey(b, t, client, f.revNatIndex)).ifPresent((e: any) => {
      b.if(affinityReusable(b.ktimeGetNs(), e.lastUsed.get(), e.slot.get(), f.timeout, f.count), () => {
        f.svcKey.backendSlot.set(e.slot);
        loose(b).lookup(f.services, f.svcKey).ifPresent((s: any) => b.if(s.backendId.eq(e.backendId), () => slot.set(e.slot)));
      });
    });
  });
  return slot;
}

/** Records the pick (`backendId` from `slot`, now) as the client's affinity when the frontend is flagged. */
export function affinityRecord(b: B, t: AffinityTable, f: AffinityFrontend, client: any, backendId: Int<'u32'>, slot: Int<'u16'>): void {
  b.if(f.flags.and(SERVICE_FLAG_AFFINITY).ne(0), () => {
    const entry = loose(b).local(AffinityEntry, { lastUsed: b.ktimeGetNs(), backendId, slot });
    loose(b).update(t.map, affinityKey(b, t, client, f.revNatIndex), entry, 'any');
  });
}
