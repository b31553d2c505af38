/** tsbpf: the public entry point. Subpath exports (`tsbpf/isa`, …) give each layer alone. */
export * from './dsl/errors.js';
export * as isa from './dsl/isa/index.js';
export * as types from './dsl/types/index.js';
export * as btf from './dsl/btf/index.js';
export * as kernel from './dsl/kernel/index.js';
export * as object from './dsl/object/index.js';
export * as elf from './dsl/elf/index.js';
export * as loader from './loader/index.js';
export * as probe from './loader/probe/index.js';
export * as fit from './dsl/fit/index.js';
export * as dsl from './dsl/program/index.js';
export * as compiler from './dsl/compile/index.js';
export { compile, type CompileOptions, type CompileResult } from './dsl/compile/index.js';
