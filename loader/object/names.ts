/**
 * Names the loader gives kernel objects. Global-data maps are named the way
 * libbpf names them, so tools (bpftool, other loaders) see the same names:
 * the object name's first characters (8 before `.rodata`, 10 before `.data`,
 * 11 before `.bss`) followed by the section name, truncated to the kernel's 15 characters; a
 * custom section (`.data.conf`) is named after the section alone.
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
  const standard = section === '.rodata' || section === '.data' || section === '.bss';
  // libbpf: min(BPF_OBJ_NAME_LEN - strlen(section) - 1, strlen(object name)) characters of prefix.
  const prefix = standard ? objectName.slice(0, Math.max(0, KERNEL_NAME_MAX - section.length)) : '';
  return sanitizeKernelName(`${prefix}${section}`).slice(0, KERNEL_NAME_MAX);
}
