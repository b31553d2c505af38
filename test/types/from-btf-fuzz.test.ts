/**
 * schemaFromBtf on arbitrary (mostly nonsensical) BTF graphs: it returns a
 * schema whose layout equals the BTF's, or throws SchemaError. Never another
 * error, a crash or a hang (cycles, dangling ids, huge sizes, bad bitfields).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Btf, type BtfType } from '../../dsl/btf/index.js';
import { SchemaError, schemaFromBtf, type Member } from '../../dsl/types/index.js';

const N = 8;
const ref = fc.integer({ min: 0, max: N + 1 });
const name = fc.constantFrom('', 'a', 'b', '__u32', '__be16', 'char', 'x');
const typeArb: fc.Arbitrary<BtfType> = fc.oneof(
  fc.record({
    kind: fc.constant('int' as const), name, size: fc.constantFrom(0, 1, 2, 3, 4, 8, 16),
    encoding: fc.constantFrom('unsigned' as const, 'signed' as const, 'char' as const, 'bool' as const),
    bits: fc.constantFrom(0, 1, 8, 16, 32, 64, 128), offset: fc.constantFrom(0, 0, 3),
  }),
  fc.record({ kind: fc.constantFrom('typedef' as const, 'const' as const, 'volatile' as const, 'ptr' as const), name, type: ref }),
  fc.record({ kind: fc.constant('array' as const), name: fc.constant(''), type: ref, indexType: ref, nelems: fc.constantFrom(0, 1, 3, 16, 2 ** 31) }),
  fc.record({
    kind: fc.constantFrom('struct' as const, 'union' as const), name, size: fc.constantFrom(0, 1, 4, 8, 12, 24, 2 ** 32 - 1),
    members: fc.array(
      fc.record({ name: fc.constantFrom('', 'm', 'n', 'o', 'p'), type: ref, bitOffset: fc.constantFrom(0, 3, 8, 32, 64, 96), bitfieldSize: fc.constantFrom(0, 0, 0, 1, 5, 40) }),
      { maxLength: 5 },
    ),
  }),
  fc.record({
    kind: fc.constantFrom('enum' as const), name, size: fc.constantFrom(1, 2, 3, 4), signed: fc.boolean(),
    values: fc.array(fc.record({ name: fc.constantFrom('A', 'B', 'C', '1x'), value: fc.integer({ min: -70000, max: 70000 }) }), { maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('float' as const), name, size: fc.constant(8) }),
);

describe('schemaFromBtf on arbitrary graphs', () => {
  it('returns a faithful schema or throws SchemaError', () => {
    fc.assert(
      fc.property(fc.array(typeArb, { minLength: N, maxLength: N }), ref, (types, id) => {
        const btf = new Btf(types);
        try {
          let s = schemaFromBtf(btf, id);
          while (s.kind === 'typedef') s = (s as unknown as { target: typeof s }).target;
          const t = btf.get(btf.resolve(id));
          if (t?.kind === 'struct' || t?.kind === 'union') {
            expect(s.size).toBe(t.size);
            const ours = (s as unknown as { members: readonly Member[] }).members
              .filter((m) => !m.name.startsWith('__tsbpf_pad'))
              .map((m) => [m.bitOffset, m.bitSize]);
            expect(ours).toEqual(t.members.map((m) => [m.bitOffset, m.bitfieldSize]));
          }
        } catch (e) {
          if (!(e instanceof SchemaError)) throw e;
        }
      }),
      { seed: 77, numRuns: 5000 },
    );
  });
});
