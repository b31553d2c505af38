/** Typed error of the ELF container: malformed, truncated or inconsistent input or model. */
import { TsbpfError } from '../../errors.js';

/**
 * Raised for bytes that are not a well-formed ELF64 LE file (truncated, out of
 * bounds, overlapping, absurd counts) and for models that cannot be written.
 * Codes: `ELF_TRUNCATED`, `ELF_BAD_HEADER`, `ELF_BOUNDS`, `ELF_OVERLAP`,
 * `ELF_COUNT`, `ELF_STRING`, `ELF_MODEL`, `ELF_RANGE`.
 */
export class ElfError extends TsbpfError {}
