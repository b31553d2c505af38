/**
 * Errors from a user's own module code (what `compileFile`/`tsbpf build`
 * imports): the modules are recorded when imported, so a throw from inside
 * them — an Error or not — can be reported at the first stack frame in them,
 * as `file:line:col`, instead of as a Node stack trace.
 */
import { relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsbpfError } from '../errors.js';

/** Absolute paths of the user modules this process loaded (what `tsbpf build` imports). */
const userModules = new Set<string>();

/** Records `path` as a user module, so errors thrown from it are located there. */
export function noteUserModule(path: string): void {
  userModules.add(resolve(path));
}

/** A failure of the user's own module (it threw while being imported), as a typed error naming the module. */
export class UserCodeError extends TsbpfError {}

/** Longest piece of a user value quoted in a message. */
const MAX_QUOTE = 120;

/** `text` cut to a readable length (a huge thrown string or literal must not flood the terminal). */
export function clip(text: string, max = MAX_QUOTE): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ');
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max)}… (${oneLine.length} characters)`;
}

/** A path as the user would type it: relative to the working directory when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? rel : path;
}

/** The file a stack frame location names (a path, a file: URL, or tsx's data: URL with `filePath=`). */
function frameFile(location: string): string | undefined {
  let loc = location;
  if (loc.startsWith('data:')) {
    const m = /[?&]filePath=([^:&]+)/.exec(loc);
    return m ? decodeURIComponent(m[1]!).replace(/\?.*$/, '') : undefined;
  }
  if (loc.startsWith('file:')) {
    try {
      loc = fileURLToPath(loc.replace(/\?[^:]*/, ''));
    } catch {
      return undefined;
    }
  }
  return loc.replace(/\?[^:]*$/, '');
}

/** `file:line:col` of the first stack frame inside a user module, if any. */
export function userFrame(stack: string | undefined): string | undefined {
  if (!stack || userModules.size === 0) return undefined;
  for (const line of stack.split('\n')) {
    const m = /^\s+at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/.exec(line);
    if (!m) continue;
    const file = frameFile(m[1]!);
    if (file === undefined || !userModules.has(file)) continue;
    // tsx's data: URLs carry positions in generated code: name the file only.
    return m[1]!.startsWith('data:') ? shown(file) : `${shown(file)}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/** The only user module, when exactly one was loaded (where a value without a stack came from). */
export function soleUserModule(): string | undefined {
  return userModules.size === 1 ? shown([...userModules][0]!) : undefined;
}

/** A thrown non-Error, as the user wrote it. */
export function describeThrown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function' || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/**
 * The typed error for a module that failed while being imported (top-level
 * throw, syntax error, missing import): names the module and, when the stack
 * reaches it, the line.
 */
export function moduleLoadError(path: string, err: unknown): TsbpfError {
  if (err instanceof TsbpfError) return err;
  const at = err instanceof Error ? userFrame(err.stack) : undefined;
  const what = err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${clip(err.message, 2000)}` : `a non-Error value was thrown: ${clip(describeThrown(err))}`;
  return new UserCodeError('BUILD_MODULE', `cannot load ${path}${at ? ` (${at})` : ''}: ${what}`, { cause: err });
}
