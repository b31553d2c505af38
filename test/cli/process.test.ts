/**
 * The real `tsbpf` process (bin/tsbpf.js from the sources): what in-process runs
 * (test/support/cli.ts) cannot show — the bin entry wiring and the exit status
 * of the process itself. Every other CLI test runs in-process.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'tsbpf.js');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

function tsbpfProcess(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, TSBPF_FROM_SOURCE: '1' }, timeout: 60_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe('tsbpf as a process', () => {
  it('real process: exits 0 after printing the version', () => {
    const r = tsbpfProcess('--version');
    expect(r).toMatchObject({ status: 0, signal: null, stderr: '' });
    expect(r.stdout).toBe(`${version}\n`);
  });

  it('real process: a typed error exits 1 with one line on stderr; a usage error exits 1 too', () => {
    const missing = tsbpfProcess('dump', join(root, 'no-such-object.o'));
    expect(missing).toMatchObject({ status: 1, signal: null, stdout: '' });
    expect(missing.stderr).toMatch(/^tsbpf: cannot read .*no-such-object\.o[^\n]*\n$/);
    const usage = tsbpfProcess('no-such-command');
    expect(usage).toMatchObject({ status: 1, signal: null, stdout: '' });
    expect(usage.stderr).toMatch(/^error: unknown command 'no-such-command'/);
  });
});
