/**
 * `tsbpf dump --source` prints the source text after `file:line:col` like
 * `llvm-objdump -S` (the writer fills BTF line_info's line string from the
 * TypeScript file), and `dump` refuses non-BPF ELF files in one line.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpObject } from '../../cli/commands/dump.js';
import { dumpWithSource } from '../../cli/dump-object.js';
import { writeObject } from '../../dsl/elf/index.js';
import { readElf } from '../../dsl/elf/file/index.js';
import { TsbpfError } from '../../dsl/errors.js';
import { buildObject } from '../../dsl/program/index.js';
import { need } from '../support/env.js';
import { CLANG_PROGRAMS } from './clang-programs.js';
import { compileC, scratch } from './helpers.js';

const LOCATION = /^; (.+):(\d+):(\d+)$/;
const withoutLocations = (text: string) => text.split('\n').filter((l) => !LOCATION.test(l)).join('\n');

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('dump --source on a DSL-built object', () => {
  it('prints each TypeScript line once, verbatim, under its file:line:col', async () => {
    const connect4 = await import('../../examples/connect4.js');
    const bytes = writeObject(buildObject(connect4, { target: '6.6' }));
    const out = dumpWithSource(bytes, 'connect4.o').split('\n');
    const file = join(import.meta.dirname, '..', '..', 'examples', 'connect4.ts');
    const lines = readFileSync(file, 'utf8').split('\n');
    let texts = 0;
    let shown = '';
    out.forEach((l, k) => {
      const m = LOCATION.exec(l);
      if (!m) return;
      expect(m[1]).toMatch(/connect4\.ts$/);
      const next = out[k + 1]!;
      const at = `${m[1]}:${m[2]}`;
      if (at === shown) {
        // Same line, new column: the location only (llvm-objdump -S prints a line once).
        expect(next.startsWith('; ')).toBe(false);
      } else {
        expect(next).toBe(`; ${lines[Number(m[2]) - 1]!.trimEnd()}`);
        texts++;
      }
      shown = at;
    });
    expect(texts).toBeGreaterThan(5);
    expect(out).toContain(';   const svc = b.lookup(services, key).orReturn(ALLOW);');
    // Without the annotations, the listing is exactly the plain disassembly.
    expect(out.filter((l) => !l.startsWith('; ')).join('\n')).toBe(dumpObject(readElf(bytes), 'connect4.o'));
  });

  it('builds stay byte-identical with the source text in line_info', async () => {
    const connect4 = await import('../../examples/connect4.js');
    expect(writeObject(buildObject(connect4, { target: '6.6' }))).toEqual(writeObject(buildObject(connect4, { target: '6.6' })));
  });
});

describe.skipIf(!need({ tools: ['clang-19', 'llvm-objdump-19'] }))('dump --source against llvm-objdump-19 -S', () => {
  it('shows the lines llvm-objdump -S shows, in its layout (BTF line_info may have fewer repeats than DWARF)', () => {
    const s = scratch();
    try {
      let exact = 0;
      for (const [name, source] of Object.entries(CLANG_PROGRAMS)) {
        const obj = compileC(s.dir, name, source);
        const llvm = execFileSync('llvm-objdump-19', ['-S', '--no-show-raw-insn', obj], { encoding: 'utf8' }).trimEnd().split('\n');
        const ours = withoutLocations(dumpWithSource(readFileSync(obj), obj)).trimEnd().split('\n');
        // Ours is llvm's listing with at most some repeated `; text` lines left out.
        let k = 0;
        for (const line of llvm) {
          if (ours[k] === line) k++;
          else expect(line.startsWith('; '), `${name}: llvm line "${line}" vs ours "${ours[k]}"`).toBe(true);
        }
        expect(k, name).toBe(ours.length);
        if (ours.length === llvm.length) exact++;
      }
      expect(exact).toBeGreaterThanOrEqual(2);
    } finally {
      s.cleanup();
    }
  });
});

describe('dump of a non-BPF ELF', () => {
  it('/bin/ls (an x86-64 executable) is a typed one-line error', () => {
    const bytes = readFileSync('/bin/ls');
    for (const run of [() => dumpObject(readElf(bytes), '/bin/ls'), () => dumpWithSource(bytes, '/bin/ls')]) {
      const e = thrown(run);
      expect(e).toBeInstanceOf(TsbpfError);
      expect((e as TsbpfError).code).toBe('OBJECT_NOT_BPF');
      expect((e as Error).message).toBe('/bin/ls is not a BPF object: e_machine 62 (x86-64) is not EM_BPF (247)');
    }
  });

  it.skipIf(!need({ tools: ['cc'] }))('a relocatable x86 object from cc -c is refused the same way', () => {
    const s = scratch();
    try {
      const c = s.file('f.c', 'int f(int x) { return x + 1; }\n');
      const o = join(s.dir, 'f.o');
      execFileSync('cc', ['-c', c, '-o', o]);
      const e = thrown(() => dumpObject(readElf(readFileSync(o)), o));
      expect((e as TsbpfError).code).toBe('OBJECT_NOT_BPF');
      expect((e as Error).message).toMatch(/^.*f\.o is not a BPF object: e_machine 62 \(x86-64\) is not EM_BPF \(247\)$/);
    } finally {
      s.cleanup();
    }
  });
});
