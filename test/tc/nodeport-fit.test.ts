/**
 * Kernel fit of the NodePort programs: the same source builds for every
 * profile; on 4.19 dsl/fit splits what exceeds 4,096 instructions into tail
 * calls (no hand-written tail call in programs/tc) and every piece meets the
 * old limits — ≤ 4,096 instructions, no backward jump, nothing above ISA v2 —
 * checked on the instructions and, after loading on this kernel, against the
 * verifier's own numbers (≤ 131,072 processed). From 5.3 the SNAT port search
 * is a real bounded loop (a back edge), before it is unrolled.
 */
import { describe, expect, it } from 'vitest';
import { compile } from '../../dsl/compile/index.js';
import { buildFlow } from '../../dsl/fit/index.js';
import { isaRank, requiredIsa, slots } from '../../dsl/isa/index.js';
import { profileByName } from '../../dsl/kernel/index.js';
import { loadObject, type LoadedObject } from '../../loader/object/index.js';
import { setNodeConfig } from '../../programs/tc/nodeport-agent.js';
import * as nodeport from '../../programs/tc/nodeport.js';
import { need } from '../support/env.js';
import { compileNodePort, nodePortSpec, PROFILES } from './nodeport-env.js';

const ok = need({ kernel: true });
const ENTRY = ['np4_ingress', 'np6_ingress', 'np4_from_pod', 'np6_from_pod', 'np4_egress', 'np6_egress'];

describe('NodePort programs fit every profile', () => {
  it('4.19: pieces within 4,096 instructions, no back edges, ISA ≤ v2; the IPv6 program is split into tail calls', () => {
    const { object, reports } = compileNodePort('4.19');
    expect(reports.map((r) => r.program).sort()).toEqual([...ENTRY].sort());
    const np6 = reports.find((r) => r.program === 'np6_ingress')!;
    expect(np6.slots).toBeGreaterThan(3584);
    expect(np6.split.pieces.length).toBeGreaterThanOrEqual(2);
    for (const p of object.programs) {
      expect(p.instructions.reduce((n, i) => n + slots(i), 0), p.name).toBeLessThanOrEqual(4096);
      expect(buildFlow(p.name, p.instructions).backEdges, p.name).toEqual([]);
      for (const i of p.instructions) expect(isaRank(requiredIsa(i)), p.name).toBeLessThanOrEqual(2);
    }
    expect(object.programs.map((p) => p.name)).toContain('np6_ingress__1');
    // The generated prog array chains the pieces (its name is shortened to fit the kernel's 15 characters).
    const jmp = object.maps!.find((m) => m.type === 'PROG_ARRAY' && m.name.startsWith('np6_'))!;
    expect(jmp.values).toEqual([null, ...np6.split.pieces.slice(1).map((p) => p.name)]);
  });

  for (const target of PROFILES.filter((t) => t !== '4.19')) {
    it(`${target}: one program each, the SNAT port search is a real bounded loop`, () => {
      const { object, reports } = compile(nodeport, { target });
      for (const r of reports) expect(r.split.pieces, r.program).toHaveLength(1);
      for (const name of ['np4_ingress', 'np6_ingress']) {
        const p = object.programs.find((x) => x.name === name)!;
        expect(buildFlow(name, p.instructions).backEdges.length, name).toBeGreaterThan(0);
      }
    });
  }

  it('the agent refuses a bad SNAT port range before touching a map', () => {
    const none = {} as LoadedObject;
    expect(() => setNodeConfig(none, { nodeIp: '10.0.0.1', ifindex: 2, mac: '02:00:00:00:00:01', portMin: 40000, portMax: 39999 })).toThrow(/SNAT port range 40000-39999/);
    expect(() => setNodeConfig(none, { nodeIp: 'fd00::1', ifindex: 2, mac: '02:00:00:00:00:01', portMin: 0 })).toThrow(RangeError);
  });

  it('builds are deterministic', () => {
    const a = compile(nodeport, { target: '4.19' }).elf;
    const b = compile(nodeport, { target: '4.19' }).elf;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});

describe.skipIf(!ok)('NodePort programs on this kernel', () => {
  for (const target of PROFILES) {
    it(`${target}: every program (piece) loads; the verifier's counts meet the profile's limits`, () => {
      const spec = nodePortSpec(target);
      const profile = profileByName(target);
      using obj = loadObject(spec, { profile, logLevel: 4 });
      const described = obj.describe().programs;
      for (const p of spec.programs) {
        const stats = obj.program(p.name).verifierStats;
        expect(stats?.processedInsns, p.name).toBeDefined();
        expect(stats!.processedInsns!, `${target} ${p.name} processed`).toBeLessThanOrEqual(profile.maxProcessedInsns);
        expect(described.find((x) => x.name === p.name)!.insns, `${target} ${p.name} insns`).toBeLessThanOrEqual(profile.maxInsns);
      }
    });
  }
});
