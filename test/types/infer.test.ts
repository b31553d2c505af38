/**
 * Type-level tests: `tsc` (npm run typecheck) checks this file. Each
 * `@ts-expect-error` line must be an error, or tsc fails with "unused directive";
 * `Equal` assertions fail to compile if an inferred type drifts.
 */
import { describe, expect, it } from 'vitest';
import {
  array, be16, be64, bits, bool, enumType, fieldOf, ipv4, ipv6, mac, offsetof, pad, s32, struct, typedef, u16, u32,
  u64, u8, union, schemaNode,
  type FieldAt, type FieldPath, type Infer, type InferInput, type IntSchema,
} from '../../dsl/types/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

const Lb4Key = struct('lb4_key', {
  address: ipv4, dport: be16, backend_slot: u16, proto: u8, scope: u8, _pad: pad(2),
});
const Entry = struct('entry', {
  key: Lb4Key,
  packets: u64,
  flags: bits(u16, 3),
  closing: bool,
  v6: ipv6,
  hw: mac,
  slots: array(struct('slot', { id: u32, weight: s32 }), 4),
  dir: enumType('dir', { IN: 0, OUT: 1 }),
  alias: typedef('cookie_t', be64),
  u: union('u', { a: u32, b: array(u8, 4) }),
});

describe('inferred host types', () => {
  it('struct values: numbers for ≤32-bit ints, bigint for 64-bit, text for addresses; padding omitted', () => {
    type Key = Infer<typeof Lb4Key>;
    assertType<Equal<Key, { address: string; dport: number; backend_slot: number; proto: number; scope: number }>>(true);
    type E = Infer<typeof Entry>;
    assertType<Equal<E['packets'], bigint>>(true);
    assertType<Equal<E['flags'], number>>(true);
    assertType<Equal<E['closing'], boolean>>(true);
    assertType<Equal<E['v6'], string>>(true);
    assertType<Equal<E['hw'], string>>(true);
    assertType<Equal<E['slots'], { id: number; weight: number }[]>>(true);
    assertType<Equal<E['dir'], number>>(true);
    assertType<Equal<E['alias'], bigint>>(true);
    assertType<Equal<E['u'], { a: number; b: number[] }>>(true);
    const decoded = Entry.decode(Entry.encode({}));
    expect(typeof decoded.packets).toBe('bigint');
  });

  it('encode inputs: partial, wider (addresses as text or number, 64-bit as bigint or number, enum names)', () => {
    type KeyIn = InferInput<typeof Lb4Key>;
    assertType<Equal<KeyIn['address'], string | number | undefined>>(true);
    type EIn = InferInput<typeof Entry>;
    assertType<Equal<EIn['packets'], bigint | number | undefined>>(true);
    assertType<Equal<EIn['dir'], 'IN' | 'OUT' | number | undefined>>(true);
    Entry.encode({ key: { address: '10.0.0.1', dport: 80 }, packets: 5, dir: 'OUT', v6: 'fd00::1', hw: [1, 2, 3, 4, 5, 6] });
    Lb4Key.encode({ address: 0x0a000001 });
    expect(Lb4Key.size).toBe(12);
  });

  it('rejects misuse at compile time', () => {
    // Each statement throws at run time too; the point is that tsc rejects it.
    const attempts: (() => unknown)[] = [
      // @ts-expect-error unknown field name in encode input
      () => Lb4Key.encode({ adress: '10.0.0.1' }),
      // @ts-expect-error wrong value type: be16 takes a number
      () => Lb4Key.encode({ dport: '80' }),
      // @ts-expect-error padding fields take no value
      () => Lb4Key.encode({ _pad: 0 }),
      // @ts-expect-error nested unknown field
      () => Entry.encode({ key: { port: 1 } }),
      // @ts-expect-error bool takes a boolean
      () => Entry.encode({ closing: 1 }),
      // @ts-expect-error not an enumerator name
      () => Entry.encode({ dir: 'SIDEWAYS' }),
      // @ts-expect-error 32-bit ints take numbers, not bigints
      () => u32.encode(1n),
      // @ts-expect-error unknown path
      () => offsetof(Entry, 'key.adress'),
      // @ts-expect-error an array needs an index before a member
      () => offsetof(Entry, 'slots.id'),
    ];
    for (const attempt of attempts) expect(attempt).toThrow();
  });

  it('field access by name and path is typed', () => {
    type F = (typeof Lb4Key)['fields'];
    assertType<Equal<F['dport'], IntSchema<'be16'>>>(true);
    assertType<Equal<F['address'], typeof ipv4>>(true);
    assertType<Equal<FieldAt<typeof Entry, 'key.dport'>, IntSchema<'be16'>>>(true);
    assertType<Equal<FieldAt<typeof Entry, 'slots[2].weight'>, IntSchema<'s32'>>>(true);
    type P = FieldPath<typeof Lb4Key>;
    assertType<Equal<P, 'address' | 'dport' | 'backend_slot' | 'proto' | 'scope' | '_pad'>>(true);
    const f = fieldOf(Entry, 'slots[2].weight');
    assertType<Equal<typeof f.schema, IntSchema<'s32'>>>(true);
    expect(f.schema).toBe(s32);
    expect(offsetof(Entry, 'key.dport')).toBe(4);
    const Grid = struct('grid', { g: array(array(u32, 3), 2) });
    assertType<Equal<FieldAt<typeof Grid, 'g[1][2]'>, IntSchema<'u32'>>>(true);
    expect(offsetof(Grid, 'g[1][2]')).toBe(20);
    // @ts-expect-error too many indexes
    expect(() => offsetof(Grid, 'g[1][2][0]')).toThrow(/not an array/);
    // u16 and be16 are different types, so the DSL can refuse to mix byte orders.
    assertType<Equal<typeof u16 extends typeof be16 ? true : false, false>>(true);
  });
});

describe('schemaNode narrows by kind', () => {
  it('gives kind-specific facts without casts', () => {
    const describeShape = (s: Parameters<typeof schemaNode>[0]): string => {
      const n = schemaNode(s);
      switch (n.kind) {
        case 'int':
          return `${n.name}/${n.byteOrder}`;
        case 'array':
          return `${describeShape(n.elem)}[${n.count}]`;
        case 'struct':
        case 'union':
          return `${n.kind} ${n.name}{${n.members.map((m) => `${m.name}@${m.offset}:${describeShape(m.schema)}`).join(',')}}`;
        case 'enum':
          return `enum ${n.name}:${n.base.name}`;
        case 'typedef':
          return `${n.name}=${describeShape(n.target)}`;
        case 'bool':
        case 'pad':
          return n.kind;
      }
    };
    expect(describeShape(Lb4Key)).toBe(
      'struct lb4_key{address@0:ipv4/big,dport@4:be16/big,backend_slot@6:u16/little,proto@8:u8/little,scope@9:u8/little,_pad@10:pad}',
    );
  });
});
