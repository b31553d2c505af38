/**
 * `tsbpf build` as a user runs it (the CLI in-process, through test/support/cli.ts):
 * same module, same bytes; `--explain` and `--json` report the split; `--target`
 * accepts names, a profile JSON file, and the file `tsbpf probe --profile` writes;
 * bad input gives a one-line typed error, not a stack trace.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileByName, profileToJson } from '../../dsl/kernel/index.js';
import { readObject } from '../../dsl/elf/index.js';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';

const root = join(import.meta.dirname, '..', '..');

async function tsbpf(args: string[], cwd: string) {
  const r = await runCli(args, { cwd });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

async function withDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-build-'));
  try {
    return await f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('tsbpf build', () => {
  it('writes the same bytes twice and explains the split', () =>
    withDir(async (dir) => {
      const mod = join(root, 'examples', 'big-loop.ts');
      const a = await tsbpf(['build', mod, '--target', '4.19', '-o', 'a.o', '--explain'], dir);
      expect(a.stderr).toBe('');
      expect(a.status).toBe(0);
      const b = await tsbpf(['build', mod, '--target', '4.19', '-o', 'b.o'], dir);
      expect(b.status).toBe(0);
      const bytesA = readFileSync(join(dir, 'a.o'));
      expect(bytesA.equals(readFileSync(join(dir, 'b.o')))).toBe(true);
      expect(a.stdout).toMatch(/program big_loop \(section tc\) — target 4\.19/);
      expect(a.stdout).toMatch(/instructions: \d+ in \d+ slots(, \d+ lddw counting 2)? \(limit 4096 slots\)/);
      expect(a.stdout).toMatch(/loops: 0 real \(backward jumps\); 1 loop\(\) in the source, unrolled/);
      expect(a.stdout).toMatch(/split: \d+ pieces chained by tail calls/);
      expect(a.stdout).toMatch(/resume \d+ → piece 1 at #\d+ \(.*big-loop\.ts:\d+:\d+\)/);
      const spec = readObject(new Uint8Array(bytesA));
      expect(spec.programs.map((p) => p.name)[0]).toBe('big_loop');
      expect(spec.programs.length).toBeGreaterThan(1);
      expect(spec.maps?.some((m) => m.type === 'PROG_ARRAY' || m.type === 3)).toBe(true);
    }));

  it('--json reports programs; 6.6 keeps one program with real loops', () =>
    withDir(async (dir) => {
      const r = await tsbpf(['build', join(root, 'examples', 'loops.ts'), '--target', '6.6', '--json'], dir);
      expect(r.status).toBe(0);
      const j = JSON.parse(r.stdout) as { target: string; output: string; programs: { program: string; loops: number; sourceLoops: number; loopsUnrolled: boolean; split: { pieces: unknown[] } }[] };
      expect(j.programs[0]!.sourceLoops).toBe(2);
      expect(j.programs[0]!.loopsUnrolled).toBe(false);
      expect(j.target).toBe('6.6');
      expect(j.output).toBe('loops.o');
      expect(j.programs[0]!.program).toBe('hash_loop');
      expect(j.programs[0]!.loops).toBeGreaterThan(0);
      expect(j.programs[0]!.split.pieces).toHaveLength(1);
      expect(readObject(new Uint8Array(readFileSync(join(dir, 'loops.o')))).programs).toHaveLength(1);
    }));

  it('--target PROFILE.json (a profile file) gives the same bytes as the named profile', () =>
    withDir(async (dir) => {
      writeFileSync(join(dir, 'p.json'), profileToJson(profileByName('5.10')));
      const mod = join(root, 'examples', 'connect4.ts');
      expect((await tsbpf(['build', mod, '--target', 'p.json', '-o', 'f.o'], dir)).status).toBe(0);
      expect((await tsbpf(['build', mod, '--target', '5.10', '-o', 'n.o'], dir)).status).toBe(0);
      expect(readFileSync(join(dir, 'f.o')).equals(readFileSync(join(dir, 'n.o')))).toBe(true);
    }));

  it.skipIf(!need({ kernel: true }))('--target host reads the profile `tsbpf probe --profile` wrote', () =>
    withDir(async (dir) => {
      const probe = await tsbpf(['probe', '--profile'], dir);
      expect(probe.status).toBe(0);
      writeFileSync(join(dir, 'tsbpf-host-profile.json'), probe.stdout);
      const r = await tsbpf(['build', join(root, 'examples', 'packet-counter.ts'), '--target', 'host', '--explain'], dir);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/target host/);
      const viaFile = await tsbpf(['build', join(root, 'examples', 'packet-counter.ts'), '--target', 'tsbpf-host-profile.json', '-o', 'x.o'], dir);
      expect(viaFile.status).toBe(0);
    }));

  it('bad input: one-line typed errors', () =>
    withDir(async (dir) => {
      const unknown = await tsbpf(['build', join(root, 'examples', 'loops.ts'), '--target', '3.10'], dir);
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toMatch(/^tsbpf: unknown target '3\.10'; use one of 4\.19, /);
      const missing = await tsbpf(['build', join(dir, 'nope.ts')], dir);
      expect(missing.stderr).toMatch(/^tsbpf: module .*nope\.ts does not exist/);
      writeFileSync(join(dir, 'empty.ts'), 'export const x = 1;\n');
      const empty = await tsbpf(['build', 'empty.ts'], dir);
      expect(empty.stderr).toMatch(/exports no programs/);
      writeFileSync(join(dir, 'bad.json'), '{"name": 1}');
      const badProfile = await tsbpf(['build', join(root, 'examples', 'loops.ts'), '--target', 'bad.json'], dir);
      expect(badProfile.stderr).toMatch(/^tsbpf: profile field 'name'/);
      for (const r of [unknown, missing, empty, badProfile]) expect(r.stderr).not.toMatch(/\n\s+at /);
    }));
});
