/**
 * Helper probing on worker threads must give exactly the answers of the
 * single-threaded probe (same statuses, same reason texts, same key order):
 * the workers carry their own copy of the log classification.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { clearProbeCache, probeKernel } from '../../loader/probe/index.js';
import { createContext } from '../../loader/probe/context.js';
import { loadableTypes, probeHelpers } from '../../loader/probe/helpers.js';
import { HelperPool } from '../../loader/probe/parallel.js';
import { prestartHelperWorkers, releasePrestartedWorkers } from '../../loader/probe/workers.js';
import { probeProgramTypes } from '../../loader/probe/types.js';

const ok = need({ kernel: true });

describe.skipIf(!ok)('parallel helper probing', () => {
  it('probeKernel with worker threads equals probeKernel on one thread', () => {
    const alone = probeKernel({ fresh: true, threads: 0, sections: ['helpers'] }).helpers;
    const shared = probeKernel({ fresh: true, threads: 2, sections: ['helpers'] }).helpers;
    clearProbeCache();
    expect(alone && Object.keys(alone).length).toBeGreaterThan(5);
    expect(JSON.stringify(shared)).toBe(JSON.stringify(alone));
  });

  for (const strategy of ['always', 'on-failure'] as const)
    it(`workers really answer program types, identically to this thread (log ${strategy})`, async () => {
      const ctx = createContext();
      const types = probeProgramTypes(ctx);
      // 'always' also goes through workers started before the probe (as the CLI does).
      if (strategy === 'always') prestartHelperWorkers(1);
      const pool = HelperPool.start(strategy, 1);
      releasePrestartedWorkers();
      expect(pool).toBeDefined();
      try {
        await sleep(500); // let the worker boot, so it takes a share of the jobs
        const mixed = pool!.probe(ctx, loadableTypes(types));
        expect(pool!.errors).toEqual([]);
        expect(pool!.answeredByWorkers).toBeGreaterThan(0);
        const alone = probeHelpers(ctx, types, strategy);
        expect(JSON.stringify(mixed)).toBe(JSON.stringify(alone));
      } finally {
        pool!.close();
      }
    });
});

