/**
 * `tsbpf build` type-checks the module first (a process, as a CLI user runs it
 * without tsc): a type error — here field access on an unchecked lookup result,
 * one of the DSL's type-level guarantees — fails the build with
 * `file:line:col: message` and exit 1; `--no-typecheck` skips the check (the
 * build then fails later, at the DSL's runtime check); a good module builds,
 * and a passing check is remembered for the next build of the same files.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const BIN = join(root, 'bin', 'tsbpf.js');
const dsl = (m: string) => JSON.stringify(join(root, 'dsl', m, 'index.js'));

const GOOD = `import { hashMap, program } from ${dsl('program')};
import { struct, u32, u64 } from ${dsl('types')};

const Key = struct('key', { id: u32 });
const Val = struct('val', { count: u64 });
export const counts = hashMap('counts', Key, Val, { maxEntries: 16 });

export const count = program('xdp', 'count', (b) => {
  const key = b.local(Key, { id: 1 });
  const v = b.lookup(counts, key).orReturn(2);
  v.count.atomicAdd(1);
  b.return(2);
});
`;
// The same without the null check: \`v.count\` (line 11, column 5) is a type error.
const BAD = GOOD.replace('b.lookup(counts, key).orReturn(2)', 'b.lookup(counts, key)');

function tsbpf(args: string[], cwd: string, cache: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, TSBPF_FROM_SOURCE: '1', XDG_CACHE_HOME: cache },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withDir<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-typecheck-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Each test starts the CLI from source twice (tsx + the TypeScript checker): minutes on a loaded machine.
describe('tsbpf build type-checks the module', { timeout: 300_000 }, () => {
  it('a type error fails with file:line:col and exit 1; --no-typecheck reaches the runtime check instead', () =>
    withDir((dir) => {
      const cache = join(dir, 'cache');
      writeFileSync(join(dir, 'bad.ts'), BAD);
      const r = tsbpf(['build', 'bad.ts', '-o', 'bad.o'], dir, cache);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^bad\.ts:11:5: Property 'count' does not exist on type 'Nullable<.*\(TS2339\)$/m);
      expect(r.stderr).toContain('--no-typecheck');
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(existsSync(join(dir, 'bad.o'))).toBe(false);

      const unchecked = tsbpf(['build', 'bad.ts', '-o', 'bad.o', '--no-typecheck'], dir, cache);
      expect(unchecked.stderr).not.toContain('TS2339');
      expect(unchecked.status).toBe(1);
      expect(existsSync(join(dir, 'bad.o'))).toBe(false);
    }));

  it('a good module builds, and the passing check is remembered', () =>
    withDir((dir) => {
      const cache = join(dir, 'cache');
      writeFileSync(join(dir, 'good.ts'), GOOD);
      const r = tsbpf(['build', 'good.ts', '-o', 'good.o'], dir, cache);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(existsSync(join(dir, 'good.o'))).toBe(true);
      expect(readdirSync(join(cache, 'tsbpf', 'typecheck'))).toHaveLength(1);
      // An edit that breaks the types is seen despite the remembered pass.
      writeFileSync(join(dir, 'good.ts'), BAD);
      const again = tsbpf(['build', 'good.ts', '-o', 'again.o'], dir, cache);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/^good\.ts:11:5: .*\(TS2339\)$/m);
    }));
});
