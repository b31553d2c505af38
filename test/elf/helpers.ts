/** Helpers of the ELF object tests: external tools, private bpffs sessions, clang. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** One command's result inside {@link bpffsSession}. */
export interface SessionResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

/**
 * Runs `commands` (argv lists; `$PIN` is replaced by a per-test directory) in a
 * private mount namespace with a fresh bpffs on /sys/fs/bpf. Everything pinned
 * there (including maps pinned by name at the bpffs root, where libbpf puts
 * them) disappears with the namespace, so the host's /sys/fs/bpf is never
 * touched and nothing leaks even if the test fails half-way.
 */
export function bpffsSession(commands: string[][]): SessionResult[] {
  const s = scratch();
  try {
    const pin = `/sys/fs/bpf/tsbpf-elf-${process.pid}-${Date.now()}`;
    const q = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
    const lines = ['set -u', 'mount -t bpf bpf /sys/fs/bpf || exit 90', `mkdir -p ${q(pin)} || exit 91`];
    commands.forEach((argv, k) => {
      const cmd = argv.map((a) => q(a.replaceAll('$PIN', pin))).join(' ');
      lines.push(`${cmd} >${q(join(s.dir, `out${k}`))} 2>${q(join(s.dir, `err${k}`))}; echo $? >${q(join(s.dir, `rc${k}`))}`);
    });
    lines.push(`rm -rf ${q(pin)}`);
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', lines.join('\n')], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`bpffs session failed (status ${r.status}): ${r.stderr}`);
    return commands.map((_, k) => ({
      stdout: readFileSync(join(s.dir, `out${k}`), 'utf8'),
      stderr: readFileSync(join(s.dir, `err${k}`), 'utf8'),
      status: Number(readFileSync(join(s.dir, `rc${k}`), 'utf8').trim()),
    }));
  } finally {
    s.cleanup();
  }
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
