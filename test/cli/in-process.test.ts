/**
 * main() in-process (what test/support/cli.ts relies on): output goes only to
 * the given writers, the exit code is returned (process.exitCode untouched),
 * the working directory is restored, and nothing carries over between runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runCli } from '../support/cli.js';

describe('tsbpf in-process', () => {
  it('writes only to its writers, returns the exit code, restores the cwd; runs do not share state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-inproc-'));
    const out = vi.spyOn(process.stdout, 'write');
    const err = vi.spyOn(process.stderr, 'write');
    const home = process.cwd();
    try {
      writeFileSync(join(dir, 'a.s'), 'r0 = 1\nexit\n');
      const bad = await runCli(['asm', 'missing.s'], { cwd: dir });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^tsbpf: cannot read assembly source missing\.s/);
      expect(process.exitCode).toBeUndefined();
      expect(process.cwd()).toBe(home);
      const bin = await runCli(['asm', 'a.s', '--bin', 'a.bin'], { cwd: dir });
      expect(bin).toEqual({ code: 0, stdout: '', stderr: '' });
      // Without --bin/-o again the listing is printed: the previous run's options are gone.
      const listing = await runCli(['asm', 'a.s'], { cwd: dir });
      expect(listing.code).toBe(0);
      expect(listing.stdout).toMatch(/^\s+0:\tb7 00 00 00 01 00 00 00\tr0 = 0x1\n\s+1:\t95 00 00 00 00 00 00 00\texit\n$/);
      const usage = await runCli(['asm']);
      expect(usage.code).toBe(1);
      expect(usage.stderr).toMatch(/^error: missing required argument/);
      expect(out).not.toHaveBeenCalled();
      expect(err).not.toHaveBeenCalled();
    } finally {
      out.mockRestore();
      err.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
