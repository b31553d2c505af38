/**
 * The compile pipeline as a library: `compile(input, { target })` builds DSL
 * programs and plain specs into a fitted ObjectSpec, its ELF bytes and fit
 * reports; `buildModule(path)` does the same for a module file.
 */
export { compile, type CompileOptions, type CompileResult } from './compile.js';
export { buildModule, importModule } from './file.js';
export { objectFromInput, countLoops, type InputObject, type InputOptions } from './input.js';
export { mergeObjects } from './merge.js';
export { isObjectSpec, isProgramSpec, isMapSpec } from './detect.js';
export { resolveTarget, HOST_PROFILE_PATH } from './target.js';
export { BuildError } from './errors.js';
