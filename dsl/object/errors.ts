/** Typed error of the object layer (spec validation, ELF object reading and writing). */
import { TsbpfError } from '../errors.js';

/**
 * Codes: `OBJECT_INVALID` (a spec that cannot be written: duplicate or unknown
 * names, bad sizes), `OBJECT_MALFORMED` (an ELF object whose BPF content is
 * inconsistent), `OBJECT_UNSUPPORTED` (valid content this reader/writer does not
 * handle, e.g. CO-RE relocations or the legacy `maps` section).
 */
export class ObjectError extends TsbpfError {}
