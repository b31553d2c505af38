/** Typedef names: `typedef(name, schema)` is C `typedef schema name;`. */
import { SchemaError } from './errors.js';
import { BaseSchema, checkName, describeValue, isSchema, type AnySchema, type Infer, type InferInput, type Schema } from './schema.js';

/** Description of a typedef: same layout and codec as `target`, a new C name. */
export interface TypedefSchema<N extends string = string, T extends AnySchema = AnySchema>
  extends Schema<Infer<T>, InferInput<T>> {
  readonly kind: 'typedef';
  readonly name: N;
  /** The aliased schema. */
  readonly target: T;
}

class TypedefSchemaImpl extends BaseSchema {
  readonly kind = 'typedef' as const;
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly target: BaseSchema;

  constructor(name: string, target: BaseSchema) {
    super();
    this.name = name;
    this.target = target;
    this.size = target.size;
    this.align = target.align;
  }

  write(b: Uint8Array, o: number, v: unknown): void {
    this.target.write(b, o, v);
  }

  read(b: Uint8Array, o: number): unknown {
    return this.target.read(b, o);
  }
}

/** A C typedef name for `target` (BTF TYPEDEF); the codec is the target's. */
export function typedef<const N extends string, T extends AnySchema>(name: N, target: T): TypedefSchema<N, T> {
  checkName(name, 'typedef', false);
  if (!isSchema(target) || target.kind === 'pad') {
    throw new SchemaError('SCHEMA_DEFINITION', name, `typedef target must be a schema, got ${describeValue(target)}`);
  }
  return Object.freeze(new TypedefSchemaImpl(name, target)) as unknown as TypedefSchema<N, T>;
}

/** Follows typedefs to the underlying schema. */
export function resolveTypedef(schema: AnySchema): AnySchema {
  let s = schema;
  while (s.kind === 'typedef') s = (s as TypedefSchema).target;
  return s;
}
