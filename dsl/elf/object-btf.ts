/**
 * Copying types between BTF graphs: the writer builds a fresh `.BTF` and pulls
 * in only the types the object's maps, globals and functions refer to.
 */
import { assertGraphAcyclic, BtfError, type Btf, type BtfBuilder, type BtfType, type BtfTypeId } from '../btf/index.js';
import { ObjectError } from '../object/errors.js';

/**
 * Adds type `id` of `src` (and everything it refers to) to `builder`; returns the
 * new id. `memo` maps source ids to builder ids across calls. Structs and unions
 * are reserved before their members are imported, so self-referencing types work.
 * The walk keeps its own stack, so reference chains of any depth are fine; a
 * cyclic graph (which `decodeBtf` refuses, but a hand-built `Btf` may have)
 * is a `BTF_CYCLE` error.
 */
export function importBtfType(builder: BtfBuilder, src: Btf, id: BtfTypeId, memo: Map<BtfTypeId, BtfTypeId>): BtfTypeId {
  const known = id === 0 ? 0 : memo.get(id);
  if (known !== undefined) return known;
  assertGraphAcyclic(src);
  const stack: ImportStep[] = [importSteps(builder, src, id, memo)];
  let result: BtfTypeId = 0;
  for (;;) {
    const r = stack[stack.length - 1]!.next(result);
    if (r.done) {
      stack.pop();
      result = r.value;
      if (stack.length === 0) return result;
    } else {
      // Re-entering a type through a pointer happens at most once per struct on the way; more means a loop.
      if (stack.length > 2 * src.nextId + 2) throw new BtfError('BTF_CYCLE', `BTF type id ${r.value} is part of a reference loop`);
      stack.push(importSteps(builder, src, r.value, memo));
      result = 0;
    }
  }
}

/** Importing one type: yields the ids it refers to and receives their new ids. */
type ImportStep = Generator<BtfTypeId, BtfTypeId, BtfTypeId>;

function* importSteps(builder: BtfBuilder, src: Btf, id: BtfTypeId, memo: Map<BtfTypeId, BtfTypeId>): ImportStep {
  if (id === 0) return 0;
  const known = memo.get(id);
  if (known !== undefined) return known;
  const t = src.get(id);
  if (!t) throw new ObjectError('OBJECT_INVALID', `BTF type id ${id} does not exist in the spec's btf`);
  if (t.kind === 'struct' || t.kind === 'union') {
    const placeholder = builder.reserve();
    memo.set(id, placeholder);
    const members = [];
    for (const m of t.members) members.push({ ...m, type: yield m.type });
    builder.define(placeholder, { ...t, members });
    return placeholder;
  }
  let copy: BtfType;
  switch (t.kind) {
    case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag':
    case 'func': case 'var': case 'decl_tag':
      copy = { ...t, type: yield t.type } as BtfType;
      break;
    case 'array': {
      const type = yield t.type;
      copy = { ...t, type, indexType: yield t.indexType };
      break;
    }
    case 'func_proto': {
      const returnType = yield t.returnType;
      const params = [];
      for (const p of t.params) params.push({ ...p, type: yield p.type });
      copy = { ...t, returnType, params };
      break;
    }
    case 'datasec': {
      const vars = [];
      for (const v of t.vars) vars.push({ ...v, type: yield v.type });
      copy = { ...t, vars };
      break;
    }
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
