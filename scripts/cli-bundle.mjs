/**
 * esbuild options of the one-file CLI bundle (used by scripts/build.mjs, and by
 * the test that runs a fresh bundle). Native (koffi) or big and needed by one
 * command only (tsx loads user modules, typescript type-checks them): external.
 */
/** Options bundling `<root>/cli/main.ts` into `outfile` (an ES module exporting `main`). */
export function cliBundleOptions(root, outfile) {
  return {
    absWorkingDir: root,
    entryPoints: ['cli/main.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    external: ['koffi', 'tsx', 'tsx/*', 'typescript', 'esbuild'],
    logLevel: 'warning',
    legalComments: 'none',
    // CommonJS dependencies (commander) call require() for Node built-ins.
    banner: { js: "import { createRequire as __tsbpfRequire } from 'node:module';\nconst require = __tsbpfRequire(import.meta.url);" },
  };
}
