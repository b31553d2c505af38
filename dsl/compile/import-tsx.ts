/**
 * Loads a user's TypeScript (or JavaScript) module for `tsbpf build`, through
 * tsx, in the module system Node itself would use for the file: ESM inside a
 * `"type": "module"` package (and for .mts/.mjs), CommonJS otherwise (.cts/.cjs,
 * or a .ts with no such package.json, e.g. a file in /tmp).
 *
 * Why it matters: tsx's ESM entry runs a CommonJS module as a `data:` URL with
 * a random namespace and no source map, so the source locations the DSL records
 * (line_info, error messages) would be garbage and differ per run. tsx's
 * require hook loads it from its real path with a source map.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Whether Node treats `file` as an ES module (by extension, else the nearest package.json's "type"). */
export function isEsmFile(file: string): boolean {
  const ext = extname(file);
  if (ext === '.mts' || ext === '.mjs') return true;
  if (ext === '.cts' || ext === '.cjs') return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(dir) === dir) return false;
  }
}

/** Imports the module at absolute path `abs` through tsx; returns its namespace (or CommonJS exports). */
export async function importWithTsx(abs: string): Promise<Record<string, unknown>> {
  if (!isEsmFile(abs)) {
    const { require: tsxRequire } = await import('tsx/cjs/api');
    try {
      return tsxRequire(abs, import.meta.url) as Record<string, unknown>;
    } catch (e) {
      // Top-level await cannot be CommonJS: run it as ESM after all.
      if ((e as { code?: unknown }).code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
    }
  }
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(pathToFileURL(abs).href, import.meta.url)) as Record<string, unknown>;
}
