/**
 * The in-memory BPF object description (`ObjectSpec`) shared by the ELF writer,
 * the ELF reader and the object loader.
 */
export * from './spec.js';
export { ObjectError } from './errors.js';
export { typeSize, typeAlign, mapTypeNumber } from './types.js';
