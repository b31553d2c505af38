import { TsbpfError } from '../errors.js';

/**
 * Stable codes of {@link BtfError}: what kind of problem was found, so callers
 * can branch without parsing messages.
 */
export type BtfErrorCode =
  | 'BTF_TRUNCATED'
  | 'BTF_BAD_MAGIC'
  | 'BTF_BAD_VERSION'
  | 'BTF_BAD_HEADER'
  | 'BTF_BAD_KIND'
  | 'BTF_BAD_INFO'
  | 'BTF_BAD_STRING'
  | 'BTF_BAD_TYPE_ID'
  | 'BTF_BAD_TYPE'
  | 'BTF_CYCLE'
  | 'BTF_TOO_DEEP'
  | 'BTF_TOO_LARGE'
  | 'BTF_EXT_TRUNCATED'
  | 'BTF_EXT_BAD_HEADER'
  | 'BTF_EXT_BAD_RECORD'
  | 'BTF_BUILDER_MISUSE'
  | 'BTF_NOT_FOUND';

/** Any problem reading, writing or building BTF / .BTF.ext. */
export class BtfError extends TsbpfError {
  declare readonly code: BtfErrorCode;
  constructor(code: BtfErrorCode, message: string) {
    super(code, message);
  }
}
