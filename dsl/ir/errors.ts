import { TsbpfError } from '../errors.js';
import type { SourceLocation } from '../isa/index.js';

/** `file:line:column` of a source location (or `unknown location`). */
export function formatLocation(src: SourceLocation | undefined): string {
  return src ? `${src.file}:${src.line}:${src.column}` : 'unknown location';
}

/**
 * An error in a DSL program found while building it (by the typed builder or the
 * lowering): the message ends with the user's TypeScript `file:line:column`, which
 * is also kept in `source`.
 */
export class DslError extends TsbpfError {
  /** Where in the user's source the problem is. */
  readonly source: SourceLocation | undefined;

  constructor(code: string, message: string, source: SourceLocation | undefined) {
    super(code, `${message} (at ${formatLocation(source)})`);
    this.source = source;
  }
}
