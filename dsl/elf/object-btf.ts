/**
 * Copying types between BTF graphs: the writer builds a fresh `.BTF` and pulls
 * in only the types the object's maps, globals and functions refer to.
 */
import type { Btf, BtfBuilder, BtfType, BtfTypeId } from '../btf/index.js';
import { ObjectError } from '../object/errors.js';

/**
 * Adds type `id` of `src` (and everything it refers to) to `builder`; returns the
 * new id. `memo` maps source ids to builder ids across calls. Structs and unions
 * are reserved before their members are imported, so self-referencing types work.
 */
export function importBtfType(builder: BtfBuilder, src: Btf, id: BtfTypeId, memo: Map<BtfTypeId, BtfTypeId>): BtfTypeId {
  if (id === 0) return 0;
  const known = memo.get(id);
  if (known !== undefined) return known;
  const t = src.get(id);
  if (!t) throw new ObjectError('OBJECT_INVALID', `BTF type id ${id} does not exist in the spec's btf`);
  const ref = (r: BtfTypeId): BtfTypeId => importBtfType(builder, src, r, memo);
  if (t.kind === 'struct' || t.kind === 'union') {
    const placeholder = builder.reserve();
    memo.set(id, placeholder);
    const members = t.members.map((m) => ({ ...m, type: ref(m.type) }));
    builder.define(placeholder, { ...t, members });
    return placeholder;
  }
  let copy: BtfType;
  switch (t.kind) {
    case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag':
    case 'func': case 'var': case 'decl_tag':
      copy = { ...t, type: ref(t.type) } as BtfType;
      break;
    case 'array':
      copy = { ...t, type: ref(t.type), indexType: ref(t.indexType) };
      break;
    case 'func_proto':
      copy = { ...t, returnType: ref(t.returnType), params: t.params.map((p) => ({ ...p, type: ref(p.type) })) };
      break;
    case 'datasec':
      copy = { ...t, vars: t.vars.map((v) => ({ ...v, type: ref(v.type) })) };
      break;
    default:
      copy = t;
  }
  // A pointer cycle may have imported this type meanwhile.
  const again = memo.get(id);
  if (again !== undefined) return again;
  const out = builder.add(copy);
  memo.set(id, out);
  return out;
}
