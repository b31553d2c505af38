/**
 * cgroup v2 directories for the lab: a fresh directory under the cgroup2 mount,
 * never the root cgroup, holding only the children the lab starts in it.
 */
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { uniqueName } from './netns.js';

/** The cgroup2 mount point, preferring the hybrid layout's `unified` directory. */
export function cgroup2Mount(): string {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup2')
    .map((f) => f[1]!);
  if (mounts.length === 0) throw new LabError('LAB_CGROUP', 'no cgroup2 filesystem mounted (see /proc/mounts)');
  return mounts.find((m) => m.endsWith('/unified')) ?? mounts[0]!;
}

/** A lab cgroup. */
export interface LabCgroup extends Disposable {
  readonly path: string;
  /** Process ids currently in it. */
  procs(): number[];
  /** Removes the directory, waiting up to 3 s for exiting children to leave. */
  cleanup(): void;
}

/** Creates `<cgroup2 mount>/tsbpf-<tag>-<pid>-<hex>`. */
export function createCgroup(tag = 'cg'): LabCgroup {
  const mount = cgroup2Mount();
  const path = join(mount, uniqueName(tag));
  mkdirSync(path);
  const procs = () =>
    readFileSync(join(path, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map(Number);
  const cleanup = () => {
    const deadline = Date.now() + 3000;
    for (;;) {
      try {
        rmdirSync(path);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY' || Date.now() > deadline) throw new LabError('LAB_CGROUP', `cannot remove cgroup ${path}: ${code}`, { cause: e });
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
  };
  return { path, procs, cleanup, [Symbol.dispose]: cleanup };
}
