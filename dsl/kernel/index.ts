/**
 * Kernel ABI knowledge as data: UAPI enums and constants, the helper table, context
 * struct layouts and access rules, section names and target profiles. Generated
 * parts live in `generated/` (`npm run generate`); everything else is hand-written
 * from kernel facts.
 */
export * from './enums.js';
export type * from './helper-types.js';
export { UAPI_HELPERS } from './generated/uapi-helpers.js';
export { CTX_STRUCT_LAYOUTS } from './generated/ctx-layouts.js';
export * from './version.js';
export * from './helper-availability.js';
export * from './context.js';
export * from './helpers.js';
export * from './sections.js';
export * from './profiles.js';
export * from './packet-helpers.js';
export * from './verifier-limits.js';
