/**
 * Captures the user's file:line:column at builder call time from a stack trace,
 * so every instruction knows where it came from (BTF line_info, verifier errors
 * mapped back to TypeScript). Frames inside tsbpf's own `dsl/` tree and Node
 * internals are skipped: the first remaining frame is the caller we want.
 */
import { fileURLToPath } from 'node:url';
import { dirname, sep } from 'node:path';
import type { SourceLocation } from './instruction.js';

// dsl/isa/source.ts → the dsl/ directory (works for .ts sources and compiled dist/dsl/isa/*.js).
const dslDir = dirname(dirname(fileURLToPath(import.meta.url))) + sep;
const frame = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?\s*$/;

let enabled = true;

/** Turns stack capture on or off (it costs a stack trace per instruction); returns the previous setting. */
export function setSourceCapture(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** The first stack frame outside tsbpf's `dsl/` directory, or undefined. */
export function callerLocation(): SourceLocation | undefined {
  if (!enabled) return undefined;
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = saved;
  for (const line of stack.split('\n').slice(1)) {
    const m = frame.exec(line.trim());
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith('node:') || file.startsWith('internal/')) continue;
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file);
      } catch {
        continue;
      }
    }
    if (file.startsWith(dslDir) || file.includes(`${sep}node_modules${sep}`)) continue;
    return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}
