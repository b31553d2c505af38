/**
 * The file name a line_info record carries: a source path relative to the
 * module's project root (the nearest directory above it with a package.json,
 * else the current directory), with `/` separators. So the same project built
 * from two checkouts at different paths gives byte-identical objects, and
 * `dump --source` finds the file from the project root.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';

const roots = new Map<string, string | undefined>();

/** The nearest directory at or above `dir` holding a package.json (undefined: none up to /). */
function projectRoot(dir: string): string | undefined {
  if (roots.has(dir)) return roots.get(dir);
  let root: string | undefined;
  if (existsSync(join(dir, 'package.json'))) root = dir;
  else {
    const up = dirname(dir);
    root = up === dir ? undefined : projectRoot(up);
  }
  roots.set(dir, root);
  return root;
}

/** `file` relative to its project root (or the current directory); non-absolute names are kept. */
export function lineInfoPath(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(projectRoot(dirname(file)) ?? process.cwd(), file);
  return sep === '/' ? rel : rel.split(sep).join('/');
}
