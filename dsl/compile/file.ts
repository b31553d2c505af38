/**
 * Compiling a module file: imports a TypeScript (or JavaScript) file through tsx
 * (no compile step for the user) and compiles what it exports. Importing runs
 * the user's module; it does not touch the kernel.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { compile, type CompileOptions, type CompileResult } from './compile.js';
import { BuildError } from './errors.js';
import { importWithTsx } from './import-tsx.js';
import { moduleLoadError, noteUserModule } from './user-code.js';

/** Imports a TypeScript (or JavaScript) module through tsx. */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new BuildError('BUILD_MODULE', `module ${path} does not exist`);
  noteUserModule(abs);
  try {
    return await importWithTsx(abs);
  } catch (e) {
    throw moduleLoadError(path, e);
  }
}

/** Loads the module at `path` and compiles it (errors name `path`). */
export async function buildModule(path: string, options: CompileOptions = {}): Promise<CompileResult> {
  return compile(await importModule(path), { what: path, ...options });
}
