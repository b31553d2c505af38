/**
 * Codec oracle: random nested structs with random values are written as C static
 * initializers, compiled for the host (x86-64, little-endian like bpfel) with
 * clang-19 and run; the bytes C puts in memory must equal our `encode` — byte
 * order of be16/be32/be64 (via __builtin_bswap), bitfield bit order, unions,
 * enums, arrays and padding (zero in static storage).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { SpecBuilder, topArb, valueArb, type Spec } from './random-schemas.js';

const ready = need({ tools: ['clang-19'] });

/** C initializer for `value` of `spec`. */
function cInit(spec: Spec, value: unknown): string {
  switch (spec.t) {
    case 'leaf':
      return leafInit(spec.name, value);
    case 'pad':
      return '{0}';
    case 'enum':
      return String(value);
    case 'array':
      return `{ ${(value as unknown[]).map((v) => cInit(spec.elem, v)).join(', ')} }`;
    default: {
      const obj = value as Record<string, unknown>;
      const parts = spec.fields.flatMap((f, i) => {
        const k = `f${i}`;
        if (obj[k] === undefined || f.spec.t === 'pad') return [];
        return [`.${k} = ${cInit(f.spec, obj[k])}`];
      });
      return `{ ${parts.join(', ')} }`;
    }
  }
}

function leafInit(name: string, v: unknown): string {
  const u64hex = (x: bigint) => `0x${BigInt.asUintN(64, x).toString(16)}ULL`;
  switch (name) {
    case 'u64':
      return u64hex(v as bigint);
    case 's64':
      return `(__s64)${u64hex(v as bigint)}`;
    case 'be16':
      return `__builtin_bswap16(${v as number})`;
    case 'be32':
      return `__builtin_bswap32(${v as number}U)`;
    case 'be64':
      return `__builtin_bswap64(${u64hex(v as bigint)})`;
    case 'ipv4':
      return `__builtin_bswap32(${parseIpv4(v as string)}U)`;
    case 'bool':
      return v ? '1' : '0';
    case 'ipv6':
    case 'mac':
      return `{ ${Array.from(v as Uint8Array).join(', ')} }`;
    case 's32':
      return `(__s32)${v as number}LL`;
    case 'u32':
      return `${v as number}U`;
    default:
      return typeof v === 'bigint' ? `(__s64)${u64hex(v)}` : String(v);
  }
}

describe.skipIf(!ready)('encode equals the bytes C initializers produce (seeded)', () => {
  it('300 random structs with random values', () => {
    const samples = fc.sample(
      topArb(3).chain((spec) => valueArb(spec).map((value) => ({ spec, value }))),
      { numRuns: 300, seed: 0xc0dec },
    );
    const builder = new SpecBuilder('c');
    const built = samples.map(({ spec, value }) => ({ schema: builder.build(spec).schema, spec, value }));
    const src = [
      '#include <stdio.h>',
      '#include <linux/types.h>',
      ...builder.decls,
      ...built.map(({ schema, spec, value }, i) => `static struct ${schema.name} v${i} = ${cInit(spec, value)};`),
      'static void dump(const void *p, unsigned long n) { const unsigned char *b = p; for (unsigned long i = 0; i < n; i++) printf("%02x", b[i]); printf("\\n"); }',
      `int main(void) { ${built.map((_, i) => `dump(&v${i}, sizeof v${i});`).join(' ')} return 0; }`,
    ].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-codec-'));
    try {
      writeFileSync(join(dir, 'codec.c'), src);
      execFileSync('clang-19', ['-O0', '-w', '-o', join(dir, 'codec'), join(dir, 'codec.c')], { stdio: ['ignore', 'ignore', 'pipe'] });
      const lines = execFileSync(join(dir, 'codec'), { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n');
      expect(lines.length).toBe(built.length);
      built.forEach(({ schema, value }, i) => {
        expect(Buffer.from(schema.encode(value)).toString('hex'), `${schema.name} = ${cInit(built[i]!.spec, value)}`).toBe(lines[i]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
