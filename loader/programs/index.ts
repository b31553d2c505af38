/** Programs: specs, loading with verifier logs, test runs, pinning. */
export * from './spec.js';
export * from './program.js';
export * from './verifier-log.js';
export { resolveInstructions, type ResolvedProgram } from './resolve.js';
export { encodeFuncInfo, encodeLineInfo, sourceOfInsn, FUNC_INFO_SIZE, LINE_INFO_SIZE } from './line-info.js';
