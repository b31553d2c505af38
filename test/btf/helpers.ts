/** Shared test helpers: compile C with clang-19 and pull sections out of the object. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readElf } from '../../dsl/elf/file/index.js';

/** Path of a fixture under test/btf/fixtures. */
export function fixture(name: string): string {
  return join(import.meta.dirname, 'fixtures', name);
}

/** Compiles C source (file path) with `clang-19 -O2 -g -target bpf`, returns the object bytes. */
export function compileBpf(cPath: string, extra: string[] = []): { bytes: Uint8Array; path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-btf-'));
  const out = join(dir, 'out.o');
  execFileSync('clang-19', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', ...extra, '-c', cPath, '-o', out]);
  return { bytes: new Uint8Array(readFileSync(out)), path: out, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Contents of the named ELF section, or throws. */
export function section(obj: Uint8Array, name: string): Uint8Array {
  const s = readElf(obj).sections.find((x) => x.name === name);
  if (!s) throw new Error(`no section ${name}`);
  return s.data;
}
