/** Typed error of the compile pipeline (bad input, bad target, unloadable module). */
import { TsbpfError } from '../errors.js';

/**
 * Codes: `BUILD_TARGET` (unknown target / unreadable profile file), `BUILD_EMPTY`
 * (the input has no programs), `BUILD_MERGE` (two different things share a name),
 * `BUILD_MODULE` (a module file that does not exist or cannot be imported).
 */
export class BuildError extends TsbpfError {}
