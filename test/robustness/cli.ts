/**
 * Runs the `tsbpf` CLI as a user runs it (`node bin/tsbpf.js …` from the
 * sources) and checks the robustness contract: a failure is exactly one line on
 * stderr starting `tsbpf: `, exit code 1, and no Node stack trace.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

/** The repository root. */
export const root = join(import.meta.dirname, '..', '..');
/** The robustness reproducers copied into the repository. */
export const fixtures = join(root, 'test', 'fixtures', 'robustness');

/** Result of one CLI run. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tsbpf args…` in `cwd`. */
export function tsbpf(args: readonly string[], cwd: string = root): CliRun {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'tsbpf.js'), ...args], {
    cwd,
    env: { ...process.env, TSBPF_FROM_SOURCE: '1', NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts `r` failed with one `tsbpf: …` line matching `message` and no stack trace; returns the line. */
export function expectOneLineError(r: CliRun, message: RegExp): string {
  expect(r.code).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tsbpf: /);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/node:internal|Maximum call stack/);
  return lines[0]!;
}
