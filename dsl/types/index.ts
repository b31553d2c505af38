/**
 * Schemas: one declaration gives the C layout, the host codec and (via btf.ts)
 * the BTF types of a struct, union, enum, array or scalar.
 */
export { SchemaError, type SchemaErrorCode } from './errors.js';
export { type Schema, type AnySchema, type SchemaKind, type Infer, type InferInput, type Simplify } from './schema.js';
export {
  u8, u16, u32, u64, s8, s16, s32, s64, be16, be32, be64, bool, char,
  type IntSchema, type IntName, type Int64Name, type IntValue, type IntInput, type BoolSchema, type ByteOrder,
} from './int.js';
export {
  ipv4, ipv6, mac, parseIpv4, formatIpv4, parseIpv6, formatIpv6, parseMac, formatMac,
  type Ipv4Schema, type AddressBytesSchema, type ScalarName,
} from './address.js';
export { array, type ArraySchema, type ArrayFormat } from './array.js';
export { cstring, type CStringSchema } from './cstring.js';
export {
  struct, union, bits,
  type StructSchema, type UnionSchema, type CompositeSchema, type StructOptions, type Bitfield, type FieldSchema,
  type Fields, type FieldValue, type FieldInput, type StructValue, type StructInput, type Member,
} from './struct.js';
export { enumType, type EnumSchema, type EnumValues } from './enum.js';
export { pad, type PadSchema } from './pad.js';
export { typedef, resolveTypedef, type TypedefSchema } from './typedef.js';
export { schemaNode, type SchemaNode } from './node.js';
export { schemaToBtf } from './btf.js';
export { schemaFromBtf } from './from-btf.js';
export {
  sizeof, alignof, offsetof, fieldOf,
  type FieldPath, type FieldName, type FieldAt, type CheckPath, type FieldInfo, type ResolveTypedef,
} from './path.js';
