/**
 * Kernel fit of the ClusterIP datapath (from-pod and to-pod programs): one source builds for every profile
 * (4.19 … 6.6) deterministically; every build stays within its profile's
 * instruction limit and ISA level with no backward jump where loops are not
 * allowed; the 4.19 build fits the old 4,096-instruction limit unsplit, and the
 * splitter cuts the same program into a tail-call chain when asked for smaller
 * pieces (the `4.19-split` build the packet tests run). Loaded on this kernel,
 * every 4.19 piece stays within 4,096 instructions and 131,072 processed.
 */
import { describe, expect, it } from 'vitest';
import { buildFlow } from '../../dsl/fit/index.js';
import { compile } from '../../dsl/compile/index.js';
import { isaRank, requiredIsa, slots } from '../../dsl/isa/index.js';
import { profileByName } from '../../dsl/kernel/index.js';
import { loadObject } from '../../loader/object/index.js';
import * as clusterip from '../../programs/tc/clusterip.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { BUILDS, buildDatapath } from './clusterip-harness.js';

const kernel = need({ kernel: true });
const countSlots = (insns: readonly Parameters<typeof slots>[0][]) => insns.reduce((n, i) => n + slots(i), 0);

describe('ClusterIP datapath fit (build)', () => {
  for (const build of BUILDS) {
    it(`${build}: within the profile's limits`, () => {
      const profile = profileByName(build === '4.19-split' ? '4.19' : build);
      const { object } = buildDatapath(build);
      const pieces = object.programs;
      const entries = ['tc_clusterip', 'tc_clusterip_to_pod'];
      if (build === '4.19-split') {
        for (const entry of entries) expect(pieces.filter((p) => p.name.startsWith(`${entry}__`)).length, entry).toBeGreaterThanOrEqual(1);
      } else expect(pieces.map((p) => p.name)).toEqual(entries);
      for (const p of pieces) {
        const n = countSlots(p.instructions);
        expect(n, p.name).toBeLessThanOrEqual(build === '4.19-split' ? 1024 : profile.maxInsns);
        for (const i of p.instructions) expect(isaRank(requiredIsa(i))).toBeLessThanOrEqual(isaRank(profile.isa));
        if (!profile.boundedLoops) expect(buildFlow(p.name, p.instructions).backEdges, p.name).toEqual([]);
      }
      if (build.startsWith('4.19')) {
        for (const p of pieces) expect(countSlots(p.instructions), p.name).toBeLessThanOrEqual(4096);
        for (const i of pieces.flatMap((p) => p.instructions)) expect(isaRank(requiredIsa(i))).toBeLessThanOrEqual(2);
      }
      if (build === '4.19-split') {
        // One generated prog array per split program, chaining its pieces in order.
        const arrays = object.maps!.filter((m) => m.type === 'PROG_ARRAY').map((m) => m.values);
        expect(arrays).toEqual(entries.map((entry) => [null, ...pieces.filter((p) => p.name.startsWith(`${entry}__`)).map((p) => p.name)]));
      }
    });
  }

  it('building is deterministic: the same ELF bytes twice', () => {
    for (const target of ['4.19', '6.6']) {
      const a = compile(clusterip, { target }).elf;
      const b = compile(clusterip, { target }).elf;
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    }
  });
});

describe.skipIf(!kernel)('ClusterIP datapath fit (kernel)', () => {
  for (const build of BUILDS) {
    it(`${build}: loads; 4.19 pieces within 4,096 insns and 131,072 processed`, () => {
      const { object } = buildDatapath(build);
      const pins = createPinDir('tcctfit');
      try {
        using obj = loadObject(object, { pinRoot: pins.path, logLevel: 4 });
        for (const p of object.programs) {
          const stats = obj.program(p.name).verifierStats;
          expect(stats?.processedInsns, p.name).toBeDefined();
          if (build.startsWith('4.19')) {
            expect(stats!.processedInsns!, p.name).toBeLessThanOrEqual(131_072);
            expect(obj.describe().programs.find((x) => x.name === p.name)!.insns).toBeLessThanOrEqual(4096);
          }
        }
      } finally {
        pins.cleanup();
      }
    });
  }
});
