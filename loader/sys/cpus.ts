/** Number of possible CPUs: how many values a per-CPU map holds per key. */
import { readFileSync } from 'node:fs';

/** Parses a kernel CPU list such as `0-3,8-11` into the count of CPUs. */
export function parseCpuList(text: string): number {
  let n = 0;
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map((x) => Number.parseInt(x, 10));
    if (a === undefined || Number.isNaN(a)) throw new Error(`bad CPU list '${text.trim()}'`);
    n += b === undefined ? 1 : b - a + 1;
  }
  return n;
}

let cached: number | undefined;

/**
 * Count of possible CPUs (/sys/devices/system/cpu/possible), not online ones:
 * the kernel copies one value per possible CPU, in CPU order, for per-CPU maps.
 */
export function possibleCpus(): number {
  cached ??= parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
  return cached;
}
