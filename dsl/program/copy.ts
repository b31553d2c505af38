/**
 * Whole-object copies: `dst.set(src)` for struct, union, array and address views.
 * The bytes are moved with the widest loads/stores both addresses are known to be
 * aligned for (8, 4, 2, then 1 bytes), like clang's inline memcpy: a stack address
 * is `r10 + off` (r10 is 8-aligned), a map value or context starts 8-aligned, a
 * packet header pointer is assumed aligned to its header's own alignment.
 */
import { callerLocation } from '../isa/index.js';
import { DslError } from '../ir/errors.js';
import type { AccessSize } from '../ir/index.js';
import { checkPacket, coreOf, type PtrCore } from './pointer.js';

/** Largest power of two (at most 8) dividing `n` (8 for 0). */
const alignOf = (n: number): number => {
  const a = Math.abs(n);
  for (const w of [8, 4, 2]) if (a % w === 0) return w;
  return 1;
};

/** Alignment known for the address `core.base + core.off`. */
function addressAlign(core: PtrCore, rootAlign: number): number {
  const base = core.base === 'fp' || core.region !== 'packet' ? 8 : Math.min(8, rootAlign);
  return Math.min(base, alignOf(core.off));
}

/** Copies all bytes of `src` (a view of an object of the same size) into the object `dst` points to. */
export function copyInto(dst: PtrCore, src: unknown, label: string, rootAlign: number): void {
  const where = callerLocation();
  const s = coreOf(src);
  if (!s) throw new DslError('DSL_TYPE', `${label}.set(): expected a ${dst.schema.name || dst.schema.kind} view to copy from (a local, map value, packet header or field of one)`, where);
  if (dst.region === 'rodata') throw new DslError('DSL_READ_ONLY', `${label} is read-only`, where);
  // Context arrays (user_ip6…) copy as a whole, in their element width; other context memory field by field.
  if ((dst.region === 'ctx' && !dst.ctxAccess) || (s.region === 'ctx' && !s.ctxAccess)) throw new DslError('DSL_CTX', `${label}.set(): context fields are copied one field at a time`, where);
  if (dst.ctxAccess && !dst.ctxAccess.write) throw new DslError('DSL_CTX', `${label} is not writable in this hook`, where);
  if (s.ctxAccess && !s.ctxAccess.read) throw new DslError('DSL_CTX', `${label}.set(): ${s.schema.name} is not readable in this hook`, where);
  if (s.rec !== dst.rec) throw new DslError('DSL_SCOPE', `${label}.set(): the source belongs to another program or function`, where);
  if (s.schema.size !== dst.schema.size)
    throw new DslError('DSL_TYPE', `${label}.set(): cannot copy ${s.schema.size} bytes of ${s.schema.name || s.schema.kind} into ${dst.schema.size} bytes of ${dst.schema.name || dst.schema.kind}`, where);
  const rec = dst.rec;
  for (const c of [dst, s]) {
    if (typeof c.base === 'number') rec.checkScope(c.scope, c.src, 'pointer');
    checkPacket(c);
  }
  let align = Math.min(addressAlign(dst, dst.schema.align), addressAlign(s, s.schema.align));
  // The verifier checks context accesses field by field: exactly the element width.
  for (const c of [dst, s]) if (c.ctxAccess) align = Math.min(align, c.schema.align);
  const size = dst.schema.size;
  for (let k = 0; k < size; ) {
    let w = Math.min(align, 8);
    while (w > size - k || k % w !== 0) w /= 2;
    const t = rec.vreg();
    rec.emit({ op: 'load', dst: t, base: s.base, off: s.off + k, size: w as AccessSize });
    rec.emit({ op: 'store', base: dst.base, off: dst.off + k, size: w as AccessSize, value: t });
    k += w;
  }
}
