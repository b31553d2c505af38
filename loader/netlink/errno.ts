/** Errno numbers ↔ names, taken from Node's own table so they match the running platform. */
import { constants } from 'node:os';

const byNumber = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!byNumber.has(value)) byNumber.set(value, name);
}

/** The symbolic name of an errno value (`EEXIST` for 17), or `E<n>` when unknown. */
export function errnoName(errno: number): string {
  return byNumber.get(errno) ?? `E${errno}`;
}

/** The errno value of a symbolic name (`ENOENT` → 2). */
export function errnoValue(name: keyof typeof constants.errno): number {
  return constants.errno[name];
}
