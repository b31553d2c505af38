import type { BuildOptions } from 'esbuild';
/** File name of the bundle's entry inside its output directory. */
export const CLI_BUNDLE_ENTRY: string;
/** Options bundling `<root>/cli/main.ts` into `outdir` (entry {@link CLI_BUNDLE_ENTRY}, an ES module exporting `main`). */
export function cliBundleOptions(root: string, outdir: string): BuildOptions;
