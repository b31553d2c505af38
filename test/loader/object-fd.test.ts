/**
 * fd discipline of the object loader: loading and closing an object hundreds
 * of times — and failing to load one at each stage (BTF/maps done, then a
 * program refused; a pinned-map mismatch) — returns the process fd count to
 * its baseline.
 */
import { describe, expect, it } from 'vitest';
import { asm } from '../../dsl/isa/index.js';
import type { ObjectSpec } from '../../dsl/object/index.js';
import { u32, u64 } from '../../dsl/types/index.js';
import { VerifierError } from '../../loader/errors.js';
import { PinnedMapMismatchError, loadObject } from '../../loader/object/index.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { fdCount } from './helpers.js';
import { builderSpec, runEntry } from './object-fixtures.js';

const ok = need({ kernel: true });

describe.skipIf(!ok)('loadObject: fd discipline', () => {
  it('500 load/close cycles return the fd count to its baseline', () => {
    const spec = builderSpec();
    // Warm up (koffi, lazily opened files) before taking the baseline.
    loadObject(spec).close();
    const before = fdCount();
    for (let i = 0; i < 500; i++) {
      using obj = loadObject(spec);
      if (i % 100 === 0) expect(runEntry(obj, 64)).toEqual([42]);
    }
    expect(fdCount()).toBe(before);
  });

  it('failed loads close everything they opened', () => {
    const pins = createPinDir();
    try {
      const spec = builderSpec();
      const broken: ObjectSpec = {
        ...spec,
        programs: spec.programs.map((p) => (p.name === 'entry' ? { ...p, instructions: asm().mov64('r0', 'r5').exit().build() } : p)),
      };
      const pinned = (maxEntries: number) => builderSpec([{ name: 'state', type: 'HASH', key: u32, value: u64, maxEntries, pinning: 'byName' }]);
      loadObject(pinned(4), { pinRoot: pins.path }).close(); // leaves the pin
      const before = fdCount();
      for (let i = 0; i < 50; i++) {
        expect(() => loadObject(broken)).toThrow(VerifierError);
        expect(() => loadObject(pinned(8), { pinRoot: pins.path })).toThrow(PinnedMapMismatchError);
      }
      expect(fdCount()).toBe(before);
    } finally {
      pins.cleanup();
    }
  });
});
