/**
 * `tsbpf lb` CLI tests' common frame: a private bpffs directory and a test
 * cgroup, `lb up` (with extra arguments) on them, the body, and the LB purged
 * afterwards whatever happened.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { lbDown } from '../../programs/lb/deploy.js';
import { createPinDir } from './bpffs.js';
import { createTestCgroup } from './cgroup.js';
import { runCli } from './cli.js';

/** Runs `body` with the pin directory of an LB brought up by `tsbpf lb up …upArgs`; purges it afterwards. */
export async function withLbUp(tag: string, upArgs: readonly string[], body: (pin: string) => Promise<void>): Promise<void> {
  using pins = createPinDir(tag);
  using cg = createTestCgroup(tag);
  const pin = join(pins.path, 'lb');
  try {
    const up = await runCli(['lb', 'up', ...upArgs, '--cgroup', cg.path, '--pin', pin]);
    expect(up.code, up.stderr).toBe(0);
    await body(pin);
  } finally {
    try {
      lbDown({ pinDir: pin, purge: true });
    } catch {
      // Gone with the bpffs.
    }
  }
}
