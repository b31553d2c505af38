/** Errors of the attach layer that are caught before (or instead of) a syscall. */
import { TsbpfError } from '../../dsl/errors.js';

/** Misuse of the attach API: unknown hook kind, missing target, wrong state. */
export class AttachError extends TsbpfError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
