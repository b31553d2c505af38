/** `cstring(n)`: C `char name[n]` whose host value is text (UTF-8, NUL-terminated). */
import { ArraySchemaImpl } from './array.js';
import type { ArraySchema } from './array.js';
import { SchemaError } from './errors.js';
import { char, type IntSchema, type IntSchemaImpl } from './int.js';
import { describeValue } from './schema.js';

/** Description of `char[n]` with text host values. */
export type CStringSchema = Omit<ArraySchema<IntSchema<'char'>>, 'format' | 'encode' | 'encodeInto' | 'decode' | 'decodeFrom'> & {
  readonly format: 'cstring';
  encode(value?: string | ArrayLike<number>): Uint8Array;
  encodeInto(target: Uint8Array, offset: number, value?: string | ArrayLike<number>): number;
  decode(bytes: Uint8Array): string;
  decodeFrom(bytes: Uint8Array, offset: number): string;
};

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

class CStringImpl extends ArraySchemaImpl {
  constructor(n: number) {
    super(char as unknown as IntSchemaImpl, n, 'cstring');
  }

  override write(b: Uint8Array, o: number, v: unknown): void {
    if (typeof v === 'string') {
      const bytes = utf8.encode(v);
      // One byte is kept for the terminating NUL, which the kernel requires (e.g. object names).
      if (bytes.length >= this.count) {
        throw new SchemaError('SCHEMA_RANGE', '', `text of ${bytes.length} bytes does not fit char[${this.count}] with its NUL`);
      }
      if (bytes.includes(0)) throw new SchemaError('SCHEMA_RANGE', '', 'text contains a NUL character');
      b.set(bytes, o);
      return;
    }
    if (typeof v !== 'object' || v === null || !('length' in v)) {
      throw new SchemaError('SCHEMA_TYPE', '', `expected text or bytes for char[${this.count}], got ${describeValue(v)}`);
    }
    const items = v as ArrayLike<unknown>;
    if (items.length > this.count) {
      throw new SchemaError('SCHEMA_RANGE', '', `expected at most ${this.count} bytes, got ${items.length}`);
    }
    for (let i = 0; i < items.length; i++) {
      const x = items[i];
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255) {
        throw new SchemaError('SCHEMA_RANGE', `[${i}]`, `expected a byte 0..255, got ${describeValue(x)}`);
      }
      b[o + i] = x;
    }
  }

  override read(b: Uint8Array, o: number): string {
    let end = o;
    const limit = o + this.count;
    while (end < limit && b[end] !== 0) end++;
    return fromUtf8.decode(b.subarray(o, end));
  }
}

/** C `char name[n]` as text: at most n-1 UTF-8 bytes plus NUL; decode stops at the first NUL. */
export function cstring(n: number): CStringSchema {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new SchemaError('SCHEMA_DEFINITION', '', `cstring length must be a positive integer, got ${describeValue(n)}`);
  }
  return Object.freeze(new CStringImpl(n)) as unknown as CStringSchema;
}
