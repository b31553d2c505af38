/**
 * Names the loader gives kernel objects. Global-data maps are named the way
 * libbpf names them, so tools (bpftool, other loaders) see the same names:
 * at most 8 characters of the object name followed by the section name,
 * truncated to the kernel's 15 characters (`object_t.rodata`, `object_t.bss`);
 * a custom section (`.data.conf`) is named after the section alone.
 */
import { basename } from 'node:path';

/** The kernel keeps 15 characters of an object name (BPF_OBJ_NAME_LEN 16 with the NUL). */
const KERNEL_NAME_MAX = 15;

/** Object name from a file path as libbpf derives it: the base name up to its first dot. */
export function objectNameFromPath(path: string): string {
  const base = basename(path);
  const dot = base.indexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** Replaces characters the kernel refuses in names ([A-Za-z0-9_.] only) with `_`. */
export function sanitizeKernelName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_');
}

/** Kernel name of the global-data map of `section` in the object named `objectName`. */
export function globalMapName(objectName: string, section: string): string {
  // libbpf: the suffix counts as at least 7 characters, so the prefix is at most 8 (BPF_OBJ_NAME_LEN - 7 - 1).
  // A custom section (`.data.conf`: a second dot) is named after itself alone.
  const custom = section.indexOf('.', 1) >= 0;
  const suffixLength = Math.max(7, section.length);
  const prefix = custom ? '' : objectName.slice(0, Math.max(0, KERNEL_NAME_MAX - suffixLength));
  return sanitizeKernelName(`${prefix}${section}`).slice(0, KERNEL_NAME_MAX);
}

/** File name libbpf pins a map under: its name with `.` replaced by `_` (`obj.rodata` → `obj_rodata`). */
export function pinFileName(mapName: string): string {
  return mapName.replaceAll('.', '_');
}
