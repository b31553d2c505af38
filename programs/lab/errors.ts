/** Errors of the network-namespace lab. */
import { TsbpfError } from '../../dsl/errors.js';

/** Kinds of {@link LabError}. */
export type LabErrorCode = 'LAB_COMMAND' | 'LAB_CHILD' | 'LAB_CGROUP' | 'LAB_INPUT';

/** A lab step failed: a command, a namespace, a child that did not come up. `code` says which kind. */
export class LabError extends TsbpfError {
  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
