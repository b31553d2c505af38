/** Declaration-time misuse throws SchemaError at the builder call; frozen descriptions stay frozen. */
import { describe, expect, it } from 'vitest';
import {
  array, be16, bits, bool, enumType, fieldOf, ipv4, offsetof, pad, s8, SchemaError, struct, typedef, u16, u32, u64, u8,
  union, type AnySchema,
} from '../../dsl/types/index.js';

function schemaError(f: () => unknown): SchemaError {
  try {
    f();
  } catch (e) {
    if (e instanceof SchemaError) return e;
    throw e;
  }
  throw new Error('expected a SchemaError');
}

describe('declaration errors', () => {
  const cases: [string, () => unknown, string, RegExp][] = [
    ['struct name not an identifier', () => struct('lb4-key', { a: u8 }), 'SCHEMA_DEFINITION', /struct name must be a C identifier/],
    ['field name not an identifier', () => struct('k', { 'a.b': u8 }), 'SCHEMA_DEFINITION', /field of k name must be a C identifier/],
    ['field not a schema', () => struct('k', { a: 5 } as never), 'SCHEMA_DEFINITION', /^k\.a: field must be a schema/],
    ['fields not an object', () => struct('k', null as never), 'SCHEMA_DEFINITION', /fields must be an object/],
    ['packed not boolean', () => struct('k', { a: u8 }, { packed: 1 as never }), 'SCHEMA_DEFINITION', /packed must be a boolean/],
    ['bitfield too wide', () => bits(u8, 9), 'SCHEMA_DEFINITION', /bitfield width must be 1\.\.8/],
    ['bitfield of zero width', () => bits(u32, 0), 'SCHEMA_DEFINITION', /bitfield width/],
    ['bitfield of be16', () => bits(be16 as never, 3), 'SCHEMA_DEFINITION', /host-order integer/],
    ['array count negative', () => array(u8, -1), 'SCHEMA_DEFINITION', /array count/],
    ['array count fractional', () => array(u8, 1.5), 'SCHEMA_DEFINITION', /array count/],
    ['array of non-schema', () => array({} as never, 2), 'SCHEMA_DEFINITION', /array element must be a schema/],
    ['array of pad', () => array(pad(1), 2), 'SCHEMA_DEFINITION', /array of pad/],
    ['pad of zero', () => pad(0), 'SCHEMA_DEFINITION', /pad size/],
    ['typedef bad name', () => typedef('1x', u8), 'SCHEMA_DEFINITION', /typedef name/],
    ['typedef of non-schema', () => typedef('x', 3 as never), 'SCHEMA_DEFINITION', /typedef target/],
    ['enum value out of base range', () => enumType('e', { A: 256 }, u8), 'SCHEMA_DEFINITION', /^e\.A: expected an integer in 0\.\.255/],
    ['enum value not integer', () => enumType('e', { A: 1.5 }), 'SCHEMA_DEFINITION', /^e\.A:/],
    ['enum bad enumerator name', () => enumType('e', { 'a b': 1 }), 'SCHEMA_DEFINITION', /enumerator of e name/],
    ['enum base not an int', () => enumType('e', { A: 1 }, bool as never), 'SCHEMA_DEFINITION', /enum base must be an integer/],
  ];
  it.each(cases)('%s', (_n, f, code, message) => {
    const e = schemaError(f);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });
});

