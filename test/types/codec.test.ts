import { describe, expect, it } from 'vitest';
import {
  array, be16, be32, be64, bool, cstring, enumType, ipv4, ipv6, mac, pad, s16, s32, s64, s8, SchemaError, struct, typedef,
  u16, u32, u64, u8, union, bits,
} from '../../dsl/types/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('integer codecs', () => {
  // [schema, value, expected bytes as hex] — bytes written by hand from the C byte order.
  const cases: [string, { encode(v: never): Uint8Array; decode(b: Uint8Array): unknown }, unknown, string][] = [
    ['u8', u8, 0xab, 'ab'],
    ['s8', s8, -2, 'fe'],
    ['u16', u16, 0x1234, '3412'],
    ['be16', be16, 0x1234, '1234'],
    ['s16', s16, -32768, '0080'],
    ['u32', u32, 0xdeadbeef, 'efbeadde'],
    ['be32', be32, 0xdeadbeef, 'deadbeef'],
    ['s32', s32, -1, 'ffffffff'],
    ['u64', u64, 0x0102030405060708n, '0807060504030201'],
    ['be64', be64, 0x0102030405060708n, '0102030405060708'],
    ['s64', s64, -2n, 'feffffffffffffff'],
    ['bool', bool, true, '01'],
    ['ipv4', ipv4, '10.96.0.10', '0a60000a'],
    ['ipv6', ipv6, '2001:db8::1', '20010db8000000000000000000000001'],
    ['mac', mac, 'aa:bb:cc:dd:ee:0f', 'aabbccddee0f'],
  ];
  it.each(cases)('%s encodes and decodes', (_n, schema, value, bytes) => {
    const encoded = schema.encode(value as never);
    expect(hex(encoded)).toBe(bytes);
    expect(schema.decode(encoded)).toEqual(value);
  });

  it('64-bit ints accept safe numbers, including negative ones', () => {
    expect(hex(u64.encode(2 ** 40 + 5))).toBe('0500000000010000');
    expect(hex(s64.encode(-(2 ** 40)))).toBe('0000000000ffffff');
    expect(s64.decode(s64.encode(-(2 ** 40)))).toBe(-(2n ** 40n));
  });

  it('ipv4 takes a number and renders text', () => {
    expect(ipv4.decode(ipv4.encode(0x0a60000a))).toBe('10.96.0.10');
  });
});

describe('struct layout and codec', () => {
  const Lb4Key = struct('lb4_key', {
    address: ipv4, dport: be16, backend_slot: u16, proto: u8, scope: u8, _pad: pad(2),
  });

  it('lays out lb4_key in 12 bytes and encodes partial objects with zeros', () => {
    expect(Lb4Key.size).toBe(12);
    expect(hex(Lb4Key.encode({ address: '10.96.0.10', dport: 80, proto: 6 }))).toBe('0a60000a0050000006000000');
    expect(Lb4Key.decode(Lb4Key.encode({}))).toEqual({ address: '0.0.0.0', dport: 0, backend_slot: 0, proto: 0, scope: 0 });
  });

  it('encodeInto zeroes its range and returns the end offset', () => {
    const buf = new Uint8Array(20).fill(0xff);
    expect(Lb4Key.encodeInto(buf, 4, { dport: 0x1f90 })).toBe(16);
    expect(hex(buf)).toBe('ffffffff' + '000000001f90000000000000' + 'ffffffff');
    expect(Lb4Key.decodeFrom(buf, 4)).toMatchObject({ dport: 8080 });
  });

  it('nested structs, arrays, unions, enums and typedefs round-trip', () => {
    const Dir = enumType('ct_dir', { OUT: 0, IN: 1, SERVICE: 4 }, u8);
    const Inner = struct('inner', { a: u8, b: typedef('myu64', u64) });
    const U = union('u', { x: u32, y: array(u8, 4) });
    const S = struct('s', { dir: Dir, inner: Inner, list: array(Inner, 2), u: U, flag: bool });
    const v = S.encode({ dir: 'SERVICE', inner: { a: 1, b: 2n }, list: [undefined, { a: 3 }], u: { x: 0x04030201 }, flag: true });
    const out = S.decode(v);
    expect(out.dir).toBe(4);
    expect(out.inner).toEqual({ a: 1, b: 2n });
    expect(out.list).toEqual([{ a: 0, b: 0n }, { a: 3, b: 0n }]);
    expect(out.u).toEqual({ x: 0x04030201, y: [1, 2, 3, 4] });
    expect(out.flag).toBe(true);
  });

  it('bitfields pack into their storage unit (little-endian bit order)', () => {
    const S = struct('bf', { a: bits(u8, 3), b: bits(u8, 5), c: bits(s32, 4) });
    expect(S.size).toBe(4);
    const e = S.encode({ a: 5, b: 17, c: -2 });
    expect(hex(e)).toBe('8d0e0000'); // a=101, b=10001 → 0b10001101; c=-2 (1110) at bit 8
    expect(S.decode(e)).toEqual({ a: 5, b: 17, c: -2 });
  });
});

