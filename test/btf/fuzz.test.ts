/**
 * Property test: mutated BTF and .BTF.ext blobs (bit flips, byte overwrites,
 * truncation, corrupted header/length/count fields, huge vlen) must give a
 * decoded graph or a BtfError — never another exception, a crash or a hang —
 * and whatever decodes must survive re-encoding and both printers.
 */
import fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import {
  Btf, BtfError, btfTargetForKernel, decodeBtf, decodeBtfExt, encodeBtf, encodeBtfExt, formatBtfC, formatBtfRaw, sanitizeBtf,
  BtfStringTable,
} from '../../dsl/btf/index.js';
import { everyKind } from './every-kind.js';
import { compileBpf, fixture, section } from './helpers.js';

const RUNS = Number(process.env.BTF_FUZZ_RUNS ?? 3000);

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'u32'; at: number; value: number }
  | { op: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  // header words, vlen/info words and counts: small, boundary and huge values
  fc.record({
    op: fc.constant('u32' as const),
    at: fc.oneof(fc.integer({ min: 0, max: 32 }), fc.nat()),
    value: fc.oneof(fc.constantFrom(0, 1, 4, 12, 0xffff, 0x7fffffff, 0xffffffff, 0x0400ffff, 0x8d00ffff), fc.nat({ max: 0xffffffff })),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(input: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = new Uint8Array(input);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.op) {
      case 'flip':
        b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'set':
        b[at] = m.value;
        break;
      case 'u32': {
        const aligned = at & ~3;
        if (aligned + 4 <= b.length) new DataView(b.buffer).setUint32(aligned, m.value >>> 0, true);
        break;
      }
      case 'truncate':
        b = b.slice(0, at);
        break;
    }
  }
  return b;
}

/** Runs `fn`; anything but a BtfError fails the property. */
function onlyBtfErrors<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BtfError) return undefined;
    throw e;
  }
}

function exercise(g: Btf): void {
  onlyBtfErrors(() => encodeBtf(g));
  onlyBtfErrors(() => formatBtfRaw(g));
  onlyBtfErrors(() => formatBtfC(g, { functions: true }));
  onlyBtfErrors(() => sanitizeBtf(g, btfTargetForKernel(4, 18)));
}

describe('BTF fuzz (seeded)', () => {
  const seeds: { name: string; bytes: Uint8Array }[] = [];
  let sampleBtf: Uint8Array | undefined;
  let sampleExt: Uint8Array | undefined;
  beforeAll(() => {
    seeds.push({ name: 'every kind', bytes: everyKind().encode() });
    const sanitized = sanitizeBtf(everyKind().build(), btfTargetForKernel(5, 0)).spec;
    seeds.push({ name: 'sanitized', bytes: encodeBtf(sanitized) });
    if (need({ tools: ['clang-19'] })) {
      const obj = compileBpf(fixture('sample.bpf.c'));
      sampleBtf = section(obj.bytes, '.BTF');
      sampleExt = section(obj.bytes, '.BTF.ext');
      obj.cleanup();
      seeds.push({ name: 'clang sample', bytes: sampleBtf });
    }
  });

  it('mutated .BTF blobs: decoded or BtfError, printers and encoder never crash', () => {
    const started = Date.now();
    for (const [i, seed] of seeds.entries()) {
      expect(() => decodeBtf(seed.bytes), seed.name).not.toThrow();
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => {
          const g = onlyBtfErrors(() => decodeBtf(mutate(seed.bytes, ms)));
          if (g) exercise(g);
        }),
        { seed: 0x5eed + i, numRuns: RUNS },
      );
    }
    expect(Date.now() - started).toBeLessThan(RUNS * 100);
  }, 600_000);

  it('mutated .BTF.ext blobs against their .BTF: decoded or BtfError, re-encodable', () => {
    if (!sampleBtf || !sampleExt) return;
    const btf = decodeBtf(sampleBtf);
    const ext = sampleExt;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => {
        const e = onlyBtfErrors(() => decodeBtfExt(mutate(ext, ms), btf));
        if (e) onlyBtfErrors(() => encodeBtfExt(e, new BtfStringTable()));
      }),
      { seed: 0xe47, numRuns: RUNS * 2 },
    );
  }, 600_000);

  it.skipIf(!existsSync('/sys/kernel/btf/vmlinux'))('mutated vmlinux BTF: decoded or BtfError, in bounded time', () => {
    const vmlinux = new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux'));
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        const t0 = Date.now();
        const g = onlyBtfErrors(() => decodeBtf(mutate(vmlinux, ms)));
        if (g) g.countByKind();
        expect(Date.now() - t0).toBeLessThan(10_000);
      }),
      { seed: 0x7e57, numRuns: 25 },
    );
  }, 600_000);

  it('huge counts are rejected without allocating or looping over them', () => {
    const good = everyKind().encode();
    // type_len claims 4 GiB
    const a = new Uint8Array(good);
    new DataView(a.buffer).setUint32(12, 0xfffffff0, true);
    expect(() => decodeBtf(a)).toThrow(expect.objectContaining({ code: 'BTF_TRUNCATED' }));
    // the first STRUCT's vlen = 65535 (walk the records by their on-wire sizes)
    let off = 24;
    while (((new DataView(good.buffer).getUint32(off + 4, true) >>> 24) & 0x1f) !== 4) off += recordSize(good, off);
    const b = new Uint8Array(good);
    new DataView(b.buffer).setUint16(off + 4, 0xffff, true);
    const t0 = Date.now();
    expect(() => decodeBtf(b)).toThrow(expect.objectContaining({ code: 'BTF_TRUNCATED' }));
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

/** Size of the record at `off` (read from the blob, independent of our encoder). */
function recordSize(blob: Uint8Array, off: number): number {
  const dv = new DataView(blob.buffer, blob.byteOffset);
  const info = dv.getUint32(off + 4, true);
  const kind = (info >>> 24) & 0x1f;
  const vlen = info & 0xffff;
  switch (kind) {
    case 1: case 14: case 17: return 16;
    case 3: return 24;
    case 4: case 5: case 15: case 19: return 12 + 12 * vlen;
    case 6: case 13: return 12 + 8 * vlen;
    default: return 12;
  }
}
