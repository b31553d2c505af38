/** Reading back what a test pinned: every map under a pin directory, as comparable text. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap } from '../../loader/maps/index.js';

const hex = (b: unknown) => Buffer.from(b as Uint8Array).toString('hex');

/** Every entry of every map pinned directly in `dir`, as sorted `key=value` hex lines: what "unchanged" is checked against. */
export function dumpPinnedMaps(dir: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) continue;
    using map = BpfMap.fromPin(path);
    out[name] = [...map.entries()].map(([k, v]) => `${hex(k)}=${hex(v)}`).sort();
  }
  return out;
}
