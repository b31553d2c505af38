/**
 * `npm start` for real: the package's start script run as a process (from the
 * sources). It must show connections to the service spread over both backend
 * pods with none failed and the latency percentiles, and leave nothing behind
 * — no namespace, cgroup, bpffs mount or pin directory — also when stopped with
 * SIGINT half-way. Without root it says what it needs and exits non-zero.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroup2Mount } from '../support/cgroup.js';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';

const root = join(import.meta.dirname, '..', '..');
const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
// `node bin/tsbpf.js lb demo`: run with this Node, without a shell in between (so signals reach it).
const argv = start.split(/\s+/).map((a) => (a === 'node' ? process.execPath : a));
const env = { ...process.env, TSBPF_FROM_SOURCE: '1' };

/** What the demo may leave behind: its namespaces, cgroups, bpffs mounts and pin directories. */
function leftovers(pid: number): string[] {
  const mine = (name: string) => name.startsWith('tsbpf-') && name.includes(`-${pid}-`);
  return [
    ...listNetns().filter(mine).map((n) => `netns ${n}`),
    ...readdirSync(cgroup2Mount()).filter(mine).map((n) => `cgroup ${n}`),
    ...readdirSync(tmpdir()).filter(mine).map((n) => `dir ${n}`),
    ...readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(`-${pid}-`)).map((l) => `mount ${l}`),
  ];
}

describe('npm start (the socket LB demo)', () => {
  it('is the lb demo', () => {
    expect(argv.slice(1)).toEqual(['bin/tsbpf.js', 'lb', 'demo']);
  });

  it.skipIf(!need({ kernel: true, tools: ['ip'] }))('spreads real connections over both pods, reports latency, and tears everything down', () => {
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: root, env, encoding: 'utf8', timeout: 90_000 });
    expect(r.status, r.stderr).toBe(0);
    const spread = [...r.stdout.matchAll(/^ {2}(backend-[12]) +(\d+) +([\d.]+)%/gm)].map((m) => [m[1], Number(m[2])] as const);
    expect(spread.map(([n]) => n)).toEqual(['backend-1', 'backend-2']);
    expect(spread.reduce((a, [, n]) => a + n, 0)).toBe(200);
    // 200 random picks: each pod gets at least 60 except with probability < 1e-8.
    for (const [, n] of spread) expect(n).toBeGreaterThan(60);
    expect(r.stdout).toMatch(/^ {2}failed +0$/m);
    expect(r.stdout).toMatch(/through the service +p50 +\d+ µs +p99 +\d+ µs/);
    expect(r.stdout).toMatch(/straight to backend-1 p50 +\d+ µs +p99 +\d+ µs/);
    expect(r.stdout).toContain('torn down');
    expect(leftovers(r.pid!)).toEqual([]);
  }, 120_000);

  it.skipIf(!need({ kernel: true, tools: ['ip'] }))('on SIGINT half-way it tears down and exits 130', async () => {
    const child = spawn(argv[0]!, [...argv.slice(1), '--connections', '5000'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      // Interrupt while the client is making connections.
      if (out.includes('service 10.96.0.10') && child.exitCode === null) setTimeout(() => process.kill(child.pid!, 'SIGINT'), 200);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => process.kill(child.pid!, 'SIGKILL'), 90_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    expect(out).toContain('service 10.96.0.10');
    expect(out).not.toContain('torn down:');
    expect(code, err).toBe(130);
    expect(err).toContain('SIGINT');
    expect(leftovers(child.pid!)).toEqual([]);
  }, 120_000);

  it.skipIf(!need({ tools: ['setpriv'] }) || process.getuid?.() !== 0)('without root it says what it needs and exits non-zero', () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...argv], { cwd: root, env: { ...env, HOME: tmpdir() }, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^tsbpf: the demo needs root: .*sudo npm start/);
    expect(r.stdout).toBe('');
  }, 90_000);
});
