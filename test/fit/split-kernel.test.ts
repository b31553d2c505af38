/**
 * Splitting on the real kernel: the ~10,000-instruction mixer (examples/mixer.ts)
 * built for 4.19 becomes a chain of tail calls whose pieces each stay within
 * 4,096 instructions and 131,072 processed instructions as the verifier reports
 * them, with no backward jump and nothing above ISA v2; built for 6.6 it stays one
 * program. Both compute what the TypeScript reference computes on many packets.
 */
import { describe, expect, it } from 'vitest';
import { analyze, fitObject, buildFlow, uninitialisedReads } from '../../dsl/fit/index.js';
import { isaRank, requiredIsa, slots } from '../../dsl/isa/index.js';
import { profileByName } from '../../dsl/kernel/index.js';
import type { ObjectSpec } from '../../dsl/object/index.js';
import { loadObject } from '../../loader/object/index.js';
import { MIXER_BYTES, mixerProgram, mixerReference } from '../../examples/mixer.js';
import { need } from '../support/env.js';

const ok = need({ kernel: true });

function packets(count: number, seed: number): Uint8Array[] {
  let x = seed >>> 0;
  const rnd = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0), x);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = i === 0 ? MIXER_BYTES - 1 : MIXER_BYTES + (rnd() % 40) + 14;
    out.push(Uint8Array.from({ length: len }, () => rnd() & 0xff));
  }
  return out;
}

const program = mixerProgram();
const spec: ObjectSpec = { license: 'GPL', programs: [program] };

describe('split mixer (pure)', () => {
  it('4.19: pieces within 4,096 insns, no back edges, ISA ≤ v2', () => {
    const { spec: fitted, reports } = fitObject(spec, profileByName('4.19'));
    expect(program.instructions.length).toBeGreaterThan(8192);
    expect(reports[0]!.split.pieces.length).toBeGreaterThanOrEqual(3);
    const pieces = fitted.programs;
    expect(pieces.length).toBe(reports[0]!.split.pieces.length);
    for (const p of pieces) {
      expect(p.instructions.reduce((n, i) => n + slots(i), 0)).toBeLessThanOrEqual(4096);
      const flow = buildFlow(p.name, p.instructions);
      expect(flow.backEdges).toEqual([]);
      expect(uninitialisedReads(flow, analyze(flow, { progType: 'SCHED_CLS' }))).toEqual([]);
      for (const i of p.instructions) expect(isaRank(requiredIsa(i))).toBeLessThanOrEqual(2);
    }
    const jmp = fitted.maps!.find((m) => m.type === 'PROG_ARRAY')!;
    expect(jmp.values).toEqual([null, ...pieces.slice(1).map((p) => p.name)]);
  });

  it('6.6: one program, unchanged', () => {
    const { spec: fitted } = fitObject(spec, profileByName('6.6'));
    expect(fitted.programs).toHaveLength(1);
    expect(fitted.programs[0]!.instructions).toBe(program.instructions);
    expect(fitted.maps ?? []).toEqual([]);
  });
});

describe.skipIf(!ok)('split mixer on the kernel', () => {
  it('4.19 chain and 6.6 program load and agree with the reference', () => {
    const split = fitObject(spec, profileByName('4.19')).spec;
    const whole = fitObject(spec, profileByName('6.6')).spec;
    using a = loadObject(split, { logLevel: 4 });
    using b = loadObject(whole, { logLevel: 4 });
    for (const p of split.programs) {
      const stats = a.program(p.name).verifierStats;
      expect(stats?.processedInsns, p.name).toBeDefined();
      expect(stats!.processedInsns!, p.name).toBeLessThanOrEqual(131_072);
      expect(a.describe().programs.find((x) => x.name === p.name)!.insns).toBeLessThanOrEqual(4096);
    }
    const entry = a.program('mixer');
    const one = b.program('mixer');
    for (const pkt of packets(24, 42)) {
      const ref = mixerReference(pkt);
      const ra = entry.run({ data: pkt });
      const rb = one.run({ data: pkt });
      expect(ra.retval).toBe(ref.retval);
      expect(rb.retval).toBe(ref.retval);
      expect([...ra.data.subarray(0, pkt.length)]).toEqual([...ref.packet]);
      expect([...rb.data.subarray(0, pkt.length)]).toEqual([...ref.packet]);
    }
  });
});
