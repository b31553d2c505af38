/**
 * Kernel versions as `major.minor` strings ('4.19', '6.6'): parsing, comparison,
 * and the error type of this layer.
 */
import { TsbpfError } from '../errors.js';

/** Errors of the kernel-data layer (unknown profile name, malformed version, bad JSON…). */
export class KernelDataError extends TsbpfError {}

/** A mainline kernel version `major.minor`, e.g. `'5.10'`. */
export type KernelVersion = `${number}.${number}`;

/** A first-version fact, or `'unknown'` where it has not been established (never guessed). */
export type Since = KernelVersion | 'unknown';

/** Parses `'5.10'`, `'5.10.0-1-amd64'`, `'6.18.44-fc-v657'` into [major, minor]. */
export function parseKernelVersion(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(v.trim());
  if (!m) throw new KernelDataError('KERNEL_VERSION', `not a kernel version: '${v}' (expected major.minor, e.g. 5.10)`);
  return [Number(m[1]), Number(m[2])];
}

/** Normalises a release string to `major.minor`. */
export function kernelVersion(v: string): KernelVersion {
  const [a, b] = parseKernelVersion(v);
  return `${a}.${b}`;
}

/** Compares two versions: negative if a < b, 0 if equal, positive if a > b. */
export function compareKernelVersions(a: string, b: string): number {
  const [a1, a2] = parseKernelVersion(a);
  const [b1, b2] = parseKernelVersion(b);
  return a1 !== b1 ? a1 - b1 : a2 - b2;
}

/** True when kernel `v` is at least `since`; `'unknown'` is never satisfied by a version alone. */
export function atLeast(v: string, since: Since): boolean {
  return since !== 'unknown' && compareKernelVersions(v, since) >= 0;
}

/** The later of two versions. */
export function maxVersion(a: KernelVersion, b: KernelVersion): KernelVersion {
  return compareKernelVersions(a, b) >= 0 ? a : b;
}
