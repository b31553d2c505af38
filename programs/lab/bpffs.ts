/**
 * A private bpffs instance for the lab's pins, mounted on a fresh directory
 * under the temp dir: never the host's /sys/fs/bpf (which `ip netns exec`
 * remounts anyway), and every pin disappears with the unmount.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.js';
import { uniqueName } from './netns.js';

/** A pin directory on its own bpffs. */
export interface LabPinDir extends Disposable {
  readonly path: string;
  /** Unmounts the bpffs (dropping every pin) and removes the directory. */
  cleanup(): void;
}

/** Mounts a private bpffs on `<tmpdir>/tsbpf-<tag>-<pid>-<hex>`. */
export function createPinDir(tag = 'pins'): LabPinDir {
  const path = join(tmpdir(), uniqueName(tag));
  mkdirSync(path);
  try {
    run(['mount', '-t', 'bpf', 'bpf', path]);
  } catch (e) {
    rmSync(path, { recursive: true, force: true });
    throw e;
  }
  const cleanup = () => {
    try {
      run(['umount', path]);
    } catch {
      // Not mounted any more.
    }
    rmSync(path, { recursive: true, force: true });
  };
  return { path, cleanup, [Symbol.dispose]: cleanup };
}
