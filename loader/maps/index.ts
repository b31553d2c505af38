/** Maps: specs, the loaded BpfMap, codecs and per-type facts. */
export * from './codec.js';
export * from './kinds.js';
export * from './spec.js';
export * from './map.js';
export * from './btf-codec.js';
export * from './ringbuf.js';
export * from './validate.js';
