/**
 * The public shape of every schema, and the small base class that gives all of
 * them the same host codec entry points. A schema object is at once:
 * - a plain, frozen description (own enumerable properties: `kind`, `name`, `size`,
 *   `align` and the kind's own facts) that other layers (BTF, the DSL) walk;
 * - a codec (`encode`, `encodeInto`, `decode`, `decodeFrom`) on the prototype.
 * The clever part is in the types (value types inferred from declarations); the
 * implementation stays plain classes with hand-written byte loops.
 */
import { SchemaError } from './errors.js';

/** Discriminant of every schema description. */
export type SchemaKind = 'int' | 'bool' | 'array' | 'struct' | 'union' | 'enum' | 'pad' | 'typedef';

/**
 * A layout with a host codec. `Out` is what `decode` returns; `In` is what
 * `encode` accepts (usually wider: partial objects, addresses as text or numbers).
 */
export interface Schema<Out = unknown, In = Out> {
  /** What sort of C type this is. */
  readonly kind: SchemaKind;
  /** C name: struct/union/enum tag, typedef name, or the DSL name of a scalar (`u32`, `be16`, `ipv4`); `''` if anonymous. */
  readonly name: string;
  /** `sizeof` in bytes, C rules. */
  readonly size: number;
  /** `_Alignof` in bytes, C rules (1 inside packed structs is the struct's business, not this one's). */
  readonly align: number;
  /** Bytes of `value` (missing fields and padding are zero). */
  encode(value?: In): Uint8Array;
  /**
   * Writes `value` at `target[offset…offset+size)` (zeroing that range first) and
   * returns the offset just past it. No allocation for scalars and flat structs.
   */
  encodeInto(target: Uint8Array, offset: number, value?: In): number;
  /** Value of exactly `size` bytes; other lengths are a `SCHEMA_LENGTH` error. */
  decode(bytes: Uint8Array): Out;
  /** Value of the `size` bytes at `offset` inside a larger buffer. */
  decodeFrom(bytes: Uint8Array, offset: number): Out;
}

/** Any schema, whatever its value types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySchema = Schema<any, any>;

/** Host value type that `decode` returns for schema `S` (Kysely-style inference). */
export type Infer<S> = S extends { decode(bytes: Uint8Array): infer O } ? O : never;

/** Host value type that `encode` accepts for schema `S`. */
export type InferInput<S> = S extends { encode(value?: infer I): Uint8Array } ? I : never;

/** Flattens an intersection/mapped type for readable hovers. */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * Implementation base of all schemas. `write` / `read` do the work without bounds
 * or length checks; the public methods check once at the top and turn nested
 * errors into full field paths.
 */
export abstract class BaseSchema {
  abstract readonly kind: SchemaKind;
  abstract readonly name: string;
  abstract readonly size: number;
  abstract readonly align: number;

  /** Writes a defined value at `offset`; throws `SchemaError` with a path relative to this schema. */
  abstract write(bytes: Uint8Array, offset: number, value: unknown): void;
  /** Reads the value at `offset` (the caller checked the bounds). */
  abstract read(bytes: Uint8Array, offset: number): unknown;

  encode(value?: unknown): Uint8Array {
    const out = new Uint8Array(this.size);
    if (value !== undefined) this.writeRoot(out, 0, value);
    return out;
  }

  encodeInto(target: Uint8Array, offset: number, value?: unknown): number {
    checkBuffer(target, offset, this.size, this.name, 'encodeInto');
    const end = offset + this.size;
    target.fill(0, offset, end);
    if (value !== undefined) this.writeRoot(target, offset, value);
    return end;
  }

  decode(bytes: Uint8Array): unknown {
    if (!(bytes instanceof Uint8Array)) {
      throw new SchemaError('SCHEMA_TYPE', this.name, `decode expects a Uint8Array, got ${describeValue(bytes)}`);
    }
    if (bytes.length !== this.size) {
      throw new SchemaError('SCHEMA_LENGTH', this.name, `decode expects ${this.size} bytes, got ${bytes.length}`);
    }
    return this.read(bytes, 0);
  }

  decodeFrom(bytes: Uint8Array, offset: number): unknown {
    checkBuffer(bytes, offset, this.size, this.name, 'decodeFrom');
    return this.read(bytes, offset);
  }

  private writeRoot(bytes: Uint8Array, offset: number, value: unknown): void {
    try {
      this.write(bytes, offset, value);
    } catch (e) {
      throw e instanceof SchemaError ? e.within(this.name) : e;
    }
  }
}

function checkBuffer(bytes: unknown, offset: number, size: number, name: string, op: string): void {
  if (!(bytes instanceof Uint8Array)) {
    throw new SchemaError('SCHEMA_TYPE', name, `${op} expects a Uint8Array, got ${describeValue(bytes)}`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + size > bytes.length) {
    throw new SchemaError(
      'SCHEMA_LENGTH',
      name,
      `${op} needs ${size} bytes at offset ${offset}, buffer has ${bytes.length}`,
    );
  }
}

/** Short description of a JS value for error messages (never huge, never throws). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array(${v.length})`;
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    case 'bigint':
      return `${v}n`;
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(v);
    case 'object':
      return ArrayBuffer.isView(v) ? `${v.constructor.name}(${(v as Uint8Array).length ?? ''})` : 'object';
    default:
      return typeof v;
  }
}

/** Whether `value` is an implementation schema (for validating declarations). */
export function isSchema(value: unknown): value is BaseSchema {
  return value instanceof BaseSchema;
}

/** C identifiers: what BTF and C accept as names. */
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Throws `SCHEMA_DEFINITION` unless `name` is a C identifier (or `''` when anonymous is allowed). */
export function checkName(name: unknown, what: string, allowEmpty: boolean): string {
  // `__proto__` is a C identifier but not a safe JS property name.
  if (typeof name !== 'string' || (name === '' ? !allowEmpty : !IDENT.test(name) || name === '__proto__')) {
    throw new SchemaError('SCHEMA_DEFINITION', '', `${what} name must be a C identifier, got ${describeValue(name)}`);
  }
  return name;
}
