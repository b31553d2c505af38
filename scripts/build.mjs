#!/usr/bin/env node
/**
 * `npm run build`: compiles the library to dist/ (tsc: .js + .d.ts for the
 * package's exports) and bundles the CLI into dist/bundle/ (esbuild: the entry
 * tsbpf-cli.js plus chunks each subcommand loads on demand), which bin/tsbpf.js
 * runs: a few files to read instead of resolving ~100 modules, so `tsbpf` starts fast. koffi (native), tsx and
 * typescript stay external: they are loaded only by the commands that need them.
 *
 * `--if-stale` (what `prepare` runs) skips the work when dist/ was built from
 * exactly these sources: `npx tsbpf` in the repository links the package into
 * npm's npx cache, which runs `prepare`, and would otherwise recompile
 * everything on a fresh checkout's first call. The stamp is a hash of every
 * input file's path and content.
 *
 * Plain JavaScript on purpose: it runs during `npm ci`, before anything is built.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_BUNDLE_ENTRY, cliBundleOptions } from './cli-bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const stampFile = join(dist, '.build-stamp');
/** The CLI bundle's directory, and its entry that bin/tsbpf.js runs. */
const CLI_BUNDLE_DIR = join(dist, 'bundle');
const CLI_BUNDLE = join(CLI_BUNDLE_DIR, CLI_BUNDLE_ENTRY);

// Everything the bundle or tsc reads: programs/ is imported by the lb and agent commands.
const SOURCE_DIRS = ['dsl', 'loader', 'cli', 'examples', 'programs'];
const SOURCE_FILES = ['index.ts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs', 'scripts/cli-bundle.mjs'];

/** Every input file (sorted, relative to the root). */
function inputs() {
  const out = [...SOURCE_FILES.filter((f) => existsSync(join(root, f)))];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(root, p));
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(root, d))) walk(join(root, d));
  return out.sort();
}

function stamp() {
  const h = createHash('sha256');
  for (const f of inputs()) h.update(f).update('\0').update(readFileSync(join(root, f))).update('\0');
  return h.digest('hex');
}

function run(what, args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`build: ${what} failed\n`);
    process.exit(r.status ?? 1);
  }
}

const ifStale = process.argv.includes('--if-stale');
const want = stamp();
if (ifStale && existsSync(CLI_BUNDLE) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) {
  process.stdout.write('dist/ is up to date\n');
  process.exit(0);
}

rmSync(stampFile, { force: true });
const require = createRequire(import.meta.url);
run('tsc', [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // An install without dev dependencies: the CLI runs from the compiled dist/cli instead.
  process.stdout.write('build: esbuild is not installed; skipping the CLI bundle\n');
}
if (esbuild) {
  // Chunk names carry content hashes: old ones would pile up.
  rmSync(CLI_BUNDLE_DIR, { recursive: true, force: true });
  rmSync(join(dist, 'tsbpf-cli.js'), { force: true }); // the one-file bundle of older builds
  rmSync(join(dist, 'tsbpf-cli.js.map'), { force: true });
  await esbuild.build(cliBundleOptions(root, CLI_BUNDLE_DIR));
}
writeFileSync(stampFile, want);
