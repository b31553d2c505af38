/**
 * Generated code is tight: the five programs of bench/dsl-vs-clang.ts, built
 * with `tsbpf build` for 6.1 (ISA v3), need no more instructions than clang-19
 * -O2 for the same C. Counts, not timings.
 */
import { describe, expect, it } from 'vitest';
import { compareSizes } from '../../bench/dsl-vs-clang.js';
import { need } from '../support/env.js';

describe.skipIf(!need({ tools: ['clang-19'] }))('DSL code size vs clang-19 -O2', () => {
  it('each program is at most as long as clang\'s', async () => {
    const rows = await compareSizes();
    expect(rows.map((r) => r.program)).toEqual(['count_packets', 'sock4_connect', 'csum_rewrite', 'tc_dnat', 'snat_ports']);
    for (const r of rows) {
      expect(r.clang, r.program).toBeGreaterThan(10);
      expect(r.ratio, `${r.program}: ${r.ours} vs clang ${r.clang}`).toBeLessThanOrEqual(1.0);
    }
  });
});
