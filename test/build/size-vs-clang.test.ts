/**
 * Generated code is tight: the three programs of bench/dsl-vs-clang.ts, built
 * with `tsbpf build` for 6.1 (ISA v3), stay within 1.2× of clang-19 -O2's
 * instruction count for the same C. Counts, not timings.
 */
import { describe, expect, it } from 'vitest';
import { compareSizes } from '../../bench/dsl-vs-clang.js';
import { need } from '../support/env.js';

describe.skipIf(!need({ tools: ['clang-19'] }))('DSL code size vs clang-19 -O2', () => {
  it('each program is within 1.2× of clang', async () => {
    const rows = await compareSizes();
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r.clang, r.program).toBeGreaterThan(10);
      expect(r.ratio, `${r.program}: ${r.ours} vs clang ${r.clang}`).toBeLessThanOrEqual(1.2);
    }
  });
});
