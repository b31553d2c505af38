/**
 * Checks of the numbers and modes a map is created and updated with, before
 * any syscall: `bpf_attr` fields are u32, so a size of 2^32 + 4 would reach
 * the kernel as 4 and a fraction would be truncated, silently giving a map
 * other than the one asked for. Checked by meaning (sizes, entry count,
 * flags), whatever the spec calls its fields.
 */
import { LoaderError } from '../errors.js';
import { UpdateFlag } from '../sys/constants.js';

const U32_MAX = 0xffff_ffff;

/** Throws `LOADER_SPEC` unless `value` is an integer in 0 … 2^32 - 1. */
export function checkU32(what: string, field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > U32_MAX)
    throw new LoaderError('LOADER_SPEC', `${what}: ${field} must be an integer from 0 to ${U32_MAX}, got ${describe(value)}`);
}

function describe(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint' || v === undefined) return String(v);
  return typeof v === 'string' ? `the string ${JSON.stringify(v)}` : `${typeof v} ${JSON.stringify(v) ?? String(v)}`;
}

/** The u32 attributes of a map creation, by meaning. */
export interface MapCreateNumbers {
  readonly keySize: unknown;
  readonly valueSize: unknown;
  readonly maxEntries: unknown;
  readonly flags: unknown;
  readonly numaNode?: unknown;
  readonly ifindex?: unknown;
  /** `map_extra` is u64. */
  readonly mapExtra?: unknown;
}

/** Refuses sizes, entry counts and flags that are not u32 integers (`what` names the map). */
export function checkMapCreateNumbers(what: string, n: MapCreateNumbers): void {
  checkU32(what, 'key size', n.keySize);
  checkU32(what, 'value size', n.valueSize);
  checkU32(what, 'max entries', n.maxEntries);
  checkU32(what, 'map flags', n.flags);
  if (n.numaNode !== undefined) checkU32(what, 'NUMA node', n.numaNode);
  if (n.ifindex !== undefined) checkU32(what, 'ifindex', n.ifindex);
  if (n.mapExtra !== undefined) {
    const x = n.mapExtra;
    const ok = (typeof x === 'bigint' && x >= 0n && x < 1n << 64n) || (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0);
    if (!ok) throw new LoaderError('LOADER_SPEC', `${what}: map extra must be an integer from 0 to 2^64 - 1 (a bigint above 2^53), got ${describe(x)}`);
  }
}

const modes = { any: UpdateFlag.ANY, noexist: UpdateFlag.NOEXIST, exist: UpdateFlag.EXIST } as const;

/** BPF_MAP_UPDATE_ELEM flags of an update `mode` ('any' | 'noexist' | 'exist'); anything else is `LOADER_MODE`. */
export function updateFlags(mode: unknown, opts: { readonly lock?: boolean } = {}): number {
  if (typeof mode !== 'string' || !Object.hasOwn(modes, mode))
    throw new LoaderError('LOADER_MODE', `unknown update mode ${typeof mode === 'string' ? JSON.stringify(mode) : describe(mode)}: use 'any', 'noexist' or 'exist'`);
  return modes[mode as keyof typeof modes] | (opts.lock ? UpdateFlag.LOCK : 0);
}
