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

/** Whether a frame's file is ours (tsbpf's dsl/ tree), Node's, or a dependency's. */
function skipFile(file: string): boolean {
  return file.startsWith('node:') || file.startsWith('internal/') || file.startsWith(dslDir) || file.includes(`${sep}node_modules${sep}`);
}

function toPath(file: string): string | undefined {
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return undefined;
  }
}

// Formatting a stack trace (with source maps) is ~100x slower than capturing one,
// so the formatted location is cached per raw call site: a loop emitting thousands
// of instructions from one line pays once.
const cache = new Map<string, SourceLocation | undefined>();

/** The raw (unmapped) key of the first call site outside tsbpf's dsl/ tree. */
function rawCallerKey(): string | undefined {
  const saved = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  let sites: NodeJS.CallSite[] = [];
  try {
    Error.stackTraceLimit = 16;
    Error.prepareStackTrace = (_e, cs) => cs;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerLocation);
    sites = (holder.stack as NodeJS.CallSite[] | undefined) ?? [];
  } finally {
    Error.prepareStackTrace = saved;
    Error.stackTraceLimit = limit;
  }
  for (const site of sites) {
    const raw = site.getFileName();
    if (!raw) continue;
    const file = toPath(raw);
    if (!file || skipFile(file)) continue;
    return `${file}:${site.getLineNumber()}:${site.getColumnNumber()}`;
  }
  return undefined;
}

/** The first (source-mapped) stack frame outside tsbpf's `dsl/` directory, from a formatted trace. */
function formattedCaller(): SourceLocation | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  for (const line of stack.split('\n').slice(1)) {
    const m = frame.exec(line.trim());
    if (!m) continue;
    const file = toPath(m[1]!);
    if (!file || skipFile(file)) continue;
    return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

/** The user's file:line:column calling into tsbpf (first frame outside `dsl/`), or undefined. */
export function callerLocation(): SourceLocation | undefined {
  if (!enabled) return undefined;
  const key = rawCallerKey();
  if (key === undefined) return undefined;
  if (cache.has(key)) return cache.get(key);
  const loc = formattedCaller();
  if (cache.size > 100_000) cache.clear();
  cache.set(key, loc);
  return loc;
}
