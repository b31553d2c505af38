/**
 * Base class of every error tsbpf throws on purpose. Each layer derives its own
 * typed error (AsmError, SchemaError, BtfError, ElfError, BpfError, …) so callers
 * can `instanceof`-check the layer and read a stable `code`.
 */
export class TsbpfError extends Error {
  /** Stable machine-readable kind, e.g. `ASM_SYNTAX`, `ELF_TRUNCATED`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
