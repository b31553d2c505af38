#!/usr/bin/env node
// Entry point of the `tsbpf` command. Runs the bundled CLI (dist/bundle/tsbpf-cli.js,
// whose subcommands load their own chunks: fast start) when it exists, else the compiled dist/cli, else the
// TypeScript sources through tsx (a fresh checkout before `npm run build`, or
// TSBPF_FROM_SOURCE=1 while developing).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fromSource = Boolean(process.env.TSBPF_FROM_SOURCE);
const bundle = join(root, 'dist', 'bundle', 'tsbpf-cli.js');
const compiled = join(root, 'dist', 'cli', 'main.js');

let main;
if (!fromSource && existsSync(bundle)) ({ main } = await import(pathToFileURL(bundle).href));
else if (!fromSource && existsSync(compiled)) ({ main } = await import(pathToFileURL(compiled).href));
else {
  const { tsImport } = await import('tsx/esm/api');
  ({ main } = await tsImport(pathToFileURL(join(root, 'cli', 'main.ts')).href, import.meta.url));
}
const code = await main(process.argv);
// main() returns the exit code (older builds set process.exitCode themselves).
if (typeof code === 'number') process.exitCode = code;
