/** errno numbers ↔ names, from Node's own table plus the kernel-internal ones bpf() leaks. */
import { constants } from 'node:os';

/**
 * Kernel-internal errnos (include/linux/errno.h) that bpf() returns to user space
 * even though libc has no name for them; ENOTSUPP (524) is the common one.
 */
const KERNEL_INTERNAL: Record<number, string> = {
  512: 'ERESTARTSYS',
  515: 'ENOIOCTLCMD',
  524: 'ENOTSUPP',
};

const byNumber = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) {
  // Node lists aliases (EWOULDBLOCK=EAGAIN, EDEADLOCK=EDEADLK, ENOTSUP=EOPNOTSUPP);
  // keep the first, canonical name.
  if (!byNumber.has(num)) byNumber.set(num, name);
}
for (const name of ['EAGAIN', 'EDEADLK', 'EOPNOTSUPP']) {
  const num = (constants.errno as Record<string, number>)[name];
  if (num !== undefined) byNumber.set(num, name);
}
for (const [num, name] of Object.entries(KERNEL_INTERNAL)) byNumber.set(Number(num), name);

/** Symbolic name of an errno number (`EPERM`), or `E<number>` when unknown. */
export function errnoName(errno: number): string {
  return byNumber.get(errno) ?? `E${errno}`;
}

/** errno number of a symbolic name, or undefined. */
export function errnoNumber(name: string): number | undefined {
  const n = (constants.errno as Record<string, number>)[name];
  if (n !== undefined) return n;
  for (const [num, nm] of Object.entries(KERNEL_INTERNAL)) if (nm === name) return Number(num);
  return undefined;
}
