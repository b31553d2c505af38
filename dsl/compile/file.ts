/**
 * Compiling a module file: imports a TypeScript (or JavaScript) file through tsx
 * (no compile step for the user) and compiles what it exports. Importing runs
 * the user's module; it does not touch the kernel.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TsbpfError } from '../errors.js';
import { compile, type CompileOptions, type CompileResult } from './compile.js';
import { BuildError } from './errors.js';

/** Imports a TypeScript (or JavaScript) module through tsx. */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new BuildError('BUILD_MODULE', `module ${path} does not exist`);
  const { tsImport } = await import('tsx/esm/api');
  try {
    return (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TsbpfError) throw e;
    throw new BuildError('BUILD_MODULE', `cannot load ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Loads the module at `path` and compiles it (errors name `path`). */
export async function buildModule(path: string, options: CompileOptions = {}): Promise<CompileResult> {
  return compile(await importModule(path), { what: path, ...options });
}
