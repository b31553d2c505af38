#!/usr/bin/env node
// Entry point of the `tsbpf` command. Runs the compiled CLI from dist/ when it
// exists (installed package, after `npm run build`), otherwise the TypeScript
// sources through tsx (a fresh checkout before building).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
if (existsSync(compiled) && !process.env.TSBPF_FROM_SOURCE) {
  const { main } = await import(pathToFileURL(compiled).href);
  exitWith(await main(process.argv));
} else {
  const { tsImport } = await import('tsx/esm/api');
  const { main } = await tsImport(pathToFileURL(join(root, 'cli', 'main.ts')).href, import.meta.url);
  exitWith(await main(process.argv));
}

/** main() returns the exit code (a dist/ built before it did set process.exitCode itself). */
function exitWith(code) {
  if (typeof code === 'number') process.exitCode = code;
}
