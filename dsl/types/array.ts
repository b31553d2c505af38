/** Fixed-size arrays: `array(elem, n)` is C `elem x[n]`. */
import { SchemaError } from './errors.js';
import { BaseSchema, describeValue, isSchema, type AnySchema, type Infer, type InferInput, type Schema } from './schema.js';

/** Host renderings of byte arrays: addresses and NUL-terminated text. */
export type ArrayFormat = 'ipv6' | 'mac' | 'cstring';

/** Description of `elem[count]`. Host value: a JS array; input may be shorter (rest is zero). */
export interface ArraySchema<E extends AnySchema = AnySchema>
  extends Schema<Infer<E>[], ArrayLike<InferInput<E> | undefined>> {
  readonly kind: 'array';
  readonly name: '';
  /** Element schema. */
  readonly elem: E;
  /** Number of elements. */
  readonly count: number;
  /** Host rendering: `ipv6`/`mac`/`cstring` byte arrays decode to text; `undefined` for plain arrays. */
  readonly format: ArrayFormat | undefined;
}

/** Implementation of arrays; address formats subclass it. */
export class ArraySchemaImpl extends BaseSchema {
  readonly kind = 'array' as const;
  readonly name = '';
  readonly size: number;
  readonly align: number;
  readonly elem: BaseSchema;
  readonly count: number;
  readonly format: ArrayFormat | undefined;

  constructor(elem: BaseSchema, count: number, format?: ArrayFormat) {
    super();
    this.elem = elem;
    this.count = count;
    this.size = elem.size * count;
    this.align = elem.align;
    this.format = format;
  }

  write(b: Uint8Array, o: number, v: unknown): void {
    if (typeof v !== 'object' || v === null || !('length' in v) || typeof v.length !== 'number') {
      throw new SchemaError('SCHEMA_TYPE', '', `expected an array of up to ${this.count} elements, got ${describeValue(v)}`);
    }
    const items = v as ArrayLike<unknown>;
    if (items.length > this.count) {
      throw new SchemaError('SCHEMA_RANGE', '', `expected at most ${this.count} elements, got ${items.length}`);
    }
    const elem = this.elem;
    const step = elem.size;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item === undefined) continue;
      try {
        elem.write(b, o + i * step, item);
      } catch (e) {
        throw e instanceof SchemaError ? e.within(`[${i}]`) : e;
      }
    }
  }

  read(b: Uint8Array, o: number): unknown {
    const out = new Array<unknown>(this.count);
    const elem = this.elem;
    const step = elem.size;
    for (let i = 0; i < this.count; i++) out[i] = elem.read(b, o + i * step);
    return out;
  }
}

/** C `elem[count]`: `array(u8, 16)`. `count` may be 0 (a flexible tail), never negative. */
export function array<E extends AnySchema>(elem: E, count: number): ArraySchema<E> {
  if (!isSchema(elem)) {
    throw new SchemaError('SCHEMA_DEFINITION', '', `array element must be a schema, got ${describeValue(elem)}`);
  }
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new SchemaError('SCHEMA_DEFINITION', '', `array count must be a non-negative integer, got ${describeValue(count)}`);
  }
  if (elem.kind === 'pad') {
    throw new SchemaError('SCHEMA_DEFINITION', '', 'array of pad(): use pad(n) with the total size instead');
  }
  return Object.freeze(new ArraySchemaImpl(elem, count)) as unknown as ArraySchema<E>;
}
