/** Small queries over an `ElfFile`. */
import type { ElfFile } from './types.js';

/** Index of the first section named `name`, or undefined. */
export function sectionIndex(file: ElfFile, name: string): number | undefined {
  const i = file.sections.findIndex((s, k) => k > 0 && s.name === name);
  return i < 0 ? undefined : i;
}
