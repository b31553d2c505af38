/** Helpers of the ELF object tests: external tools, clang (private bpffs sessions: test/support/bpffs.ts). */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A scratch directory removed by `cleanup()`. */
export function scratch(): { dir: string; file: (name: string, data?: Uint8Array | string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-elf-'));
  return {
    dir,
    file: (name, data) => {
      const p = join(dir, name);
      if (data !== undefined) writeFileSync(p, data);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs a tool; returns stdout, stderr and the exit status (never throws on failure). */
export function run(cmd: string, args: string[]): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status ?? -1 };
}

/** Compiles C source text with `clang-19 -O2 -g -target bpf` into `dir`; returns the object path. */
export function compileC(dir: string, name: string, source: string): string {
  const c = join(dir, `${name}.c`);
  const o = join(dir, `${name}.o`);
  writeFileSync(c, source);
  execFileSync('clang-19', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', c, '-o', o]);
  return o;
}

/** `llvm-objdump-19 -d` text split by section and function: key `section/function` → lines without the header. */
export function objdumpFunctions(path: string): Map<string, string[]> {
  const r = run('llvm-objdump-19', ['-d', '--no-show-raw-insn', path]);
  if (r.status !== 0) throw new Error(`llvm-objdump failed: ${r.stderr}`);
  const out = new Map<string, string[]>();
  let section = '';
  let current: string[] | undefined;
  for (const line of r.stdout.split('\n')) {
    const sec = /^Disassembly of section (.*):$/.exec(line);
    if (sec) {
      section = sec[1]!;
      current = undefined;
      continue;
    }
    const fn = /^[0-9a-f]{16} <(.*)>:$/.exec(line);
    if (fn) {
      current = [];
      out.set(`${section}/${fn[1]}`, current);
      continue;
    }
    if (current && line.trim() !== '') current.push(line);
  }
  return out;
}
