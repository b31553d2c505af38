/**
 * Whole-graph structural deduplication. The builder deduplicates as types are
 * added, which cannot merge two separately built recursive types (each cycle
 * starts from its own reserved id). This pass can: it computes which types are
 * indistinguishable — same kind and fields, referring to indistinguishable
 * types — by partition refinement (as in DFA minimisation), keeps the first of
 * each class and renumbers references.
 */
import { btfTypeKey, freezeType } from './builder.js';
import type { BtfSpec, BtfType, BtfTypeId } from './types.js';
import { typeReferences as references } from './references.js';

/** Result of {@link dedupBtf}: the smaller spec and where each old id went. */
export interface DedupResult {
  readonly spec: BtfSpec;
  /** New id of every old id (`map(old)`); base ids and 0 map to themselves. */
  readonly map: (id: BtfTypeId) => BtfTypeId;
  /** Number of types removed. */
  readonly removed: number;
}


/** `t` with every reference replaced through `f` (same order as {@link references}). */
function rewrite(t: BtfType, f: (id: BtfTypeId) => BtfTypeId): BtfType {
  switch (t.kind) {
    case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag': case 'func': case 'var': case 'decl_tag':
      return { ...t, type: f(t.type) };
    case 'array':
      return { ...t, type: f(t.type), indexType: f(t.indexType) };
    case 'struct': case 'union':
      return { ...t, members: t.members.map((m) => ({ ...m, type: f(m.type) })) };
    case 'func_proto':
      return { ...t, returnType: f(t.returnType), params: t.params.map((p) => ({ ...p, type: f(p.type) })) };
    case 'datasec':
      return { ...t, vars: t.vars.map((v) => ({ ...v, type: f(v.type) })) };
    default:
      return t;
  }
}

/** Merges structurally identical types (also cyclic ones) of `spec`. */
export function dedupBtf(spec: BtfSpec): DedupResult {
  const first = spec.firstId ?? 1;
  const n = spec.types.length;
  const refs = spec.types.map(references);
  // Class of a referenced id: own types by current class; void/base/unknown ids stand for themselves.
  let cls = new Int32Array(n);
  {
    const ids = new Map<string, number>();
    spec.types.forEach((t, i) => {
      const key = btfTypeKey(rewrite(t, () => 0));
      let c = ids.get(key);
      if (c === undefined) ids.set(key, (c = ids.size));
      cls[i] = c;
    });
  }
  const refClass = (c: Int32Array, id: number): string => (id >= first && id < first + n ? `c${c[id - first]}` : `i${id}`);
  let classes = new Set(cls).size;
  for (;;) {
    const next = new Int32Array(n);
    const ids = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const key = `${cls[i]}|${refs[i]!.map((r) => refClass(cls, r)).join(',')}`;
      let c = ids.get(key);
      if (c === undefined) ids.set(key, (c = ids.size));
      next[i] = c;
    }
    cls = next;
    if (ids.size === classes) break;
    classes = ids.size;
  }
  // Keep the first type of each class, in the original order.
  const repOf = new Map<number, number>();
  const newId = new Int32Array(n);
  const kept: number[] = [];
  for (let i = 0; i < n; i++) {
    const rep = repOf.get(cls[i]!);
    if (rep === undefined) {
      repOf.set(cls[i]!, kept.length);
      newId[i] = first + kept.length;
      kept.push(i);
    } else newId[i] = first + rep;
  }
  const map = (id: BtfTypeId): BtfTypeId => (id >= first && id < first + n ? newId[id - first]! : id);
  const types = kept.map((i) => freezeType(rewrite(spec.types[i]!, map)));
  const out: BtfSpec = {
    types: Object.freeze(types),
    firstId: first,
    ...(spec.strings ? { strings: spec.strings } : {}),
    ...(spec.firstStringOffset ? { firstStringOffset: spec.firstStringOffset } : {}),
  };
  return { spec: out, map, removed: n - kept.length };
}
