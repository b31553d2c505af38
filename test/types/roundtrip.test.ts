/**
 * Property tests (fast-check, seeded): random nested schemas with random values
 * round-trip; partial objects decode with zero defaults; encodeInto/decodeFrom
 * agree with encode/decode; integers agree with DataView; address text agrees
 * with the WHATWG URL parser (an independent IPv6 canonicaliser).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  be16, be32, be64, formatIpv6, formatMac, ipv4, ipv6, mac, parseIpv6, s16, s32, s64, s8, u16, u32, u64, u8,
  type AnySchema, type IntSchema,
} from '../../dsl/types/index.js';
import { SpecBuilder, topArb, valueArb, type Spec } from './random-schemas.js';

const SEED = 20261125;

/** Expects `out` (decoded) to be what `input` (encoded) means under `spec`. */
function check(spec: Spec, input: unknown, out: unknown, path: string): void {
  switch (spec.t) {
    case 'leaf':
      if (spec.name === 'ipv6') expect(out, path).toBe(formatIpv6(input as Uint8Array));
      else if (spec.name === 'mac') expect(out, path).toBe(formatMac(input as Uint8Array));
      else expect(out, path).toEqual(input);
      return;
    case 'pad':
      return;
    case 'enum':
      expect(out, path).toBe(input);
      return;
    case 'array':
      (input as unknown[]).forEach((v, i) => check(spec.elem, v, (out as unknown[])[i], `${path}[${i}]`));
      expect((out as unknown[]).length).toBe(spec.n);
      return;
    default: {
      const obj = input as Record<string, unknown>;
      spec.fields.forEach((f, i) => {
        const k = `f${i}`;
        if (!(k in obj) || f.spec.t === 'pad') return;
        if (f.bits !== undefined) expect((out as Record<string, unknown>)[k], `${path}.${k}`).toEqual(obj[k]);
        else check(f.spec, obj[k], (out as Record<string, unknown>)[k], `${path}.${k}`);
      });
    }
  }
}

const schemaAndValue = topArb(3).chain((spec) => {
  const schema = new SpecBuilder('p').build(spec).schema;
  return valueArb(spec).map((value) => ({ spec, schema, value }));
});

