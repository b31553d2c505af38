/**
 * Captures the user's file:line:column at builder call time from a stack trace,
 * so every instruction knows where it came from (BTF line_info, verifier errors
 * mapped back to TypeScript). Frames inside tsbpf's own `dsl/` tree and Node
 * internals are skipped: the first remaining frame is the caller we want.
 *
 * Cost matters: every builder call captures. V8's structured call sites
 * (`Error.captureStackTrace` with a `prepareStackTrace` returning them, a short
 * `stackTraceLimit`) are cheap; formatting a whole trace with source maps is
 * not. So per raw call site we map just that one frame, once, through the
 * module's source map (`findSourceMap`, which tsx registers); only when no
 * source map is registered (vitest's own transform) do we fall back to a
 * formatted trace — also once per call site.
 */
import { findSourceMap, type SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { basename, dirname, sep } from 'node:path';
import type { SourceLocation } from './instruction.js';

// This file's path; dsl/isa/source.ts → the dsl/ directory (for .ts sources and
// compiled dist/dsl/isa/*.js). Inside a bundle (the CLI) the whole toolchain is
// one file, so that file is what counts as ours.
const here = fileURLToPath(import.meta.url);
const dslDir = basename(dirname(here)) === 'isa' ? dirname(dirname(here)) + sep : undefined;
const frame = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?\s*$/;

let enabled = true;

/** Turns stack capture on or off (it costs a stack trace per instruction); returns the previous setting. */
export function setSourceCapture(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** What we know about one raw frame file name (as V8 reports it), computed once. */
interface FrameFile {
  /** The file path, or undefined for frames to skip (ours, Node's, dependencies', unmappable). */
  readonly path: string | undefined;
  /** Its source map (undefined: none registered with Node), looked up on first use. */
  map?: SourceMap | null;
}

const files = new Map<string, FrameFile>();

/** Whether a frame's file is ours (tsbpf's dsl/ tree), Node's, or a dependency's. */
function skipFile(file: string): boolean {
  return (
    file === here ||
    file.startsWith('node:') ||
    file.startsWith('internal/') ||
    (dslDir !== undefined && file.startsWith(dslDir)) ||
    file.includes(`${sep}node_modules${sep}`)
  );
}

function toPath(file: string): string | undefined {
  // A `data:` module (how tsx's tsImport runs a CommonJS module) has no file
  // position we could trust; load such modules with tsx's require instead.
  if (file.startsWith('data:')) return undefined;
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return undefined;
  }
}

function frameFile(raw: string): FrameFile {
  let f = files.get(raw);
  if (!f) {
    const path = toPath(raw);
    f = { path: path === undefined || skipFile(path) ? undefined : path };
    files.set(raw, f);
  }
  return f;
}

// Mapped location per raw call site (file → line → column): a loop emitting
// thousands of instructions from one line pays the mapping once.
const sites = new Map<string, Map<number, SourceLocation | undefined>>();
let cached = 0;

function captureSites(limit: number): NodeJS.CallSite[] {
  const saved = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = (_e, cs) => cs;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerLocation);
    return (holder.stack as NodeJS.CallSite[] | undefined) ?? [];
  } finally {
    Error.prepareStackTrace = saved;
    Error.stackTraceLimit = savedLimit;
  }
}

/** The first call site outside tsbpf's dsl/ tree, with its file facts. */
function userSite(): { raw: string; file: FrameFile; line: number; column: number } | undefined {
  // Builder calls are a few frames deep; look further only when needed.
  for (const limit of [12, 64]) {
    const cs = captureSites(limit);
    for (const site of cs) {
      const raw = site.getFileName();
      if (!raw) continue;
      const file = frameFile(raw);
      if (file.path === undefined) continue;
      return { raw, file, line: site.getLineNumber() ?? 0, column: site.getColumnNumber() ?? 0 };
    }
    if (cs.length < limit) break;
  }
  return undefined;
}

/** Maps one raw frame position through the module's source map; undefined when there is none. */
function mapped(raw: string, file: FrameFile, line: number, column: number): SourceLocation | undefined | null {
  if (file.map === undefined) {
    let map: SourceMap | undefined;
    try {
      map = findSourceMap(raw) ?? (raw !== file.path ? findSourceMap(file.path!) : undefined);
    } catch {
      map = undefined;
    }
    file.map = map ?? null;
  }
  if (!file.map) return null;
  const e = file.map.findEntry(line - 1, column - 1) as Partial<{ originalSource: string; originalLine: number; originalColumn: number }>;
  if (e.originalSource === undefined || e.originalLine === undefined || e.originalColumn === undefined) return null;
  const path = toPath(e.originalSource);
  if (path === undefined) return undefined;
  return { file: path, line: e.originalLine + 1, column: e.originalColumn + 1 };
}

/** The first (source-mapped) stack frame outside tsbpf's `dsl/` directory, from a formatted trace. */
function formattedCaller(): SourceLocation | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
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
  const site = userSite();
  if (!site) return undefined;
  let byPos = sites.get(site.raw);
  if (!byPos) sites.set(site.raw, (byPos = new Map()));
  const pos = site.line * 0x100000 + site.column;
  if (byPos.has(pos)) return byPos.get(pos);
  const m = mapped(site.raw, site.file, site.line, site.column);
  const loc = m === null ? formattedCaller() : m;
  if (++cached > 100_000) {
    sites.clear();
    cached = 0;
  }
  byPos.set(pos, loc);
  return loc;
}
