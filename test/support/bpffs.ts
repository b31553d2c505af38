/**
 * Private bpffs instances for kernel tests. Pins never go to the host's
 * /sys/fs/bpf: every bpffs mount is its own instance, so a pin directory
 * mounted under /tmp (or a bpffs inside a private mount namespace) is invisible
 * to everything but the test, and disappears with it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A directory on a private bpffs for one test's pins. */
export interface PinDir extends Disposable {
  readonly path: string;
  /** Unmounts the bpffs (dropping every pin in it) and removes the directory. */
  cleanup(): void;
}

/**
 * A per-test pin directory on a private bpffs instance mounted on a temporary
 * directory. Never /sys/fs/bpf: `ip netns exec` remounts /sys, so a pin there is
 * invisible to `tc`/`ip` run inside a test namespace, while a /tmp mount is not.
 */
export function createPinDir(tag = 'pins'): PinDir {
  const path = join(tmpdir(), `tsbpf-test-${tag}-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(path);
  try {
    execFileSync('mount', ['-t', 'bpf', 'bpf', path], { stdio: 'pipe' });
  } catch (e) {
    rmdirSync(path);
    throw e;
  }
  const cleanup = () => {
    try {
      execFileSync('umount', [path], { stdio: 'pipe' });
    } catch {
      // Not mounted any more.
    }
    rmSync(path, { recursive: true, force: true });
  };
  return { path, cleanup, [Symbol.dispose]: cleanup };
}

/** One command's result inside {@link bpffsSession}. */
export interface SessionResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

/**
 * Runs `commands` (argv lists; `$PIN` is replaced by a per-test directory) in a
 * private mount namespace with a fresh bpffs on /sys/fs/bpf, for tools such as
 * bpftool that pin there. Everything pinned (including maps pinned by name at
 * the bpffs root, where libbpf puts them) disappears with the namespace, so the
 * host's /sys/fs/bpf is never touched and nothing leaks even if the test fails
 * half-way.
 */
export function bpffsSession(commands: string[][]): SessionResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-bpffs-'));
  try {
    const pin = `/sys/fs/bpf/tsbpf-elf-${process.pid}-${Date.now()}`;
    const q = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
    const lines = ['set -u', 'mount -t bpf bpf /sys/fs/bpf || exit 90', `mkdir -p ${q(pin)} || exit 91`];
    commands.forEach((argv, k) => {
      const cmd = argv.map((a) => q(a.replaceAll('$PIN', pin))).join(' ');
      lines.push(`${cmd} >${q(join(dir, `out${k}`))} 2>${q(join(dir, `err${k}`))}; echo $? >${q(join(dir, `rc${k}`))}`);
    });
    lines.push(`rm -rf ${q(pin)}`);
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', lines.join('\n')], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`bpffs session failed (status ${r.status}): ${r.stderr}`);
    return commands.map((_, k) => ({
      stdout: readFileSync(join(dir, `out${k}`), 'utf8'),
      stderr: readFileSync(join(dir, `err${k}`), 'utf8'),
      status: Number(readFileSync(join(dir, `rc${k}`), 'utf8').trim()),
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