describe('codec properties', () => {
  it('random schemas: decode(encode(v)) means v, and encode is deterministic', () => {
    fc.assert(
      fc.property(schemaAndValue, ({ spec, schema, value }) => {
        const bytes = schema.encode(value);
        expect(bytes.length).toBe(schema.size);
        check(spec, value, schema.decode(bytes), schema.name);
        expect(schema.encode(value)).toEqual(bytes);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('encodeInto at any offset writes exactly the bytes of encode; decodeFrom reads them back', () => {
    fc.assert(
      fc.property(schemaAndValue, fc.nat(16), fc.nat(16), ({ schema, value }, before, after) => {
        const buf = new Uint8Array(before + schema.size + after).fill(0xa5);
        expect(schema.encodeInto(buf, before, value)).toBe(before + schema.size);
        expect(buf.subarray(before, before + schema.size)).toEqual(schema.encode(value));
        expect(buf.subarray(0, before).every((b) => b === 0xa5)).toBe(true);
        expect(buf.subarray(before + schema.size).every((b) => b === 0xa5)).toBe(true);
        expect(schema.decodeFrom(buf, before)).toEqual(schema.decode(schema.encode(value)));
      }),
      { seed: SEED + 1, numRuns: 1000 },
    );
  });

  it('partial objects: missing top-level fields decode as zero, present ones as given', () => {
    fc.assert(
      fc.property(schemaAndValue, fc.infiniteStream(fc.boolean()), ({ schema, value }, keep) => {
        const full = value as Record<string, unknown>;
        const partial: Record<string, unknown> = {};
        const kept = new Set<string>();
        for (const k of Object.keys(full)) {
          if (keep.next().value) {
            partial[k] = full[k];
            kept.add(k);
          }
        }
        const zero = schema.decode(new Uint8Array(schema.size)) as Record<string, unknown>;
        const fromFull = schema.decode(schema.encode(full)) as Record<string, unknown>;
        const fromPartial = schema.decode(schema.encode(partial)) as Record<string, unknown>;
        for (const k of Object.keys(zero)) expect(fromPartial[k], k).toEqual(kept.has(k) ? fromFull[k] : zero[k]);
      }),
      { seed: SEED + 2, numRuns: 1000 },
    );
  });
});

describe('integers agree with DataView', () => {
  const cases: [IntSchema, 'Uint8' | 'Int8' | 'Uint16' | 'Int16' | 'Uint32' | 'Int32' | 'BigUint64' | 'BigInt64', boolean][] = [
    [u8, 'Uint8', true], [s8, 'Int8', true], [u16, 'Uint16', true], [s16, 'Int16', true], [u32, 'Uint32', true],
    [s32, 'Int32', true], [u64, 'BigUint64', true], [s64, 'BigInt64', true], [be16, 'Uint16', false],
    [be32, 'Uint32', false], [be64, 'BigUint64', false],
  ];
  it.each(cases.map(([schema, view, little]) => [schema.name, schema, view, little] as const))('%s', (_name, schema, view, little) => {
    const bits = schema.size * 8;
    const arb = schema.size === 8
      ? schema.signed ? fc.bigInt(-(1n << 63n), (1n << 63n) - 1n) : fc.bigInt(0n, (1n << 64n) - 1n)
      : fc.integer({ min: schema.signed ? -(2 ** (bits - 1)) : 0, max: schema.signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 });
    fc.assert(
      fc.property(arb, fc.uint8Array({ minLength: schema.size, maxLength: schema.size }), (v, raw) => {
        const dv = new DataView(new ArrayBuffer(8));
        (dv as unknown as Record<string, (o: number, v: unknown, le: boolean) => void>)[`set${view}`]!(0, v, little);
        expect((schema as AnySchema).encode(v)).toEqual(new Uint8Array(dv.buffer, 0, schema.size));
        // Any bytes decode to what DataView reads.
        const rv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        expect((schema as AnySchema).decode(raw)).toBe((rv as unknown as Record<string, (o: number, le: boolean) => unknown>)[`get${view}`]!(0, little));
      }),
      { seed: SEED + bits, numRuns: 2000 },
    );
  });

  it('64-bit schemas accept safe-integer numbers like the bigint of the same value', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(s64.encode(n)).toEqual(s64.encode(BigInt(n)));
        if (n >= 0) expect(be64.encode(n)).toEqual(be64.encode(BigInt(n)));
      }),
      { seed: SEED + 3, numRuns: 2000 },
    );
  });
});

describe('address text', () => {
  it('ipv4 text and number forms agree', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), (n) => {
        const text = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
        expect(ipv4.encode(text)).toEqual(be32.encode(n));
        expect(ipv4.decode(be32.encode(n))).toBe(text);
      }),
      { seed: SEED + 4, numRuns: 2000 },
    );
  });

  it('ipv6 parsing and RFC 5952 rendering agree with the WHATWG URL host parser', () => {
    const canonical = (text: string) => new URL(`http://[${text}]/`).hostname.slice(1, -1);
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const bytes = parseIpv6(text);
        expect(bytes, text).toBeDefined();
        // The URL parser's canonical text must parse to the same bytes…
        expect(parseIpv6(canonical(text))).toEqual(bytes);
        // …and, except for IPv4-mapped addresses (RFC 5952 §5 renders them dotted), equal ours.
        const ours = ipv6.decode(ipv6.encode(text));
        if (!ours.startsWith('::ffff:') || !ours.includes('.')) expect(ours).toBe(canonical(text));
        else expect(parseIpv6(ours)).toEqual(bytes);
      }),
      { seed: SEED + 5, numRuns: 3000 },
    );
  });

  it('ipv6 from random bytes renders to text that parses back to those bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(8), (bytes, zeroRun) => {
        bytes.fill(0, zeroRun * 2, zeroRun * 2 + 6); // make compressible runs common
        const text = ipv6.decode(bytes);
        expect(ipv6.encode(text)).toEqual(bytes);
      }),
      { seed: SEED + 6, numRuns: 3000 },
    );
  });

  it('rejects malformed addresses', () => {
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '']) {
      expect(() => ipv4.encode(bad), bad).toThrow(/expected an IPv4 address/);
    }
    for (const bad of ['1::2::3', '12345::', ':1', '1:2:3:4:5:6:7:8:9', 'g::', '::1.2.3', '1:2:3:4:5:6:7:1.2.3.4', '']) {
      expect(() => ipv6.encode(bad), bad).toThrow(/expected an IPv6 address/);
    }
    for (const bad of ['aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:ff:00', 'aa-bb:cc:dd:ee:ff', 'gg:bb:cc:dd:ee:ff']) {
      expect(() => mac.encode(bad), bad).toThrow(/expected a MAC address/);
    }
    expect(() => mac.encode([1, 2, 3])).toThrow(/expected 6 address bytes/);
  });
});
