/**
 * tsbpf probe vs `bpftool -j feature probe kernel` on this kernel: program types,
 * map types and (program type, helper) pairs that both report must agree, except
 * where bpftool is wrong — and every such pair is shown to be wrong by loading a
 * program that calls the helper and getting the kernel's refusal.
 */
import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { Program, VerifierError, type AttachTypeName, type ProgTypeName } from '../../loader/index.js';
import { PROG_RECIPES } from '../../loader/probe/catalog.js';
import { BpfFunc } from '../../dsl/kernel/enums.js';
import { bpftoolReport, CALL, EXIT, fullReport, insns, MOV } from './shared.js';

const ok = need({ kernel: true, tools: ['bpftool'] });
const REFUSAL = /(invalid func |unknown func |program of this type cannot use helper )/;

/** Loads `call <helper>; r0 = 0; exit` through loader/programs (an independent load path). */
function loadHelperCall(progType: string, helperId: number): { loaded: boolean; log: string } {
  const recipe = PROG_RECIPES[progType] ?? {};
  try {
    const p = Program.load(
      {
        // The probe's catalog uses bpftool's lower-case names; a probe program has no section.
        name: '',
        section: '',
        instructions: [],
        type: progType.toUpperCase() as ProgTypeName,
        ...(recipe.expectedAttachType ? { expectedAttachType: recipe.expectedAttachType.toUpperCase() as AttachTypeName } : {}),
      },
      { bytes: insns(CALL(helperId), MOV(0, 0), EXIT), flags: recipe.sleepable ? 1 << 4 : 0, logLevel: 1 },
    );
    p.close();
    return { loaded: true, log: '' };
  } catch (err) {
    if (err instanceof VerifierError) return { loaded: false, log: err.log };
    throw err;
  }
}

describe.skipIf(!ok)('probe agrees with bpftool', () => {
  it('program types: identical wherever both decide', () => {
    const ours = fullReport().program_types!;
    const theirs = bpftoolReport().program_types;
    let compared = 0;
    for (const [key, have] of Object.entries(theirs)) {
      const name = key.replace(/^have_/, '').replace(/_prog_type$/, '');
      const f = ours[name];
      expect(f, `we report ${name}`).toBeDefined();
      if (f!.status === 'inconclusive') continue;
      compared++;
      expect(f!.status === 'supported', `program type ${name}: ${f!.reason ?? ''}`).toBe(have);
    }
    expect(compared).toBeGreaterThan(25);
  });

  it('map types: identical wherever both decide', () => {
    const ours = fullReport().map_types!;
    const theirs = bpftoolReport().map_types;
    let compared = 0;
    for (const [key, have] of Object.entries(theirs)) {
      const name = key.replace(/^have_/, '').replace(/_map_type$/, '');
      const f = ours[name];
      expect(f, `we report ${name}`).toBeDefined();
      if (f!.status === 'inconclusive') continue;
      compared++;
      expect(f!.status === 'supported', `map type ${name}: ${f!.reason ?? ''}`).toBe(have);
    }
    expect(compared).toBeGreaterThan(28);
  });

  it('helpers: every pair both report agrees, or the kernel refuses the helper when loaded', () => {
    const ours = fullReport().helpers!;
    const theirs = bpftoolReport().helpers;
    let agreed = 0;
    const bpftoolWrong: [string, string][] = [];
    for (const [key, list] of Object.entries(theirs)) {
      const progType = key.replace(/_available_helpers$/, '');
      const ourTypes = ours[progType];
      if (!ourTypes || list.length === 0) continue; // a type one side does not probe
      const theirSet = new Set(list);
      for (const [helper, f] of Object.entries(ourTypes)) {
        if (f.status === 'inconclusive') continue;
        // bpftool's table stops at its libbpf's helpers and skips trace_printk
        // probes; only pairs it reports as available are compared both ways.
        if (theirSet.has(helper)) {
          if (f.status === 'supported') agreed++;
          else bpftoolWrong.push([progType, helper]);
        }
      }
      // Pairs bpftool says are unavailable must be unavailable for us too.
      for (const [helper, f] of Object.entries(ourTypes)) {
        const id = (BpfFunc as Record<string, number>)[helper.replace(/^bpf_/, '')];
        if (id === undefined || theirSet.has(helper) || /trace_v?printk/.test(helper)) continue;
        if (id > 209) continue; // newer than bpftool 7.1's table
        expect(f.status, `${progType}/${helper}: bpftool says unavailable`).not.toBe('supported');
      }
    }
    expect(agreed).toBeGreaterThan(1000);
    // Every disagreement: the kernel itself refuses the helper for that type.
    for (const [progType, helper] of bpftoolWrong) {
      const id = (BpfFunc as Record<string, number>)[helper.replace(/^bpf_/, '')]!;
      const r = loadHelperCall(progType, id);
      expect(r.loaded, `${progType}/${helper} loaded, so bpftool was right`).toBe(false);
      expect(r.log, `${progType}/${helper}: the kernel's refusal`).toMatch(REFUSAL);
      expect(r.log).toContain(`${helper}#${id}`);
    }
    // On ≥ 6.10 kernels bpftool 7.1 misreads the new wording; report how many.
    console.log(`helpers: ${agreed} pairs agree, ${bpftoolWrong.length} bpftool false positives confirmed by the kernel`);
  });

  it('helpers we call supported really load past the helper check', () => {
    // Sample: for each program type, every helper we call supported must not get a refusal.
    const ours = fullReport().helpers!;
    for (const [progType, hs] of Object.entries(ours)) {
      const sample = Object.entries(hs).filter(([, f]) => f.status === 'supported').slice(0, 40);
      for (const [helper] of sample) {
        const id = (BpfFunc as Record<string, number>)[helper.replace(/^bpf_/, '')];
        if (id === undefined) continue;
        const r = loadHelperCall(progType, id);
        if (!r.loaded) expect(r.log, `${progType}/${helper}`).not.toMatch(REFUSAL);
      }
    }
  });
});
