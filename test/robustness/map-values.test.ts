/**
 * Reproducers of the robustness audit for map values: BTF-typed keys and
 * values refuse out-of-range and wrong-typed input instead of wrapping
 * (`{"dport":70000}` stored 4464, `{"address":-1}` stored 4294967295), hex
 * keys such as `01000000` are bytes (README, `tsbpf map`), and `BpfMap.create`
 * refuses non-u32 sizes and entry counts and unknown update modes
 * (lib-map-u32-wrap.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readObject } from '../../dsl/elf/index.js';
import { BpfMap, btfCodec, LoaderError } from '../../loader/index.js';
import { createPinDir, type PinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { expectOneLineError, fixtures, tsbpf } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbpf-robust-map-'));
const object = join(dir, 'map-btf.o');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => {
  const r = tsbpf(['build', join(fixtures, 'map-btf.ts'), '-o', object, '--target', '6.6'], dir);
  expect(r.stderr).toBe('');
});

function loaderError(f: () => unknown): LoaderError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LoaderError);
    return e as LoaderError;
  }
  throw new Error('expected a LoaderError, nothing was thrown');
}

describe('BTF codec of a map value (struct lb4_backend)', () => {
  const codec = () => {
    const spec = readObject(new Uint8Array(readFileSync(object)));
    const map = spec.maps!.find((m) => m.name === 'lb4_backends')!;
    return btfCodec(spec.btf!, (map.value as { btfType: number }).btfType);
  };

  it('refuses values that do not fit their field, with the field and the range', () => {
    const c = codec();
    const cases: [unknown, string, RegExp][] = [
      [{ dport: 70000 }, 'LOADER_RANGE', /value\.dport: 70000 does not fit in __be16 \(0 to 65535\)/],
      [{ address: -1 }, 'LOADER_RANGE', /value\.address: -1 does not fit in __u32 \(0 to 4294967295\)/],
      [{ address: 2 ** 32 }, 'LOADER_RANGE', /value\.address: 4294967296 does not fit/],
      [{ weight: -(2 ** 31) - 1 }, 'LOADER_RANGE', /value\.weight: -2147483649 does not fit in __s32/],
      [{ flags: 256 }, 'LOADER_RANGE', /value\.flags: 256 does not fit in __u8/],
      [{ bytes: '18446744073709551616' }, 'LOADER_RANGE', /value\.bytes: 18446744073709551616 does not fit/],
    ];
    for (const [v, code, msg] of cases) {
      const e = loaderError(() => c.encode(v));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(msg);
    }
  });

  it('refuses wrong-typed values: fractions, strings and booleans for ints, unsafe numbers', () => {
    const c = codec();
    const cases: [unknown, RegExp][] = [
      [{ address: 1.5 }, /value\.address: expected an integer for __u32, got 1\.5/],
      [{ address: '7' }, /value\.address: expected an integer for __u32, got the string "7"/],
      [{ flags: true }, /value\.flags: expected an integer for __u8, got true/],
      [{ bytes: 2 ** 60 + 1 }, /value\.bytes: .* beyond 2\^53/],
      [{ dport: [1] }, /value\.dport: expected an integer/],
      [7, /value: expected an object with fields of struct lb4_backend, got 7/],
      [{ nope: 1 }, /has no field 'nope'/],
    ];
    for (const [v, msg] of cases) expect(loaderError(() => c.encode(v)).message).toMatch(msg);
  });

  it('stores exact values at the edges of each range (network order for __be16)', () => {
    const c = codec();
    const bytes = c.encode({ address: 0xffffffff, dport: 65535, flags: 255, weight: -(2 ** 31), bytes: '18446744073709551615' });
    expect(c.decode(bytes)).toEqual({ address: 4294967295, dport: 65535, flags: 255, _pad: [0], weight: -2147483648, bytes: 18446744073709551615n });
    expect([...c.encode({ dport: 443 }).subarray(4, 6)]).toEqual([0x01, 0xbb]);
    expect(c.encode(new Uint8Array(24).fill(7))).toEqual(new Uint8Array(24).fill(7));
    expect(c.decode(c.encode({ address: '0xffffffff' }))).toMatchObject({ address: 4294967295 });
    expect(loaderError(() => c.encode({ address: '0x100000000' })).code).toBe('LOADER_RANGE');
    expect(loaderError(() => c.encode(new Uint8Array(3))).code).toBe('LOADER_SIZE');
  });
});

describe.skipIf(!need({ kernel: true }))('tsbpf map update on a pinned BTF map', () => {
  let pins: PinDir;
  let map: string;
  beforeAll(() => {
    pins = createPinDir();
    const r = tsbpf(['load', object, '--pin', pins.path], dir);
    expect(r.stderr).toBe('');
    map = join(pins.path, 'lb4_backends');
  });
  afterAll(() => pins?.cleanup());

  it('01000000 is the key bytes 01 00 00 00 (u32 1), not the number 1000000', () => {
    expect(tsbpf(['map', 'update', map, '01000000', '{"address":1}']).code).toBe(0);
    const got = tsbpf(['map', 'get', map, '1', '--json']);
    expect(got.stderr).toBe('');
    expect(JSON.parse(got.stdout)).toMatchObject({ key: 1, value: { address: 1 } });
    expect(tsbpf(['map', 'get', map, '1000000']).code).toBe(1);
    const spaced = tsbpf(['map', 'update', map, '"02 00 00 00"'.slice(1, -1), '{"address":2}']);
    expect(spaced.code).toBe(0);
    expect(JSON.parse(tsbpf(['map', 'get', map, '2', '--json']).stdout).value.address).toBe(2);
  });

  it('out-of-range and wrong-typed values are one-line errors and leave the map unchanged', () => {
    expectOneLineError(tsbpf(['map', 'update', map, '1', '{"dport":70000}']), /value\.dport: 70000 does not fit in __be16/);
    expectOneLineError(tsbpf(['map', 'update', map, '1', '{"address":-1}']), /value\.address: -1 does not fit in __u32/);
    expectOneLineError(tsbpf(['map', 'update', map, '1', '{"address":1.5}']), /expected an integer for __u32, got 1\.5/);
    expectOneLineError(tsbpf(['map', 'update', map, '1', '{"address":"x"}']), /expected an integer for __u32, got the string "x"/);
    expectOneLineError(tsbpf(['map', 'update', map, '4294967296', '{}']), /key: 4294967296 does not fit in __u32/);
    expect(JSON.parse(tsbpf(['map', 'get', map, '1', '--json']).stdout).value).toMatchObject({ address: 1, dport: 0 });
  });
});

describe.skipIf(!need({ kernel: true }))('BpfMap.create and set (lib-map-u32-wrap.ts)', () => {
  it('refuses sizes and entry counts that are not u32 integers, before the kernel sees them', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ type: 'ARRAY', key: 4, value: 2 ** 32 + 4, maxEntries: 1 }, /value size must be an integer from 0 to 4294967295, got 4294967300/],
      [{ type: 'HASH', key: 4, value: 4, maxEntries: 2 ** 32 + 1 }, /max entries must be an integer from 0 to 4294967295, got 4294967297/],
      [{ type: 'HASH', key: 4.5, value: 4, maxEntries: 1 }, /key size must be an integer .* got 4\.5/],
      [{ type: 'HASH', key: 4, value: -4, maxEntries: 1 }, /value size must be an integer .* got -4/],
      [{ type: 'HASH', key: 4, value: 4, maxEntries: 1, flags: 2 ** 32 }, /map flags must be an integer/],
      [{ type: 'HASH', key: 4, value: 4, maxEntries: '8' }, /max entries must be an integer .* got the string "8"/],
      [{ type: 'BLOOM_FILTER', value: 4, maxEntries: 8, mapExtra: 1.5 }, /map extra must be an integer/],
      [{ type: 'BLOOM_FILTER', value: 4, maxEntries: 8, mapExtra: 1n << 64n }, /map extra must be an integer/],
    ];
    for (const [spec, msg] of bad) {
      const e = loaderError(() => BpfMap.create(spec as never).close());
      expect(e.code).toBe('LOADER_SPEC');
      expect(e.message).toMatch(msg);
    }
  });

  it("refuses an unknown update mode ('NOEXIST') instead of overwriting, and set(1.5) is a typed error", () => {
    using k = BpfMap.create({ type: 'HASH', key: 4, value: 4, maxEntries: 4 });
    k.set(new Uint8Array([1, 0, 0, 0]), new Uint8Array([1, 0, 0, 0]));
    const e = loaderError(() => k.set(new Uint8Array([1, 0, 0, 0]), new Uint8Array([2, 0, 0, 0]), 'NOEXIST' as never));
    expect(e.code).toBe('LOADER_MODE');
    expect(e.message).toMatch(/unknown update mode "NOEXIST": use 'any', 'noexist' or 'exist'/);
    expect(k.get(new Uint8Array([1, 0, 0, 0]))).toEqual(new Uint8Array([1, 0, 0, 0]));
    expect(() => k.set(new Uint8Array([1, 0, 0, 0]), new Uint8Array([3, 0, 0, 0]), 'noexist')).toThrow(/EEXIST/);
    const f = loaderError(() => k.set(1.5 as never, new Uint8Array(4)));
    expect(f.code).toBe('LOADER_TYPE');
    expect(f.message).toMatch(/key must be bytes or an integer, got 1\.5/);
    k.set(1, new Uint8Array([9, 0, 0, 0]));
    expect(k.get(new Uint8Array([1, 0, 0, 0]))).toEqual(new Uint8Array([9, 0, 0, 0]));
  });
});
