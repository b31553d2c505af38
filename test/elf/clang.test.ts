/**
 * clang-built objects through our reader and writer: read → write must load
 * with `bpftool prog loadall` and disassemble identically (llvm-objdump-19 -d,
 * compared function by function); the reader must see every map, slot, global
 * and function of the source.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readObject, writeObject } from '../../dsl/elf/index.js';
import { bpffsSession } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { CLANG_PROGRAMS } from './clang-programs.js';
import { compileC, objdumpFunctions, run, scratch } from './helpers.js';

const tools = ['bpftool', 'llvm-objdump-19', 'llvm-readelf-19', 'clang-19'];

describe('clang objects read and written back', () => {
  for (const [name, source] of Object.entries(CLANG_PROGRAMS)) {
    it.skipIf(!need({ tools, kernel: true }))(`${name}: load and disassemble identically`, () => {
      const s = scratch();
      try {
        const clangObj = compileC(s.dir, name, source);
        const spec = readObject(new Uint8Array(readFileSync(clangObj)));
        const ours = s.file(`${name}_tsbpf.o`, writeObject(spec));
        const before = objdumpFunctions(clangObj);
        const after = objdumpFunctions(ours);
        expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
        for (const [fn, lines] of before) expect(after.get(fn), fn).toEqual(lines);
        const gen = run('bpftool', ['gen', 'object', s.file('linked.o'), ours]);
        expect(gen.status, gen.stderr).toBe(0);
        const elf = run('llvm-readelf-19', ['-a', ours]);
        expect(elf.stderr).toBe('');

        const pinned = spec.maps!.filter((m) => m.pinning === 'byName').map((m) => m.name);
        // With maps pinned by name, libbpf refuses `pinmaps`; otherwise pin them to look at the slots.
        const withSlots = pinned.length ? [] : spec.maps!.filter((m) => m.values?.length);
        const results = bpffsSession([
          ['bpftool', 'prog', 'loadall', clangObj, '$PIN/clang'],
          ['rm', '-rf', '$PIN/clang', ...pinned.map((m) => `/sys/fs/bpf/${m}`)],
          ['bpftool', 'prog', 'loadall', ours, '$PIN/ours', ...(pinned.length ? [] : ['pinmaps', '$PIN/maps'])],
          ['ls', '$PIN/ours'],
          ...withSlots.map((m) => ['bpftool', '-j', 'map', 'dump', 'pinned', `$PIN/maps/${m.name}`]),
        ]);
        expect(results[0]!.status, `clang's own object must load: ${results[0]!.stderr}`).toBe(0);
        expect(results[2]!.status, results[2]!.stderr).toBe(0);
        expect(results[3]!.stdout.split('\n').filter(Boolean).sort()).toEqual(spec.programs.map((p) => p.name).sort());
        withSlots.forEach((m, k) => {
          const entries = JSON.parse(results[4 + k]!.stdout) as { key: string[] }[];
          const keys = entries.map((e) => e.key.reduceRight((n, b) => n * 256 + parseInt(b, 16), 0));
          expect(keys, m.name).toEqual(m.values!.flatMap((v, i) => (v ? [i] : [])));
        });
      } finally {
        s.cleanup();
      }
    });
  }

  it.skipIf(!need({ tools: ['clang-19'] }))('reads maps, slots, globals and functions of a clang object', () => {
    const s = scratch();
    try {
      const a = readObject(new Uint8Array(readFileSync(compileC(s.dir, 'a', CLANG_PROGRAMS.maps_and_tail_calls!))));
      expect(a.license).toBe('GPL');
      expect(a.programs.map((p) => `${p.section}/${p.name}`)).toEqual(['tc/tail_a', 'tc/tail_b', 'tc/entry', 'xdp/xdp_count']);
      expect(a.subprograms!.map((p) => [p.name, p.linkage])).toEqual([['account', 'static']]);
      const jumps = a.maps!.find((m) => m.name === 'jumps')!;
      expect(jumps).toMatchObject({ type: 'PROG_ARRAY', maxEntries: 8, key: 4, value: 4 });
      expect(jumps.values).toEqual([null, null, 'tail_a', null, null, 'tail_b']);
      const flows = a.maps!.find((m) => m.name === 'flows')!;
      expect(flows.type).toBe('LRU_HASH');
      const key = flows.key as { btfType: number };
      expect(a.btf!.get(key.btfType)).toMatchObject({ kind: 'struct', name: 'flow', size: 16 });
      const entry = a.programs.find((p) => p.name === 'entry')!;
      const refs = entry.instructions.flatMap((i) => (i.meta?.ref ? [`${i.meta.ref.kind}:${i.meta.ref.name}`] : []));
      expect(refs).toEqual(['map:flows', 'call:account', 'map:jumps']);
      expect(entry.instructions.some((i) => i.meta?.source?.file.endsWith('a.c'))).toBe(true);
      expect(a.ignored!.some((x) => x.what === 'section .debug_info')).toBe(true);

      const g = readObject(new Uint8Array(readFileSync(compileC(s.dir, 'g', CLANG_PROGRAMS.globals_and_inner_maps!))));
      const byName = new Map(g.globals!.map((v) => [v.name, v]));
      expect(byName.get('threshold')).toMatchObject({ section: '.rodata', init: new Uint8Array([42, 0, 0, 0]) });
      expect(byName.get('table')!.init).toEqual(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]));
      expect(byName.get('toggles')).toMatchObject({ section: '.data' });
      expect(byName.get('events')).toMatchObject({ section: '.bss' });
      expect(byName.get('private_counter')).toMatchObject({ section: '.bss', linkage: 'static' });
      const outer = g.maps!.find((m) => m.name === 'outer')!;
      expect(outer.values).toEqual(['inner_a', null, null, 'inner_b']);
      expect(outer.innerMap).toMatchObject({ type: 'ARRAY', maxEntries: 2 });
    } finally {
      s.cleanup();
    }
  });
});
