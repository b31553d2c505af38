/**
 * schemaFromBtf against the running kernel's own BTF: every struct and union in
 * /sys/kernel/btf/vmlinux becomes a schema with exactly the kernel's size and
 * member offsets (aligned attributes, unnamed bitfields, anonymous members,
 * packed types and all), or a typed error for what schemas cannot hold (128-bit
 * integers).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeBtf } from '../../dsl/btf/index.js';
import { SchemaError, schemaFromBtf, type AnySchema, type Member } from '../../dsl/types/index.js';
import { need } from '../support/env.js';

describe.skipIf(!need({ kernel: true }))('vmlinux BTF → schemas', () => {
  it('every struct/union maps to a schema with the kernel layout', () => {
    const btf = decodeBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
    const cache = new Map<number, AnySchema>();
    let mapped = 0;
    const unsupported: string[] = [];
    for (const { id, type } of btf.entries()) {
      if (type.kind !== 'struct' && type.kind !== 'union') continue;
      let schema: AnySchema;
      try {
        schema = schemaFromBtf(btf, id, cache);
      } catch (e) {
        expect(e, `${type.kind} ${type.name}`).toBeInstanceOf(SchemaError);
        expect((e as SchemaError).detail).toMatch(/128-bit integer/);
        unsupported.push(type.name);
        continue;
      }
      const label = `${type.kind} ${type.name || `#${id}`}`;
      expect(schema.size, label).toBe(type.size);
      const ours = (schema as unknown as { members: readonly Member[] }).members
        .filter((m) => !m.name.startsWith('__tsbpf_pad'))
        .map((m) => [m.bitOffset, m.bitSize]);
      const theirs = type.members.map((m) => [m.bitOffset, m.bitfieldSize]);
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) expect(ours, label).toEqual(theirs);
      mapped++;
    }
    expect(mapped).toBeGreaterThan(1000);
    expect(unsupported.length).toBeLessThan(mapped / 100);
    // Spot checks of well-known UAPI layouts.
    const iphdr = schemaFromBtf(btf, btf.lookup('iphdr', 'struct').id, cache);
    expect(iphdr.size).toBe(20);
    const sk = btf.lookup('__sk_buff', 'struct');
    expect(schemaFromBtf(btf, sk.id, cache).size).toBe(sk.type.size);
  });
});