describe('cstring', () => {
  const Name = cstring(8);
  it('encodes text NUL-terminated and decodes up to the first NUL', () => {
    expect(hex(Name.encode('lb4'))).toBe('6c62340000000000');
    expect(Name.decode(Name.encode('seven77'))).toBe('seven77');
    expect(Name.decode(Uint8Array.from([104, 105, 0, 120, 0, 0, 0, 0]))).toBe('hi');
    expect(Name.decode(new Uint8Array(8).fill(97))).toBe('aaaaaaaa');
    expect(Name.decode(Name.encode('é'))).toBe('é');
    expect(hex(Name.encode([1, 2]))).toBe('0102000000000000');
  });
  it('rejects text that leaves no room for the NUL, and embedded NULs', () => {
    expect(() => Name.encode('eight888')).toThrow(/8 bytes does not fit char\[8\] with its NUL/);
    expect(() => Name.encode('a\0b')).toThrow(/NUL/);
    expect(() => Name.encode([256])).toThrow(SchemaError);
  });
});

describe('errors name the field', () => {
  const Key = struct('lb4_key', { address: ipv4, dport: be16, slots: array(struct('slot', { id: u32 }), 2) });
  const cases: [string, unknown, string, string][] = [
    ['out of range', { dport: 70000 }, 'SCHEMA_RANGE', 'lb4_key.dport'],
    ['non-integer', { dport: 1.5 }, 'SCHEMA_RANGE', 'lb4_key.dport'],
    ['wrong type', { dport: '80' }, 'SCHEMA_TYPE', 'lb4_key.dport'],
    ['bad address', { address: '1.2.3' }, 'SCHEMA_RANGE', 'lb4_key.address'],
    ['unknown field', { port: 1 }, 'SCHEMA_UNKNOWN_FIELD', 'lb4_key.port'],
    ['nested', { slots: [{}, { id: -1 }] }, 'SCHEMA_RANGE', 'lb4_key.slots[1].id'],
    ['nested unknown', { slots: [{ idd: 1 }] }, 'SCHEMA_UNKNOWN_FIELD', 'lb4_key.slots[0].idd'],
    ['too many elements', { slots: [{}, {}, {}] }, 'SCHEMA_RANGE', 'lb4_key.slots'],
    ['not an object', 5, 'SCHEMA_TYPE', 'lb4_key'],
  ];
  it.each(cases)('%s', (_n, value, code, path) => {
    let err: unknown;
    try {
      Key.encode(value as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchemaError);
    expect((err as SchemaError).code).toBe(code);
    expect((err as SchemaError).path).toBe(path);
    expect((err as SchemaError).message.startsWith(path + ': ')).toBe(true);
  });

  it('decode of the wrong length is a SCHEMA_LENGTH error', () => {
    expect(() => Key.decode(new Uint8Array(Key.size - 1))).toThrow(/lb4_key: decode expects 16 bytes, got 15/);
    expect(() => Key.decodeFrom(new Uint8Array(4), 1)).toThrow(SchemaError);
    expect(() => Key.encodeInto(new Uint8Array(4), 0, {})).toThrow(SchemaError);
  });
});
