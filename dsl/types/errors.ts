import { TsbpfError } from '../errors.js';

/**
 * Stable codes of schema errors:
 * - `SCHEMA_DEFINITION`: a schema was declared wrongly (bad name, bad size, bad member);
 * - `SCHEMA_RANGE`: a value does not fit (out of range, non-integer, too many elements);
 * - `SCHEMA_TYPE`: a value has the wrong JavaScript type;
 * - `SCHEMA_UNKNOWN_FIELD`: an object names a field the schema does not have;
 * - `SCHEMA_LENGTH`: bytes to decode (or a target buffer) have the wrong length;
 * - `SCHEMA_PATH`: a field path (`offsetof`, `field`) does not exist.
 */
export type SchemaErrorCode =
  | 'SCHEMA_DEFINITION'
  | 'SCHEMA_RANGE'
  | 'SCHEMA_TYPE'
  | 'SCHEMA_UNKNOWN_FIELD'
  | 'SCHEMA_LENGTH'
  | 'SCHEMA_PATH';

/**
 * A schema declaration or a host value was wrong. `path` names where, e.g.
 * `lb4_key.address` or `ct_entry.counters[2]`; `detail` is the message without it.
 */
export class SchemaError extends TsbpfError {
  /** Field path from the schema that was encoded/decoded/declared, `''` when none. */
  readonly path: string;
  /** What went wrong, without the path prefix. */
  readonly detail: string;

  constructor(code: SchemaErrorCode, path: string, detail: string) {
    super(code, path === '' ? detail : `${path}: ${detail}`);
    this.path = path;
    this.detail = detail;
  }

  /**
   * The same error one level further out: `segment` is a field name (joined with a
   * dot) or an index like `[3]` (joined directly). Used while an error bubbles up
   * through nested structs so the final path is complete; building it only on the
   * error path keeps encoding allocation-free.
   */
  within(segment: string): SchemaError {
    let path: string;
    if (this.path === '') path = segment;
    else if (this.path.startsWith('[')) path = segment + this.path;
    else path = segment === '' ? this.path : `${segment}.${this.path}`;
    return new SchemaError(this.code as SchemaErrorCode, path, this.detail);
  }
}
