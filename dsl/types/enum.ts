/** C enums: `enumType('ct_dir', { OUT: 0, IN: 1 })`, sized by a base integer. */
import { SchemaError } from './errors.js';
import { IntSchemaImpl, type IntSchema, u32, s32 } from './int.js';
import { BaseSchema, checkName, describeValue, type Schema } from './schema.js';

/** Enumerator table as declared. */
export type EnumValues = { readonly [name: string]: number | bigint };

/**
 * Description of an enum. Host value: the integer (a number, bigint for 64-bit
 * bases); encode also accepts an enumerator name.
 */
export interface EnumSchema<V extends EnumValues = EnumValues, B extends IntSchema = IntSchema>
  extends Schema<B extends IntSchema<infer N> ? (N extends 'u64' | 's64' | 'be64' ? bigint : number) : never,
    (keyof V & string) | (B extends IntSchema<infer N> ? (N extends 'u64' | 's64' | 'be64' ? bigint | number : number) : never)> {
  readonly kind: 'enum';
  readonly name: string;
  /** Enumerators (frozen), values normalised to number (≤32-bit base) or bigint (64-bit base). */
  readonly values: V;
  /** Integer that stores the enum (size, signedness, byte order). */
  readonly base: B;
  /** Whether the base is signed (BTF ENUM kind_flag). */
  readonly signed: boolean;
}

class EnumSchemaImpl extends BaseSchema {
  readonly kind = 'enum' as const;
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly values: Readonly<Record<string, number | bigint>>;
  readonly base: IntSchemaImpl;
  readonly signed: boolean;

  constructor(name: string, values: Record<string, number | bigint>, base: IntSchemaImpl) {
    super();
    this.name = name;
    this.values = values;
    this.base = base;
    this.size = base.size;
    this.align = base.align;
    this.signed = base.signed;
  }

  write(b: Uint8Array, o: number, v: unknown): void {
    if (typeof v === 'string') {
      if (!Object.hasOwn(this.values, v)) {
        throw new SchemaError(
          'SCHEMA_RANGE',
          '',
          `unknown enumerator ${describeValue(v)} of enum ${this.name} (has ${Object.keys(this.values).join(', ')})`,
        );
      }
      this.base.write(b, o, this.values[v]);
      return;
    }
    this.base.write(b, o, v);
  }

  read(b: Uint8Array, o: number): unknown {
    return this.base.read(b, o);
  }
}

/**
 * A C enum. `base` defaults to `u32`, or `s32` when an enumerator is negative
 * (as C compilers choose); pass `u8`/`u16`/`u64`… for a packed or 64-bit enum.
 */
export function enumType<const V extends EnumValues, B extends IntSchema = IntSchema<'u32'>>(
  name: string,
  values: V,
  base?: B,
): EnumSchema<V, B> {
  checkName(name, 'enum', true);
  if (typeof values !== 'object' || values === null) {
    throw new SchemaError('SCHEMA_DEFINITION', name, `enum values must be an object, got ${describeValue(values)}`);
  }
  const entries = Object.entries(values);
  let baseImpl: IntSchemaImpl;
  if (base === undefined) {
    const negative = entries.some(([, v]) => v < 0);
    baseImpl = (negative ? s32 : u32) as unknown as IntSchemaImpl;
  } else if (base instanceof IntSchemaImpl && base.format === undefined) {
    baseImpl = base;
  } else {
    throw new SchemaError('SCHEMA_DEFINITION', name, `enum base must be an integer schema, got ${describeValue(base)}`);
  }
  const normalised: Record<string, number | bigint> = {};
  for (const [key, value] of entries) {
    checkName(key, `enumerator of ${name || 'enum'}`, false);
    // Validate by encoding: the base knows its own range.
    try {
      baseImpl.write(new Uint8Array(8), 0, value);
    } catch (e) {
      if (e instanceof SchemaError) throw new SchemaError('SCHEMA_DEFINITION', `${name}.${key}`, e.detail);
      throw e;
    }
    normalised[key] = baseImpl.size === 8 ? BigInt(value) : Number(value);
  }
  return Object.freeze(new EnumSchemaImpl(name, Object.freeze(normalised), baseImpl)) as unknown as EnumSchema<V, B>;
}
