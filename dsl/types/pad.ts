/** Explicit padding bytes, `pad(n)`: always zero, absent from host values. */
import { SchemaError } from './errors.js';
import { BaseSchema, describeValue, type Schema } from './schema.js';

/** Description of `n` padding bytes (alignment 1). Host value: none. */
export interface PadSchema extends Schema<undefined, undefined> {
  readonly kind: 'pad';
  readonly name: '';
}

class PadSchemaImpl extends BaseSchema {
  readonly kind = 'pad' as const;
  readonly name = '';
  readonly size: number;
  readonly align = 1;

  constructor(size: number) {
    super();
    this.size = size;
  }

  write(_b: Uint8Array, _o: number, v: unknown): void {
    throw new SchemaError('SCHEMA_TYPE', '', `padding takes no value, got ${describeValue(v)}`);
  }

  read(): undefined {
    return undefined;
  }
}

/** `n` bytes of explicit, always-zero padding (C `__u8 pad[n]` that nobody reads). */
export function pad(n: number): PadSchema {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new SchemaError('SCHEMA_DEFINITION', '', `pad size must be a positive integer, got ${describeValue(n)}`);
  }
  return Object.freeze(new PadSchemaImpl(n)) as unknown as PadSchema;
}
