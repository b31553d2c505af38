/** Which types a BTF type points at: the walk order shared by dedup and the C printer. */
import type { BtfType, BtfTypeId } from './types.js';

/** Ids referenced by `t`, in a fixed order. */
export function typeReferences(t: BtfType): BtfTypeId[] {
  switch (t.kind) {
    case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag': case 'func': case 'var': case 'decl_tag':
      return [t.type];
    case 'array':
      return [t.type, t.indexType];
    case 'struct': case 'union':
      return t.members.map((m) => m.type);
    case 'func_proto':
      return [t.returnType, ...t.params.map((p) => p.type)];
    case 'datasec':
      return t.vars.map((v) => v.type);
    default:
      return [];
  }
}
