/**
 * One instruction count: fit reports (what `build --json/--explain` print) count
 * instruction slots, the kernel's unit (`insn_cnt`, the 4,096 limit,
 * `bpf_prog_info.xlated_prog_len / 8`), and say how many instructions that is
 * (an `lddw` is one instruction in two slots).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { writeObject } from '../../dsl/elf/index.js';
import { fitObject, formatFitReports } from '../../dsl/fit/index.js';
import { LDDW } from '../../dsl/isa/index.js';
import { targetProfile } from '../../dsl/program/build.js';
import { buildObject, hashMap, program } from '../../dsl/program/index.js';
import { u32, u64 } from '../../dsl/types/index.js';
import { loadObject } from '../../loader/index.js';
import { need } from '../support/env.js';

const counts = hashMap('ic_counts', u32, u64, { maxEntries: 4 });
// Two map references (lddw) and no helper the verifier inlines, so the kernel's
// xlated program is exactly what was loaded.
const prog = program('tc', 'ic_prog', (b, ctx) => {
  const key = b.local(u32, ctx.mark);
  const value = b.local(u64, ctx.len.to(u64));
  b.update(counts, key, value);
  key.set(ctx.priority);
  b.update(counts, key, value);
  b.return(0);
});

function fitted() {
  const profile = targetProfile('6.6');
  const { spec, reports } = fitObject(buildObject([prog], { target: profile }), profile);
  return { spec, report: reports[0]! };
}

describe('instruction counts', () => {
  it('reports slots and instructions, and says which is which', () => {
    const { spec, report } = fitted();
    const insns = spec.programs[0]!.instructions;
    const lddw = insns.filter((i) => i.opcode === LDDW).length;
    expect(lddw).toBe(2);
    expect(report.instructions).toBe(insns.length);
    expect(report.slots).toBe(insns.length + lddw);
    expect(report.insns).toBe(report.slots);
    const text = formatFitReports([report]);
    expect(text).toContain(`  instructions: ${insns.length} in ${insns.length + lddw} slots, 2 lddw counting 2 (limit 1000000 slots)`);
  });

  it.skipIf(!need({ kernel: true }))('the reported slots are what the kernel loads and reports (insn_cnt, xlated_prog_len / 8)', () => {
    const { spec, report } = fitted();
    using obj = loadObject(writeObject(spec));
    const p = obj.programs.get('ic_prog')!;
    expect(p.insnCount).toBe(report.slots);
    expect(p.info().xlatedSize / 8).toBe(report.slots);
    expect(obj.describe().programs[0]!.insns).toBe(report.slots);
  });

  it.skipIf(!need({ kernel: true }))('build --json (the CLI, in process) reports the slots the kernel loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-count-'));
    const root = join(import.meta.dirname, '..', '..');
    try {
      const mod = join(dir, 'count.ts');
      writeFileSync(mod, [
        `import { hashMap, program } from '${join(root, 'dsl/program/index.js')}';`,
        `import { u32, u64 } from '${join(root, 'dsl/types/index.js')}';`,
        `export const counts = hashMap('cj_counts', u32, u64, { maxEntries: 4 });`,
        `export const prog = program('tc', 'cj_prog', (b, ctx) => {`,
        `  const key = b.local(u32, ctx.mark);`,
        `  const value = b.local(u64, ctx.len.to(u64));`,
        `  b.update(counts, key, value);`,
        `  b.return(0);`,
        `});`,
      ].join('\n'));
      const out = join(dir, 'count.o');
      let stdout = '';
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        stdout += String(chunk);
        return true;
      });
      try {
        await main(['node', 'tsbpf', 'build', mod, '--target', '6.6', '--json', '-o', out]);
      } finally {
        spy.mockRestore();
      }
      const report = JSON.parse(stdout) as { programs: { program: string; slots: number; instructions: number; insns: number }[] };
      const r = report.programs.find((p) => p.program === 'cj_prog')!;
      expect(r.slots).toBe(r.insns);
      expect(r.slots).toBe(r.instructions + 1); // one map reference (lddw)
      using obj = loadObject(readFileSync(out));
      const p = obj.programs.get('cj_prog')!;
      expect(p.insnCount).toBe(r.slots);
      expect(p.info().xlatedSize / 8).toBe(r.slots);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
