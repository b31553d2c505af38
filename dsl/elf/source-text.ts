/**
 * The text of a source line for BTF line_info, read from the file the location
 * names (absolute, or relative to the working directory). clang stores the C
 * line there and `llvm-objdump -S` / `bpftool prog dump` / verifier logs print
 * it; locations captured from stack traces carry only file:line:col, so the
 * writer fills the text in. A file that cannot be read gives an empty string:
 * the record still names file:line, as before.
 */
import { readFileSync } from 'node:fs';

// Files are read once per process; a build touches a handful of sources.
const files = new Map<string, readonly string[] | undefined>();

function linesOf(file: string): readonly string[] | undefined {
  if (files.has(file)) return files.get(file);
  let lines: string[] | undefined;
  try {
    lines = readFileSync(file, 'utf8').split(/\r?\n/);
  } catch {
    lines = undefined;
  }
  if (files.size > 1024) files.clear();
  files.set(file, lines);
  return lines;
}

/** Text of 1-based `line` of `file` without its line ending (trailing blanks trimmed), or '' if unreadable. */
export function sourceLineText(file: string, line: number): string {
  if (!file || !Number.isInteger(line) || line < 1) return '';
  return linesOf(file)?.[line - 1]?.trimEnd() ?? '';
}
