import { describe, expect, it } from 'vitest';
import { BtfBuilder, decodeBtf, dedupBtf, encodeBtf, formatBtfRaw } from '../../dsl/btf/index.js';
import type { BtfTypeId } from '../../dsl/btf/index.js';
import { everyKind } from './every-kind.js';

/** Adds `struct list { struct list *next; int v; }` through reserve/define. */
function addList(b: BtfBuilder, int: BtfTypeId): BtfTypeId {
  const id = b.reserve();
  const p = b.ptr(id);
  return b.define(id, {
    kind: 'struct', name: 'list', size: 16,
    members: [{ name: 'next', type: p, bitOffset: 0, bitfieldSize: 0 }, { name: 'v', type: int, bitOffset: 64, bitfieldSize: 0 }],
  });
}

describe('dedupBtf (whole graph, cycles included)', () => {
  it('merges two separately built recursive structs and the types using them', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, 'signed');
    const l1 = addList(b, int);
    const l2 = addList(b, int);
    expect(l2).not.toBe(l1); // the builder cannot see through the reserved ids
    const h1 = b.struct('holder', 8, [{ name: 'head', type: b.ptr(l1), offset: 0 }]);
    const h2 = b.struct('holder', 8, [{ name: 'head', type: b.ptr(l2), offset: 0 }]);
    const g = b.build();
    const { spec, map, removed } = dedupBtf(g);
    expect(removed).toBe(3); // the second list, its self-pointer and the second holder
    expect(map(l2)).toBe(map(l1));
    expect(map(h2)).toBe(map(h1));
    const back = decodeBtf(encodeBtf(spec));
    const list = back.lookup('list', 'struct');
    expect(back.get(list.type.members[0]!.type)).toEqual({ kind: 'ptr', name: '', type: list.id });
    expect(back.idsByName('list')).toHaveLength(1);
    expect(back.idsByName('holder')).toHaveLength(1);
  });

  it('keeps types that differ anywhere in their reachable graph', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, 'signed');
    const uint = b.int('unsigned int', 4);
    const l1 = addList(b, int);
    const l2 = addList(b, uint); // same shape, different member type
    const { map, removed } = dedupBtf(b.build());
    expect(removed).toBe(0);
    expect(map(l1)).not.toBe(map(l2));
  });

  it('is the identity on already deduplicated BTF (every kind)', () => {
    const g = everyKind().build();
    const { spec, removed } = dedupBtf(g);
    expect(removed).toBe(0);
    expect(formatBtfRaw(decodeBtf(encodeBtf(spec)))).toBe(formatBtfRaw(decodeBtf(encodeBtf(g))));
  });

  it('merges duplicates in a decoded blob and rewrites every reference', () => {
    // a raw spec with duplicated INT/PTR/ARRAY/FUNC_PROTO chains (as two compilation units would give)
    const types = [
      { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 },
      { kind: 'ptr', name: '', type: 1 },
      { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 },
      { kind: 'ptr', name: '', type: 3 },
      { kind: 'func_proto', name: '', returnType: 3, params: [{ name: 'p', type: 4 }] },
      { kind: 'func_proto', name: '', returnType: 1, params: [{ name: 'p', type: 2 }] },
      { kind: 'func', name: 'f', type: 6, linkage: 'global' },
      { kind: 'func', name: 'g', type: 5, linkage: 'global' },
    ] as const;
    const { spec, removed, map } = dedupBtf({ types });
    expect(removed).toBe(3);
    const back = decodeBtf(encodeBtf(spec));
    expect(back.types.map((t) => t.kind)).toEqual(['int', 'ptr', 'func_proto', 'func', 'func']);
    expect(map(8)).toBe(5);
    expect(back.get(5)).toEqual({ kind: 'func', name: 'g', type: 3, linkage: 'global' });
  });
});
