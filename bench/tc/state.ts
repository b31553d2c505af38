/**
 * A flow's map entries as comparable text: the raw value bytes of given keys,
 * with the clock-dependent bytes (timestamps, lifetimes) zeroed, so two sides
 * that ran the same packets at slightly different times compare equal.
 */
import type { LoadedObject } from '../../loader/object/index.js';

/** One entry to read: map name, encoded key, byte ranges [from, to) of the value to zero. */
export interface StateEntry {
  readonly map: string;
  readonly key: Uint8Array;
  readonly clock?: readonly (readonly [number, number])[];
}

/** The entries' masked values in hex ('-' for absent), one per line. */
export function readState(obj: LoadedObject, entries: readonly StateEntry[]): string {
  return entries.map((e) => {
    const v = obj.map(e.map).get(e.key) as Uint8Array | undefined;
    if (v === undefined) return `${e.map} -`;
    const copy = Uint8Array.from(v);
    for (const [from, to] of e.clock ?? []) copy.fill(0, from, to);
    return `${e.map} ${Buffer.from(copy).toString('hex')}`;
  }).join('\n');
}

/** Deletes the entries' keys. */
export function clearState(obj: LoadedObject, entries: readonly StateEntry[]): void {
  for (const e of entries) obj.map(e.map).delete(e.key);
}
