/**
 * The published shape: every subpath in package.json `exports` resolves to compiled
 * JS with declarations, and `tsbpf --help` runs from dist/. `npm ci` builds dist/
 * through the `prepare` script, so in CI this checks exactly what a user installs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
};

describe('package exports', () => {
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'index.js'))) {
      execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
    }
  }, 300_000);

  const subpaths = Object.entries(pkg.exports).filter(([, v]) => typeof v !== 'string');
  it.each(subpaths)('%s resolves to built JS with typings and exports something', (subpath, target) => {
    const t = target as { types: string; default: string };
    expect(existsSync(join(root, t.default)), t.default).toBe(true);
    expect(existsSync(join(root, t.types)), t.types).toBe(true);
    const specifier = subpath === '.' ? 'tsbpf' : `tsbpf/${subpath.slice(2)}`;
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).length)`],
      { cwd: root, encoding: 'utf8' },
    );
    expect(Number(out.trim())).toBeGreaterThan(0);
  });

  it('the bin runs the compiled CLI', () => {
    const out = execFileSync(process.execPath, [join(root, pkg.bin.tsbpf), '--help'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TSBPF_FROM_SOURCE: '' },
    });
    expect(out).toMatch(/^Usage: tsbpf/m);
  });
});
