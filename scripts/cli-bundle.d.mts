import type { BuildOptions } from 'esbuild';
/** Options bundling `<root>/cli/main.ts` into `outfile` (an ES module exporting `main`). */
export function cliBundleOptions(root: string, outfile: string): BuildOptions;
