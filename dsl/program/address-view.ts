/**
 * Views of the byte-array address schemas (`ipv6`, `mac`): besides the bytes
 * (`at(i)`, a u8 place) they give their network-order 16-bit groups (`half(i)`, a
 * be16 place) and, for IPv6, 32-bit words (`word(i)`, a be32 place — what keys and
 * `user_ip6` hold), readable and writable wherever the memory is.
 */
import { callerLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import { be16, be32 } from '../types/index.js';
import type { AnySchema } from '../types/index.js';
import type { PtrCore } from './pointer.js';

/** Address format of a schema (`ipv6` / `mac`), if it is one. */
export function addressFormat(schema: AnySchema): 'ipv6' | 'mac' | undefined {
  const f = (schema as { format?: unknown }).format;
  return f === 'ipv6' || f === 'mac' ? f : undefined;
}

/** Adds `half` (and `word` for IPv6) to the array view `out` of an address. */
export function addAddressAccessors(out: object, core: PtrCore, fmt: 'ipv6' | 'mac', label: string, view: (core: PtrCore, label: string) => unknown): void {
  const part = (what: 'half' | 'word', width: 2 | 4) => (i: number) => {
    const src = callerLocation();
    const count = core.schema.size / width;
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new DslError('DSL_INDEX', `${label}.${what}(${i}): index out of bounds (${fmt} has ${count} ${what}s)`, src);
    const off = core.off + i * width;
    // The verifier demands aligned stack accesses; r10 is 8-aligned, so the offset decides.
    if (core.base === 'fp' && off % width !== 0)
      throw new DslError('DSL_ALIGN', `${label}.${what}(${i}) is not ${width}-byte aligned on the stack (offset ${off}); align the address field or use at()`, src);
    return view({ ...core, schema: width === 2 ? be16 : be32, off }, `${label}.${what}(${i})`);
  };
  Object.defineProperty(out, 'format', { value: fmt, enumerable: false });
  Object.defineProperty(out, 'half', { value: part('half', 2), enumerable: false });
  if (fmt === 'ipv6') Object.defineProperty(out, 'word', { value: part('word', 4), enumerable: false });
}
