/**
 * Type-checks a module before `tsbpf build` runs it, with the TypeScript
 * compiler API, so the DSL's type-level guarantees (no field access on an
 * unchecked lookup result, no packet read before its bounds check, …) hold for
 * CLI users who never run tsc themselves.
 *
 * Kept cheap: the program's roots are just the module (TypeScript follows its
 * imports), diagnostics are asked for the user's own files only (not tsbpf's
 * sources nor anything in node_modules — the checker still reads the types it
 * needs from them), and a passing check is remembered: the next build of the
 * same files (same contents, same compiler and options) skips the compiler.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TS from 'typescript';
import { TsbpfError } from '../dsl/errors.js';

/** The compiler module as loaded (its default export). */
type Ts = (typeof TS)['default'];

/** The module has type errors (the message lists them as `file:line:col: message` lines). */
export class TypecheckError extends TsbpfError {
  constructor(
    message: string,
    /** Each error as `file:line:col: message`. */
    readonly diagnostics: readonly string[],
  ) {
    super('BUILD_TYPECHECK', message);
  }
}

/** tsbpf's own source tree (dsl/, loader/, cli/ and index.ts under the package root), whose files are not the user's to fix. */
const toolchainRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return d;
    if (dirname(d) === d) return dir;
  }
}

function isToolchainFile(file: string): boolean {
  const rel = relative(toolchainRoot, file);
  if (rel.startsWith('..') || isAbsolute(rel)) return false;
  const top = rel.split(sep)[0];
  return rel === 'index.ts' || top === 'dsl' || top === 'loader' || top === 'cli' || top === 'dist';
}

/** Files whose errors are reported: the user's sources, not declarations, dependencies or tsbpf itself. */
function isUserFile(file: string): boolean {
  return !file.endsWith('.d.ts') && !file.includes(`${sep}node_modules${sep}`) && !file.includes('/node_modules/') && !isToolchainFile(file);
}

/** Options when the module's project has no tsconfig.json: strict, modern Node. */
function defaultOptions(ts: Ts): TS.CompilerOptions {
  return {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
    skipLibCheck: true,
    resolveJsonModule: true,
    allowImportingTsExtensions: true,
  };
}

/** The nearest tsconfig.json's options (its `files`/`include` are ignored: the module is the only root). */
function compilerOptions(ts: Ts, file: string): TS.CompilerOptions {
  const config = ts.findConfigFile(dirname(file), (f) => ts.sys.fileExists(f));
  if (!config) return defaultOptions(ts);
  const read = ts.readConfigFile(config, (f) => ts.sys.readFile(f));
  if (read.error) return defaultOptions(ts);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(config), undefined, config);
  return { ...parsed.options, skipLibCheck: true };
}

/** The TypeScript compiler's version, from its package.json (without loading the compiler). */
function compilerVersion(): string {
  try {
    return (createRequire(import.meta.url)('typescript/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The nearest tsconfig.json above `file` and its text (what the options come from), or none. */
function nearestTsconfig(file: string): [string, string] | undefined {
  for (let d = dirname(file); ; d = dirname(d)) {
    const config = join(d, 'tsconfig.json');
    if (existsSync(config)) {
      try {
        return [config, readFileSync(config, 'utf8')];
      } catch {
        return [config, ''];
      }
    }
    if (dirname(d) === d) return undefined;
  }
}

/** Where passing checks are remembered. */
function cacheFile(file: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const id = createHash('sha256').update(file).digest('hex').slice(0, 32);
  return join(base, 'tsbpf', 'typecheck', `${id}.json`);
}

interface CacheEntry {
  readonly key: string;
  readonly files: Record<string, string>;
}

const digest = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

function readCache(path: string, key: string): boolean {
  let entry: CacheEntry;
  try {
    entry = JSON.parse(readFileSync(path, 'utf8')) as CacheEntry;
  } catch {
    return false;
  }
  if (entry.key !== key) return false;
  for (const [f, h] of Object.entries(entry.files)) {
    let text: Buffer;
    try {
      text = readFileSync(f);
    } catch {
      return false;
    }
    if (digest(text) !== h) return false;
  }
  return true;
}

function writeCache(path: string, key: string, files: readonly string[]): void {
  try {
    const entry: CacheEntry = { key, files: Object.fromEntries(files.map((f) => [f, digest(readFileSync(f))])) };
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, path);
  } catch {
    // A cache that cannot be written only costs the next build a check.
  }
}

/** A diagnostic as `file:line:col: message (TSnnnn)`, the file relative to the current directory when inside it. */
function formatDiagnostic(ts: Ts, d: TS.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(d.messageText, '\n').replace(/\n\s*/g, ' ');
  if (!d.file || d.start === undefined) return `${text} (TS${d.code})`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  const rel = relative(process.cwd(), d.file.fileName);
  const file = rel.startsWith('..') || isAbsolute(rel) ? d.file.fileName : rel;
  return `${file}:${line + 1}:${character + 1}: ${text} (TS${d.code})`;
}

/**
 * The type errors of `module` and the user files it imports, as
 * `file:line:col: message` lines (empty when it type-checks).
 */
export async function typeErrors(module: string): Promise<string[]> {
  const file = resolve(module);
  // Checked before loading the compiler (itself ~0.3 s): the compiler's version and the tsconfig text stand for the options.
  const key = digest(JSON.stringify([compilerVersion(), nearestTsconfig(file)]));
  const cache = cacheFile(file);
  if (readCache(cache, key)) return [];
  const ts = (await import('typescript')).default;
  const options: TS.CompilerOptions = { ...compilerOptions(ts, file), noEmit: true };

  const program = ts.createProgram({ rootNames: [file], options });
  const mine = program.getSourceFiles().filter((sf) => isUserFile(resolve(sf.fileName)));
  const diagnostics: TS.Diagnostic[] = [...program.getOptionsDiagnostics().filter((d) => d.category === ts.DiagnosticCategory.Error)];
  for (const sf of mine) {
    diagnostics.push(...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf));
  }
  const errors = diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error).map((d) => formatDiagnostic(ts, d));
  if (errors.length === 0) {
    // Every file the answer depends on: a change to any of them (a tsbpf upgrade included) re-checks.
    writeCache(cache, key, program.getSourceFiles().map((sf) => resolve(sf.fileName)));
  }
  return errors;
}

/** Throws a {@link TypecheckError} listing the type errors of `module`, if any. */
export async function typecheckModule(module: string): Promise<void> {
  if (!existsSync(resolve(module))) return; // the build reports the missing module itself
  const errors = await typeErrors(module);
  if (errors.length === 0) return;
  const n = errors.length === 1 ? '1 type error' : `${errors.length} type errors`;
  throw new TypecheckError(`${n} in ${module} (--no-typecheck builds without the check):\n${errors.join('\n')}`, errors);
}
