/**
 * esbuild options of the CLI bundle (used by scripts/build.mjs, and by the test
 * that runs a fresh bundle): an entry file `<outdir>/tsbpf-cli.js` holding the
 * command-line parser, plus shared chunks under `<outdir>/chunks/`. Each
 * subcommand is imported on demand (cli/commands/index.ts), so with code
 * splitting a process reads and compiles only what its command needs: `tsbpf
 * probe` does not parse the Kubernetes client or the DSL compiler (one file of
 * every command measured ~3.5 MB and ~80 ms to load before any work). Native
 * (koffi) or big and needed by one command only (tsx loads user modules,
 * typescript type-checks them): external.
 */
import { randomUUID } from 'node:crypto';

/** File name of the bundle's entry inside its output directory. */
export const CLI_BUNDLE_ENTRY = 'tsbpf-cli.js';

/** Options bundling `<root>/cli/main.ts` into `outdir` (entry {@link CLI_BUNDLE_ENTRY}, an ES module exporting `main`). */
export function cliBundleOptions(root, outdir) {
  return {
    absWorkingDir: root,
    entryPoints: ['cli/main.ts'],
    outdir,
    entryNames: CLI_BUNDLE_ENTRY.replace(/\.js$/, ''),
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    external: ['koffi', 'tsx', 'tsx/*', 'typescript', 'esbuild'],
    logLevel: 'warning',
    legalComments: 'none',
    // A new id per build: the probe's boot cache (loader/probe/boot-cache.ts) is not reused across builds.
    define: { __TSBPF_BUILD_ID__: JSON.stringify(randomUUID()) },
    // CommonJS dependencies (commander) call require() for Node built-ins.
    banner: { js: "import { createRequire as __tsbpfRequire } from 'node:module';\nconst require = __tsbpfRequire(import.meta.url);" },
  };
}
