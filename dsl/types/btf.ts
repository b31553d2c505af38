/**
 * Schema → BTF: the types clang would emit for the same C declaration written
 * with the kernel's `<linux/types.h>` names. Integers become typedefs `__u32`,
 * `__s16`… of the C base types; network-order integers (and `ipv4`) become
 * `__be16`/`__be32`/`__be64` typedefs of those, as in the UAPI headers; `bool` is
 * `_Bool` with BOOL encoding; `pad(n)`, `ipv6`, `mac` are `__u8[n]` arrays; enums
 * with a 64-bit base are ENUM64. Equal schemas map to one id (the builder dedups).
 */
import type { BtfBuilder, BtfMemberInput, BtfTypeId } from '../btf/index.js';
import { SchemaError } from './errors.js';
import { schemaNode } from './node.js';
import type { AnySchema } from './schema.js';

/** C base type of each host-order integer, as clang names it in BTF. */
const C_INT: Readonly<Record<string, { readonly typedef: string; readonly c: string; readonly signed: boolean; readonly size: number }>> = {
  u8: { typedef: '__u8', c: 'unsigned char', signed: false, size: 1 },
  u16: { typedef: '__u16', c: 'unsigned short', signed: false, size: 2 },
  u32: { typedef: '__u32', c: 'unsigned int', signed: false, size: 4 },
  u64: { typedef: '__u64', c: 'unsigned long long', signed: false, size: 8 },
  s8: { typedef: '__s8', c: 'signed char', signed: true, size: 1 },
  s16: { typedef: '__s16', c: 'short', signed: true, size: 2 },
  s32: { typedef: '__s32', c: 'int', signed: true, size: 4 },
  s64: { typedef: '__s64', c: 'long long', signed: true, size: 8 },
};

/** Network-order names: `__be32` is a typedef of `__u32`. */
const BE_INT: Readonly<Record<string, { readonly typedef: string; readonly of: string }>> = {
  be16: { typedef: '__be16', of: 'u16' },
  be32: { typedef: '__be32', of: 'u32' },
  be64: { typedef: '__be64', of: 'u64' },
  ipv4: { typedef: '__be32', of: 'u32' },
};

/**
 * Adds the BTF types of `schema` (and everything it contains) to `builder` and
 * returns the id of its top type. Calling it again for equal schemas returns the
 * same id.
 */
export function schemaToBtf(builder: BtfBuilder, schema: AnySchema): BtfTypeId {
  const s = schemaNode(schema);
  switch (s.kind) {
    case 'int': {
      const be = BE_INT[s.name];
      if (be) return builder.typedef(be.typedef, hostInt(builder, be.of));
      if (C_INT[s.name]) return hostInt(builder, s.name);
      if (s.name === 'char') return builder.int('char', 1, 'signed');
      throw new SchemaError('SCHEMA_DEFINITION', s.name, 'integer schema has no BTF mapping');
    }
    case 'bool':
      return builder.int('_Bool', 1, 'bool');
    case 'pad':
      return builder.array(hostInt(builder, 'u8'), s.size);
    case 'array':
      return builder.array(schemaToBtf(builder, s.elem), s.count);
    case 'typedef':
      return builder.typedef(s.name, schemaToBtf(builder, s.target));
    case 'enum': {
      const entries = Object.entries(s.values);
      if (s.size === 8) {
        return builder.enum64(s.name, entries.map(([name, v]) => ({ name, value: BigInt(v) })), { size: 8, signed: s.signed });
      }
      return builder.enum(s.name, entries.map(([name, v]) => ({ name, value: Number(v) })), { size: s.size, signed: s.signed });
    }
    case 'struct':
    case 'union': {
      const members: BtfMemberInput[] = s.members.map((m) => ({
        name: m.name,
        type: schemaToBtf(builder, m.schema),
        bitOffset: m.bitOffset,
        bitfieldSize: m.bitSize,
      }));
      return s.kind === 'struct' ? builder.struct(s.name, s.size, members) : builder.union(s.name, s.size, members);
    }
    default:
      throw new SchemaError('SCHEMA_DEFINITION', schema.name, `schema kind ${String(schema.kind)} has no BTF mapping`);
  }
}

function hostInt(builder: BtfBuilder, name: string): BtfTypeId {
  const c = C_INT[name]!;
  return builder.typedef(c.typedef, builder.int(c.c, c.size, c.signed ? 'signed' : 'unsigned'));
}
