/**
 * BTF and .BTF.ext: the type model, builder with deduplication, encoders and
 * decoders (incl. vmlinux and split BTF), sanitizing for older kernels, and a
 * C-like printer.
 */
export * from './errors.js';
export * from './kinds.js';
export * from './types.js';
export * from './strings.js';
export * from './graph.js';
export * from './encode.js';
export * from './decode.js';
export * from './builder.js';
export * from './ext.js';
export * from './prog-info.js';
export * from './format-raw.js';
export * from './sanitize.js';
export * from './format-c.js';
export * from './dedup.js';
export * from './cycles.js';