describe('value errors beyond structs', () => {
  const U = union('u', { a: u32, b: u16 });
  const E = enumType('dir', { IN: 0, OUT: 1 }, u8);
  const S = struct('s', { u: U, d: E, flags: bits(u8, 3), sf: bits(s8, 2), big: bits(u64, 40), arr: array(u8, 2) });
  const cases: [string, unknown, string, string, RegExp][] = [
    ['two union members', { u: { a: 1, b: 2 } }, 'SCHEMA_TYPE', 's.u', /at most one member, got a, b/],
    ['unknown enumerator', { d: 'SIDEWAYS' }, 'SCHEMA_RANGE', 's.d', /unknown enumerator "SIDEWAYS" of enum dir \(has IN, OUT\)/],
    ['enum number out of base range', { d: 300 }, 'SCHEMA_RANGE', 's.d', /0\.\.255/],
    ['bitfield too large', { flags: 8 }, 'SCHEMA_RANGE', 's.flags', /0\.\.7 for u8:3/],
    ['signed bitfield too small', { sf: -3 }, 'SCHEMA_RANGE', 's.sf', /-2\.\.1 for s8:2/],
    ['bitfield wrong type', { flags: true }, 'SCHEMA_TYPE', 's.flags', /expected a number/],
    ['64-bit bitfield too large', { big: 1n << 40n }, 'SCHEMA_RANGE', 's.big', /0\.\.1099511627775/],
    ['array not an array', { arr: 5 }, 'SCHEMA_TYPE', 's.arr', /expected an array/],
    ['array element wrong', { arr: [1, 256] }, 'SCHEMA_RANGE', 's.arr[1]', /0\.\.255/],
    ['null value', null, 'SCHEMA_TYPE', 's', /expected an object/],
    ['array as struct', [], 'SCHEMA_TYPE', 's', /expected an object/],
  ];
  it.each(cases)('%s', (_n, value, code, path, message) => {
    const e = schemaError(() => S.encode(value as never));
    expect([e.code, e.path]).toEqual([code, path]);
    expect(e.detail).toMatch(message);
  });

  it('scalar roots name themselves; unsafe or fractional 64-bit numbers are rejected', () => {
    expect(schemaError(() => u8.encode(256 as never)).message).toMatch(/^u8: expected an integer in 0\.\.255 for u8, got 256$/);
    expect(schemaError(() => u64.encode(2 ** 53)).code).toBe('SCHEMA_RANGE');
    expect(schemaError(() => u64.encode(-1)).code).toBe('SCHEMA_RANGE');
    expect(schemaError(() => u64.encode('1' as never)).code).toBe('SCHEMA_TYPE');
    expect(schemaError(() => ipv4.encode(true as never)).code).toBe('SCHEMA_TYPE');
    expect(schemaError(() => u32.encode(NaN)).code).toBe('SCHEMA_RANGE');
    expect(schemaError(() => u32.decode([0, 0, 0, 0] as never)).code).toBe('SCHEMA_TYPE');
    expect(schemaError(() => u32.encodeInto(new Uint8Array(8), 5)).code).toBe('SCHEMA_LENGTH');
    expect(schemaError(() => u32.encodeInto(new Uint8Array(8), -1)).code).toBe('SCHEMA_LENGTH');
    expect(schemaError(() => u32.decodeFrom(new Uint8Array(8), 1.5)).code).toBe('SCHEMA_LENGTH');
  });
});

describe('descriptions', () => {
  const Inner = struct('inner', { a: u8, b: typedef('port_t', be16) });
  const S = struct('s', { x: u32, in: Inner, list: array(Inner, 3), f: bits(u16, 4) });

  it('are frozen plain data that layers can walk', () => {
    const walk = (s: AnySchema): void => {
      expect(Object.isFrozen(s)).toBe(true);
      const d = s as unknown as { members?: { schema: AnySchema }[]; elem?: AnySchema; target?: AnySchema };
      d.members?.forEach((m) => {
        expect(Object.isFrozen(m)).toBe(true);
        walk(m.schema);
      });
      if (d.elem) walk(d.elem);
      if (d.target) walk(d.target);
    };
    walk(S);
    expect(Object.keys(S)).toEqual(['kind', 'name', 'size', 'align', 'fields', 'members', 'packed']);
    expect(Object.keys(u32)).toEqual(['kind', 'name', 'size', 'align', 'signed', 'bits', 'byteOrder', 'format']);
    expect(S.members.map((m) => [m.name, m.offset, m.bitOffset, m.bitSize])).toEqual([
      ['x', 0, 0, 0], ['in', 4, 32, 0], ['list', 8, 64, 0], ['f', 20, 160, 4],
    ]);
    expect(() => {
      (S as { size: number }).size = 1;
    }).toThrow(TypeError);
  });

  it('field paths resolve through typedefs and arrays; bad paths name where they stop', () => {
    expect(fieldOf(S, 'list[2].b')).toMatchObject({ offset: 8 + 2 * 4 + 2, bitSize: 0 });
    expect(fieldOf(S, 'f')).toMatchObject({ offset: 20, bitOffset: 160, bitSize: 4 });
    expect(offsetof(S, 'in.b')).toBe(6);
    expect(schemaError(() => offsetof(S, 'list[3].a' as never)).message).toMatch(/^s\.list: index 3 out of range \(length 3\)$/);
    expect(schemaError(() => offsetof(S, 'in.c' as never)).message).toMatch(/^s\.in\.c: no such field \(has a, b\)$/);
    expect(schemaError(() => offsetof(S, 'x.y' as never)).message).toMatch(/^s\.x: is not a struct or union \(kind int\)/);
    expect(schemaError(() => offsetof(S, 'f.y' as never)).message).toMatch(/bitfield/);
    expect(schemaError(() => offsetof(S, 'x[0]' as never)).message).toMatch(/not an array/);
    expect(schemaError(() => offsetof(S, '' as never)).code).toBe('SCHEMA_PATH');
    expect(schemaError(() => offsetof(S, 'in..a' as never)).code).toBe('SCHEMA_PATH');
  });
});
