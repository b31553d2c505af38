/** Sizes and alignment of a {@link TypeSpec}, and the map-type number of a map definition. */
import type { Btf } from '../btf/index.js';
import { BpfMapType } from '../kernel/index.js';
import { ObjectError } from './errors.js';
import { isBtfTypeRef, type MapDefinition, type TypeSpec } from './spec.js';

/** Size in bytes of `t` (BTF references are sized in `btf`). */
export function typeSize(t: TypeSpec, btf: Btf | undefined, what: string): number {
  if (typeof t === 'number') {
    if (!Number.isInteger(t) || t <= 0 || t > 0xffffffff) throw new ObjectError('OBJECT_INVALID', `${what}: size ${t} is not a positive u32`);
    return t;
  }
  if (isBtfTypeRef(t)) {
    if (!btf) throw new ObjectError('OBJECT_INVALID', `${what}: refers to BTF type ${t.btfType} but the spec has no btf`);
    return btf.sizeOf(t.btfType);
  }
  return t.size;
}

/** Alignment of `t`: the schema's, else the largest power of two dividing its size, capped at 8. */
export function typeAlign(t: TypeSpec, btf: Btf | undefined, what: string): number {
  if (typeof t === 'object' && !isBtfTypeRef(t)) return t.align;
  const size = typeSize(t, btf, what);
  let a = 1;
  while (a < 8 && size % (a * 2) === 0) a *= 2;
  return a;
}

/** Numeric map type of a definition; ObjectError for unknown names. */
export function mapTypeNumber(def: MapDefinition, what: string): number {
  if (typeof def.type === 'number') {
    if (!Number.isInteger(def.type) || def.type < 0 || def.type > 0xffffffff) throw new ObjectError('OBJECT_INVALID', `${what}: map type ${def.type} is not a u32`);
    return def.type;
  }
  const n = (BpfMapType as Readonly<Record<string, number>>)[def.type];
  if (n === undefined) throw new ObjectError('OBJECT_INVALID', `${what}: unknown map type '${String(def.type)}'`);
  return n;
}
