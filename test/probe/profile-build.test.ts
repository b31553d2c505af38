/**
 * The probe's profile drives the compiler: `tsbpf probe --profile > p.json`, then
 * `tsbpf build --target p.json` on a small DSL program, both as a user runs them
 * (the CLI in-process, from the sources), and the object loads on this kernel
 * (bpftool prog loadall, pinned in a private mount namespace with its own bpffs, so
 * bpftool never mounts anything on the host's /sys/fs/bpf).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bpffsSession } from '../support/bpffs.js';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';
import { readObject } from '../../dsl/elf/index.js';

const root = join(import.meta.dirname, '..', '..');
const ok = need({ kernel: true, tools: ['bpftool'] });

async function tsbpf(args: string[], cwd: string) {
  const r = await runCli(args, { cwd });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!ok)('tsbpf probe --profile → tsbpf build --target', () => {
  it('builds a small program for the probed profile, and the object loads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-probe-profile-'));
    try {
      const probe = await tsbpf(['probe', '--profile'], dir);
      expect(probe.status, probe.stderr).toBe(0);
      writeFileSync(join(dir, 'p.json'), probe.stdout);
      expect((JSON.parse(probe.stdout) as { name: string }).name).toBe('host');
      const build = await tsbpf(['build', join(root, 'examples', 'packet-counter.ts'), '--target', 'p.json', '-o', 'counter.o', '--json'], dir);
      expect(build.status, build.stderr).toBe(0);
      const obj = join(dir, 'counter.o');
      expect(existsSync(obj)).toBe(true);
      expect(readObject(readFileSync(obj)).programs.length).toBeGreaterThan(0);
      const [load, list] = bpffsSession([['bpftool', 'prog', 'loadall', obj, '$PIN/progs'], ['ls', '$PIN/progs']]);
      expect(load!.status, load!.stderr).toBe(0);
      const pinned = list!.stdout.trim().split('\n').filter(Boolean);
      expect(pinned.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
