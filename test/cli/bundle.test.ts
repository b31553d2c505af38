/**
 * The CLI bundle (what bin/tsbpf.js runs after `npm run build`), made fresh
 * from the sources with the build's own esbuild options: it starts, its lazily
 * loaded commands work from their chunks (build with the type check, demo),
 * `probe` loads neither the DSL compiler nor the Kubernetes client, and still
 * runs its helper worker threads from inside the bundle, with the same answers
 * as the in-process single-threaded probe.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { need } from '../support/env.js';
import { probeKernel } from '../../loader/probe/index.js';
import { CLI_BUNDLE_ENTRY, cliBundleOptions } from '../../scripts/cli-bundle.mjs';

const root = join(import.meta.dirname, '..', '..');
const kernel = need({ kernel: true });

/** Runs `tsbpf ARGS` from `bundle`; `preload` is a CommonJS module required first. */
function runBundle(bundle: string, args: string[], cwd: string, preload?: string) {
  const code = `const { main } = await import(${JSON.stringify(pathToFileURL(bundle).href)}); const c = await main(process.argv); if (typeof c === 'number') process.exitCode = c;`;
  const r = spawnSync(process.execPath, [...(preload ? ['--require', preload] : []), '--input-type=module', '-e', code, 'tsbpf', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: join(cwd, 'cache'), TSBPF_PROBE_CACHE: join(cwd, 'probe-cache') },
    timeout: 120_000,
    maxBuffer: 1 << 26,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh bundle in a directory inside the repository (so koffi, tsx and typescript resolve as from dist/). */
async function withBundle<T>(f: (bundle: string, dir: string) => T): Promise<T> {
  const dir = mkdtempSync(join(root, '.test-bundle-'));
  try {
    const out = join(dir, 'bundle');
    await esbuild.build({ ...cliBundleOptions(root, out), logLevel: 'error' });
    const bundle = join(out, CLI_BUNDLE_ENTRY);
    return f(bundle, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Source files (as esbuild names them) of every output file a `tsbpf <command>`
 * process can read: the entry's static imports, then the command's chunk with
 * everything it imports, statically or on demand.
 */
function filesReadBy(meta: esbuild.Metafile, command: string): Set<string> {
  const outputs = meta.outputs;
  const entry = Object.keys(outputs).find((o) => outputs[o]!.entryPoint === 'cli/main.ts')!;
  const commandChunk = Object.keys(outputs).find((o) => !o.endsWith('.map') && Object.keys(outputs[o]!.inputs).includes(`cli/commands/${command}.ts`));
  expect(commandChunk, `a chunk for cli/commands/${command}.ts`).toBeDefined();
  const seen = new Set<string>();
  const walk = (out: string, dynamicToo: boolean) => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const i of outputs[out]!.imports) if (!i.external && (dynamicToo || i.kind === 'import-statement')) walk(i.path, dynamicToo);
  };
  walk(entry, false);
  walk(commandChunk!, true);
  return new Set([...seen].flatMap((o) => Object.keys(outputs[o]!.inputs)));
}

describe('the CLI bundle', () => {
  it('splits per command: probe reads neither the DSL compiler nor the Kubernetes client', async () => {
    const r = await esbuild.build({ ...cliBundleOptions(root, join(root, '.test-bundle-meta')), write: false, metafile: true, logLevel: 'error' });
    const probe = filesReadBy(r.metafile, 'probe');
    expect([...probe].some((f) => f.startsWith('loader/probe/'))).toBe(true);
    // (dsl/compile/user-code.ts, the CLI's error formatting, is small and in the entry.)
    const heavy = (f: string) => f.includes('@kubernetes/client-node') || /^(dsl\/(lower|fit|program|ir)\/|dsl\/compile\/index|programs\/)/.test(f);
    expect([...probe].filter(heavy)).toEqual([]);
    // The agent command does need the client, so the walk can see it.
    expect([...filesReadBy(r.metafile, 'agent')].some((f) => f.includes('@kubernetes/client-node'))).toBe(true);
  });

  it('runs --help, demo and build (type check included) from its chunks', () =>
    withBundle((bundle, dir) => {
      const help = runBundle(bundle, ['--help'], dir);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('probe');
      const demo = runBundle(bundle, ['demo'], dir);
      expect(demo.stderr).toBe('');
      expect(demo.stdout).toContain('<hello>:');
      writeFileSync(
        join(dir, 'm.ts'),
        `import { program } from ${JSON.stringify(join(root, 'dsl', 'program', 'index.js'))};\nexport const p = program('xdp', 'p', (b) => b.return(2));\n`,
      );
      const built = runBundle(bundle, ['build', 'm.ts', '-o', 'm.o'], dir);
      expect(built.stderr).toBe('');
      expect(built.status).toBe(0);
      expect(existsSync(join(dir, 'm.o'))).toBe(true);
    }));

  it.skipIf(!kernel)('probe runs its helper workers from the bundle, answering as the single-threaded probe', () =>
    withBundle((bundle, dir) => {
      // Counts the worker threads the bundle starts.
      const preload = join(dir, 'count-workers.cjs');
      writeFileSync(
        preload,
        `const wt = require('node:worker_threads');
const W = wt.Worker;
wt.Worker = class extends W { constructor(...a) { super(...a); process.stderr.write('worker started\\n'); } };
require('node:module').syncBuiltinESMExports();
`,
      );
      const r = runBundle(bundle, ['probe', '--json', '--only', 'helpers'], dir, preload);
      expect(r.status).toBe(0);
      const workers = r.stderr.split('\n').filter((l) => l === 'worker started').length;
      expect(workers).toBe(availableParallelism() - 1);
      const report = JSON.parse(r.stdout) as { helpers?: unknown };
      const alone = probeKernel({ fresh: true, threads: 0, sections: ['helpers'] }).helpers;
      expect(alone && Object.keys(alone).length).toBeGreaterThan(5);
      expect(JSON.stringify(report.helpers)).toBe(JSON.stringify(alone));
    }));
});
