/**
 * Mutation fuzzing of the object reader (and of the writer on whatever the
 * reader accepts): bit flips, truncation, corrupted section headers, symbol
 * entries, relocations and BTF bytes of valid objects (ours and clang's). Only
 * typed errors may come out — never a crash, an internal error or a hang.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { TsbpfError } from '../../dsl/errors.js';
import { readObject, writeObject } from '../../dsl/elf/index.js';
import { hasTool, inCI } from '../support/env.js';
import { CLANG_PROGRAMS } from './clang-programs.js';
import { richSpec } from './fixtures.js';
import { compileC, scratch } from './helpers.js';

interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** [offset, size] of every section's contents, and the header table. */
  readonly sections: { name: string; type: number; offset: number; size: number }[];
  readonly shoff: number;
  readonly shnum: number;
}

function describeSeed(name: string, bytes: Uint8Array): Seed {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(dv.getBigUint64(40, true));
  const shnum = dv.getUint16(60, true);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * 64;
    sections.push({ name: String(i), type: dv.getUint32(at + 4, true), offset: Number(dv.getBigUint64(at + 24, true)), size: Number(dv.getBigUint64(at + 32, true)) });
  }
  return { name, bytes, sections, shoff, shnum };
}

type Mutation =
  | { kind: 'flip'; bits: number[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'shdr'; section: number; field: number; value: bigint }
  | { kind: 'header'; field: number; value: number }
  | { kind: 'entry'; section: number; entry: number; field: number; value: number }
  | { kind: 'region'; section: number; at: number; value: number };

const SHDR_FIELDS = [[0, 4], [4, 4], [8, 8], [24, 8], [32, 8], [40, 4], [44, 4], [48, 8], [56, 8]] as const;
const HEADER_FIELDS = [[16, 2], [18, 2], [40, 8], [58, 2], [60, 2], [62, 2]] as const;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), bits: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('shdr' as const), section: fc.nat(), field: fc.nat(SHDR_FIELDS.length - 1),
    value: fc.oneof(fc.bigInt({ min: 0n, max: 0xffffn }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, 1n, 8n, 0xffffffffn, 1n << 62n)),
  }),
  fc.record({ kind: fc.constant('header' as const), field: fc.nat(HEADER_FIELDS.length - 1), value: fc.oneof(fc.nat(0xffff), fc.constantFrom(0, 1, 0xffff)) }),
  fc.record({ kind: fc.constant('entry' as const), section: fc.nat(), entry: fc.nat(), field: fc.nat(5), value: fc.oneof(fc.nat(0xff), fc.nat(), fc.constant(0xffffffff)) }),
  fc.record({ kind: fc.constant('region' as const), section: fc.nat(), at: fc.nat(), value: fc.nat(0xff) }),
);

function apply(seed: Seed, m: Mutation): Uint8Array {
  let out = seed.bytes.slice();
  const dv = new DataView(out.buffer);
  const put = (at: number, size: number, v: bigint) => {
    if (at + size > out.length) return;
    if (size === 8) dv.setBigUint64(at, BigInt.asUintN(64, v), true);
    else if (size === 4) dv.setUint32(at, Number(BigInt.asUintN(32, v)), true);
    else dv.setUint16(at, Number(BigInt.asUintN(16, v)), true);
  };
  switch (m.kind) {
    case 'flip':
      for (const b of m.bits) out[(b >> 3) % out.length]! ^= 1 << (b & 7);
      break;
    case 'truncate':
      out = out.slice(0, m.at % out.length);
      break;
    case 'shdr': {
      const [off, size] = SHDR_FIELDS[m.field]!;
      put(seed.shoff + (m.section % seed.shnum) * 64 + off, size, m.value);
      break;
    }
    case 'header': {
      const [off, size] = HEADER_FIELDS[m.field]!;
      put(off, size, BigInt(m.value));
      break;
    }
    case 'entry': {
      // Symbol (24-byte) or relocation (16-byte) records: name/info/shndx/value/size or offset/type/symbol.
      const tables = seed.sections.filter((s) => s.type === 2 || s.type === 9);
      const t = tables[m.section % tables.length]!;
      const rec = t.type === 2 ? 24 : 16;
      const count = Math.floor(t.size / rec);
      if (count === 0) break;
      const base = t.offset + (m.entry % count) * rec;
      const fields = t.type === 2 ? [[0, 4], [4, 1], [6, 2], [8, 8], [16, 8], [5, 1]] : [[0, 8], [8, 4], [12, 4], [8, 4], [12, 4], [0, 8]];
      const [off, size] = fields[m.field]!;
      if (size === 1) out[base + off] = m.value & 0xff;
      else put(base + off, size, BigInt(m.value));
      break;
    }
    case 'region': {
      const withData = seed.sections.filter((s) => s.size > 0 && s.type !== 8);
      const s = withData[m.section % withData.length]!;
      out[s.offset + (m.at % s.size)] = m.value;
      break;
    }
  }
  return out;
}

/** Reads (and, on success, rewrites) mutated bytes; returns the outcome or throws on an untyped failure. */
function exercise(bytes: Uint8Array): string {
  try {
    const spec = readObject(bytes);
    try {
      writeObject(spec);
      return 'ok';
    } catch (e) {
      if (e instanceof TsbpfError && e.code !== 'OBJECT_INTERNAL') return `write:${e.code}`;
      throw e;
    }
  } catch (e) {
    if (e instanceof TsbpfError && e.code !== 'OBJECT_INTERNAL') return e.code;
    throw e;
  }
}

describe('fuzz: mutated objects give a spec or a typed error', () => {
  const seeds: Seed[] = [];
  beforeAll(() => {
    seeds.push(describeSeed('ours', writeObject(richSpec())));
    if (!hasTool('clang-19')) {
      if (inCI) throw new Error('CI=true but clang-19 is missing');
      return;
    }
    const s = scratch();
    try {
      for (const [name, src] of Object.entries(CLANG_PROGRAMS)) seeds.push(describeSeed(name, new Uint8Array(readFileSync(compileC(s.dir, name, src)))));
    } finally {
      s.cleanup();
    }
  });

  it('seeds themselves read cleanly', () => {
    for (const s of seeds) expect(exercise(s.bytes), s.name).toBe('ok');
  });

  it('thousands of mutations: no crash, no internal error, no hang', () => {
    const outcomes = new Map<string, number>();
    let slowest = 0;
    fc.assert(
      fc.property(fc.nat(), mutation, (pick, m) => {
        const seed = seeds[pick % seeds.length]!;
        const bytes = apply(seed, m);
        const t0 = performance.now();
        const outcome = exercise(bytes);
        slowest = Math.max(slowest, performance.now() - t0);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }),
      { seed: 0x7eb9f, numRuns: 6000 },
    );
    // Bounded time per input, and the mutations really hit both outcomes.
    expect(slowest).toBeLessThan(2000);
    expect(outcomes.get('ok') ?? 0).toBeGreaterThan(0);
    expect([...outcomes.keys()].filter((k) => k !== 'ok').length).toBeGreaterThan(5);
  }, 120_000);
});
