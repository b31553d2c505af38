/** `tsbpf dump --maps / --btf / --source` on our objects and clang's. */
import { describe, expect, it } from 'vitest';
import { writeObject } from '../../dsl/elf/index.js';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';
import { CLANG_PROGRAMS } from './clang-programs.js';
import { richSpec } from './fixtures.js';
import { compileC, scratch } from './helpers.js';

async function tsbpf(...args: string[]) {
  const r = await runCli(args);
  return { stdout: r.stdout, stderr: r.stderr, status: r.code };
}

describe('tsbpf dump object views', () => {
  it('--maps lists maps, globals and programs; --btf prints the types; --source interleaves line info', async () => {
    const s = scratch();
    try {
      const obj = s.file('ours.o', writeObject(richSpec()));
      const maps = await tsbpf('dump', '--maps', obj);
      expect(maps.status, maps.stderr).toBe(0);
      expect(maps.stdout).toContain('  counters: HASH, key __u32 (4 B), value __u64 (8 B), max_entries 16, pinning byName');
      expect(maps.stdout).toContain('  jmp: PROG_ARRAY, key 4 B, value 4 B, max_entries 4, pinning none\n    values: [1] tc_tail, [3] tc_tail');
      expect(maps.stdout).toContain('    inner map: ARRAY, key __u32 (4 B), value __u32 (4 B), max_entries 1, pinning none\n    values: [0] inner_a');
      expect(maps.stdout).toContain('  .rodata+0 cfg: struct tsbpf_cfg (8 B) = 07 00 00 00 03 00 00 00');
      expect(maps.stdout).toContain('  .bss+0 hits: __u64 (8 B)');
      expect(maps.stdout).toContain('  .text (static subprogram) bump: 6 instructions');

      const btf = await tsbpf('dump', '--btf', obj);
      expect(btf.stdout).toMatch(/struct tsbpf_cfg \{\n\t__u32 verdict;\n\t__u32 flags;\n\};/);

      const plain = await tsbpf('dump', obj);
      const src = await tsbpf('dump', '--source', obj);
      expect(src.status, src.stderr).toBe(0);
      const annotations = src.stdout.split('\n').filter((l) => l.startsWith('; '));
      expect(annotations.some((l) => /fixtures\.ts:\d+:\d+$/.test(l))).toBe(true);
      // Without the annotations, the listing is exactly the plain disassembly.
      expect(src.stdout.split('\n').filter((l) => !l.startsWith('; ')).join('\n')).toBe(plain.stdout);
    } finally {
      s.cleanup();
    }
  });

  it.skipIf(!need({ tools: ['clang-19'] }))('--source shows the C lines of a clang object and --maps its ignored debug sections', async () => {
    const s = scratch();
    try {
      const obj = compileC(s.dir, 'prog', CLANG_PROGRAMS.maps_and_tail_calls!);
      const src = await tsbpf('dump', '--source', obj);
      expect(src.stdout).toMatch(/; .*prog\.c:\d+:\d+\n; .*account\(0\);/);
      const maps = await tsbpf('dump', '--maps', obj);
      expect(maps.stdout).toContain('  flows: LRU_HASH, key struct flow (16 B), value u64 (8 B), max_entries 128, pinning none');
      expect(maps.stdout).toContain('    values: [2] tail_a, [5] tail_b');
      expect(maps.stdout).toMatch(/Ignored \(\d+\):\n  section \.debug_/);
    } finally {
      s.cleanup();
    }
  });
});
