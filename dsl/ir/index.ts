/** The DSL's frozen intermediate representation (see nodes.ts). */
export * from './nodes.js';
export { DslError, formatLocation } from './errors.js';
export { operandsRead, registersRead, nestedBodies, mapCondBlocks, mapBodies } from './walk.js';
