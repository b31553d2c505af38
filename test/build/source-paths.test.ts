/**
 * Source locations in built objects, as a user runs `tsbpf build` (a process,
 * from the sources): line_info names files relative to the module's project
 * root (so two checkouts give the same bytes), and a module outside any ESM
 * package (CommonJS to Node, e.g. a .ts in /tmp with no package.json) gets its
 * real file:line, the same bytes on every build.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readObject } from '../../dsl/elf/index.js';

const root = join(import.meta.dirname, '..', '..');
const BIN = join(root, 'bin', 'tsbpf.js');
const DSL = join(root, 'dsl', 'program', 'index.js');

// The return is on line 5, column 3 (`b`), the call V8 reports at `return` (column 5).
const MODULE = `import { program } from ${JSON.stringify(DSL)};

export const hello = program('xdp', 'hello', (b) => {
  // a comment line, so the program's one statement is on line 5
  b.return(2);
});
`;

function build(module: string, cwd: string, out: string): Uint8Array {
  const r = spawnSync(process.execPath, [BIN, 'build', module, '-o', out, '--target', '6.6'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, TSBPF_FROM_SOURCE: '1', XDG_CACHE_HOME: join(cwd, '.cache') },
    timeout: 120_000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return new Uint8Array(readFileSync(join(cwd, out)));
}

function write(file: string, text: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** The line_info locations of the first program of an object. */
function locations(elf: Uint8Array): string[] {
  const insns = readObject(elf).programs[0]!.instructions;
  return insns.flatMap((i) => (i.meta?.source ? [`${i.meta.source.file}:${i.meta.source.line}:${i.meta.source.column}`] : []));
}

function withDir<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-srcpath-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Each test builds through several CLI processes from source: minutes on a loaded machine.
describe('source paths in line_info', { timeout: 300_000 }, () => {
  it('are relative to the project root: two checkouts at different paths give identical bytes', () =>
    withDir((dir) => {
      const copies = [join(dir, 'a', 'proj'), join(dir, 'b', 'deeper', 'checkout')];
      const elfs = copies.map((proj) => {
        write(join(proj, 'package.json'), JSON.stringify({ name: 'proj', type: 'module' }));
        write(join(proj, 'src', 'prog.ts'), MODULE);
        // Built from a subdirectory: the root is the package.json's directory, not the cwd.
        mkdirSync(join(proj, 'out'));
        return build(join(proj, 'src', 'prog.ts'), join(proj, 'out'), 'prog.o');
      });
      expect(locations(elfs[0]!)).toEqual(['src/prog.ts:5:5']);
      expect(Buffer.from(elfs[0]!).equals(Buffer.from(elfs[1]!))).toBe(true);
      expect(Buffer.from(elfs[0]!).includes(dir)).toBe(false);
    }));

  it('a module outside an ESM package gets its real file:line and the same bytes on every build', () =>
    withDir((dir) => {
      // No package.json between the module and / (else it would be that package's module).
      for (let d = dir; dirname(d) !== d; d = dirname(d)) expect(existsSync(join(d, 'package.json'))).toBe(false);
      const first = join(dir, 'one');
      const second = join(dir, 'two');
      write(join(first, 'prog.ts'), MODULE);
      write(join(second, 'prog.ts'), MODULE);
      const a = build('prog.ts', first, 'a.o');
      const b = build('prog.ts', first, 'b.o');
      const c = build('prog.ts', second, 'c.o');
      expect(locations(a)).toEqual(['prog.ts:5:5']);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      expect(Buffer.from(a).equals(Buffer.from(c))).toBe(true);
    }));
});
