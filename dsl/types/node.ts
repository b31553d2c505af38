/**
 * A discriminated union over every schema description, so that code walking
 * schemas (BTF mapping, the DSL, printers) gets narrowing from `switch (s.kind)`.
 */
import type { ArraySchema } from './array.js';
import type { EnumSchema } from './enum.js';
import type { BoolSchema, IntSchema } from './int.js';
import type { PadSchema } from './pad.js';
import type { AnySchema } from './schema.js';
import type { StructSchema, UnionSchema } from './struct.js';
import type { TypedefSchema } from './typedef.js';

/** Every schema description, discriminated by `kind`. */
export type SchemaNode =
  | IntSchema<string, unknown, unknown>
  | BoolSchema
  | ArraySchema
  | StructSchema
  | UnionSchema
  | EnumSchema
  | PadSchema
  | TypedefSchema;

/** The same schema, typed as a {@link SchemaNode} for `switch (node.kind)`. */
export function schemaNode(schema: AnySchema): SchemaNode {
  return schema as SchemaNode;
}
