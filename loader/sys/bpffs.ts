/**
 * Whether a path is on a BPF filesystem. Pinning anywhere else fails with a
 * bare EPERM (even for root), so callers check first and say what is wrong.
 */
import { existsSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** `f_type` of bpffs (BPF_FS_MAGIC in linux/magic.h). */
export const BPF_FS_MAGIC = 0xcafe4a11;

const knownFs: Record<number, string> = {
  0x01021994: 'tmpfs',
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x794c7630: 'overlayfs',
  0x62656572: 'sysfs',
  0x9fa0: 'procfs',
  0x63677270: 'cgroup2',
};

/** The nearest existing directory at or above `path` (what a mkdir -p of `path` would create under). */
export function existingAncestor(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/** Name of the filesystem `path` (or its nearest existing ancestor) is on, and whether it is bpffs. */
export function filesystemOf(path: string): { readonly bpffs: boolean; readonly name: string } {
  const at = existingAncestor(path);
  let type: number;
  try {
    type = statfsSync(at).type;
  } catch {
    return { bpffs: false, name: 'an unreadable filesystem' };
  }
  const magic = type >>> 0;
  return { bpffs: magic === BPF_FS_MAGIC, name: magic === BPF_FS_MAGIC ? 'bpffs' : (knownFs[magic] ?? `filesystem type 0x${magic.toString(16)}`) };
}

/** Whether `path` is (or would be created) on bpffs. */
export function isOnBpffs(path: string): boolean {
  return filesystemOf(path).bpffs;
}
