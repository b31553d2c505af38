/**
 * SNAT port allocation. Candidates: the original source port when it is in
 * range, then SNAT_HASHED_TRIES - 1 ports each derived from the previous one by
 * a golden-ratio multiply, then random ports. A candidate is claimed by
 * inserting the reverse entry with BPF_NOEXIST (the insert is the atomic "is it
 * free?"), then the forward entry, also NOEXIST; if that second insert fails
 * the reverse entry is deleted again (rollback). The search is one `b.loop`: a
 * real bounded loop on kernels that verify them (5.3+), unrolled before that,
 * from this same source. Every allocation is counted in the retry histogram.
 */
import type { B, Int } from '../../dsl/program/index.js';
import { be16, u16, u32 } from '../../dsl/types/index.js';
import { snatRetries } from './snat-maps.js';
import { SNAT_GOLDEN, SNAT_HASHED_TRIES, SNAT_HIST_FAILED, SNAT_HIST_ROLLBACK, SNAT_TRIES } from './snat-schemas.js';
import { loose } from './nodeport-loose.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** What an allocation writes: both keys and both entries on the stack; the port fields are filled in per candidate. */
export interface SnatClaim {
  readonly map: any;
  /** Forward key (complete). */
  readonly fwdKey: any;
  /** Forward entry; its `port` gets the candidate. */
  readonly fwdEntry: any;
  /** Reverse key; its `dport` gets the candidate. */
  readonly revKey: any;
  /** Reverse entry (complete). */
  readonly revEntry: any;
  /** The original source port (host order, 0..65535). */
  readonly origPort: Int<'u32'>;
  /** Inclusive port range (host order). */
  readonly min: Int<'u32'>;
  readonly max: Int<'u32'>;
  /** A u32 on the stack for the histogram key. */
  readonly idx: any;
}

/** Outcome of an allocation. */
export const SnatResult = { FAILED: 0, OK: 1, ROLLED_BACK: 2 } as const;

/** Next hashed candidate: min + ((prev × φ) >> 16) mod span. */
function hashed(prev: Int<'u32'>, min: Int<'u32'>, span: Int<'u32'>): Int<'u32'> {
  return prev.mul(SNAT_GOLDEN).shr(16).mod(span).add(min);
}

function count(b: B, idx: any, bucket: Int<'u32'> | number): void {
  idx.set(bucket);
  b.lookup(snatRetries, idx).ifPresent((n) => n.atomicAdd(1));
}

/**
 * Emits the search. Returns the outcome (`SnatResult`) and the claimed port
 * (host order; meaningful when the outcome is OK).
 */
export function allocateSnatPort(b: B, c: SnatClaim): { result: Int<'u32'>; port: Int<'u32'> } {
  const span = c.max.sub(c.min).add(1);
  const port = b.let(u32, c.origPort);
  b.if(c.origPort.lt(c.min).or(c.origPort.gt(c.max)), () => port.set(hashed(c.origPort, c.min, span)));
  const result = b.let(u32, SnatResult.FAILED);
  b.loop(SNAT_TRIES, (i) => {
    const p16 = port.to(u16).to(be16);
    c.revKey.dport.set(p16);
    c.fwdEntry.port.set(p16);
    b.if(loose(b).update(c.map, c.revKey, c.revEntry, 'noexist').eq(0), () => {
      b.if(
        loose(b).update(c.map, c.fwdKey, c.fwdEntry, 'noexist').eq(0),
        () => {
          result.set(SnatResult.OK);
          count(b, c.idx, i);
        },
        () => {
          loose(b).delete(c.map, c.revKey);
          result.set(SnatResult.ROLLED_BACK);
          count(b, c.idx, SNAT_HIST_ROLLBACK);
        },
      );
      b.break();
    });
    b.if(i.lt(SNAT_HASHED_TRIES - 1), () => port.set(hashed(port, c.min, span)), () => port.set(b.prandom().mod(span).add(c.min)));
  });
  b.if(result.eq(SnatResult.FAILED), () => count(b, c.idx, SNAT_HIST_FAILED));
  return { result, port };
}
