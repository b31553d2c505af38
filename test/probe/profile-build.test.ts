/**
 * The probe's profile drives the compiler: `tsbpf probe --profile > p.json`, then
 * `tsbpf build --target p.json` on a small DSL program, both as a user runs them
 * (the bin script, from the sources), and the object loads on this kernel
 * (bpftool prog loadall, pinned under a per-test directory removed afterwards).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { readObject } from '../../dsl/elf/index.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'tsbpf.js');
const ok = need({ kernel: true, tools: ['bpftool'] });

function tsbpf(args: string[], cwd: string) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, TSBPF_FROM_SOURCE: '1' }, timeout: 120_000 });
}

describe.skipIf(!ok)('tsbpf probe --profile → tsbpf build --target', () => {
  it('builds a small program for the probed profile, and the object loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-probe-profile-'));
    const pins = join('/sys/fs/bpf', `tsbpf-probe-profile-${process.pid}`);
    try {
      const probe = tsbpf(['probe', '--profile'], dir);
      expect(probe.status, probe.stderr).toBe(0);
      writeFileSync(join(dir, 'p.json'), probe.stdout);
      expect((JSON.parse(probe.stdout) as { name: string }).name).toBe('host');
      const build = tsbpf(['build', join(root, 'examples', 'packet-counter.ts'), '--target', 'p.json', '-o', 'counter.o', '--json'], dir);
      expect(build.status, build.stderr).toBe(0);
      const obj = join(dir, 'counter.o');
      expect(existsSync(obj)).toBe(true);
      expect(readObject(readFileSync(obj)).programs.length).toBeGreaterThan(0);
      execFileSync('bpftool', ['prog', 'loadall', obj, pins], { stdio: 'pipe' });
      const pinned = execFileSync('ls', [pins], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
      expect(pinned.length).toBeGreaterThan(0);
    } finally {
      rmSync(pins, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
