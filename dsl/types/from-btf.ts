/**
 * BTF → schema: turns a struct/union/enum/… described by BTF (clang's objects, the
 * kernel's vmlinux) into a schema with the same layout, so its values get a host
 * codec. The inverse of `schemaToBtf` for everything that mapping produces.
 *
 * Choices where C has more than schemas do: pointers become `u64` (BPF is 64-bit);
 * `char` arrays become `cstring(n)`; anonymous members get the names `__anon0`, …;
 * `aligned` types get `align`; a struct whose offsets C layout rules alone cannot
 * reproduce (aligned members, unnamed bitfields) is rebuilt packed with explicit
 * padding fields `__tsbpf_padN`. What has no schema (floats, 128-bit ints,
 * functions) is a `SCHEMA_DEFINITION` error naming the type and member path.
 */
import type { Btf, BtfMember, BtfType, BtfTypeId } from '../btf/index.js';
import { array } from './array.js';
import { cstring } from './cstring.js';
import { enumType } from './enum.js';
import { SchemaError } from './errors.js';
import { be16, be32, be64, bool, char, s16, s32, s64, s8, u16, u32, u64, u8, type IntSchema } from './int.js';
import { pad } from './pad.js';
import type { AnySchema } from './schema.js';
import { bits, struct, union, type Fields, type Member } from './struct.js';
import { typedef } from './typedef.js';

const UNSIGNED: Record<number, IntSchema> = { 1: u8, 2: u16, 4: u32, 8: u64 };
const SIGNED: Record<number, IntSchema> = { 1: s8, 2: s16, 4: s32, 8: s64 };
/** `<linux/types.h>` typedefs that are exactly one of our integers. */
const KNOWN_TYPEDEFS: Record<string, IntSchema> = {
  __u8: u8, __u16: u16, __u32: u32, __u64: u64, __s8: s8, __s16: s16, __s32: s32, __s64: s64,
  __be16: be16, __be32: be32, __be64: be64,
};

/**
 * The schema for BTF type `id` of `btf`. Repeated calls with the same `cache`
 * return the same schema objects for the same ids (pass one cache per graph).
 */
export function schemaFromBtf(btf: Btf, id: BtfTypeId, cache: Map<BtfTypeId, AnySchema> = new Map()): AnySchema {
  try {
    return new FromBtf(btf, cache).schema(id, 0);
  } catch (e) {
    // Member errors carry the member path; name the outermost type too.
    if (e instanceof SchemaError && e.path !== '') throw e.within(btf.get(id)?.name ?? '');
    throw e;
  }
}

class FromBtf {
  constructor(
    private readonly btf: Btf,
    private readonly cache: Map<BtfTypeId, AnySchema>,
  ) {}

  /** Less-aligned variants of types, by `id/maxAlign` (null: impossible). */
  private readonly realigned = new Map<string, AnySchema | null>();

  schema(id: BtfTypeId, depth: number): AnySchema {
    const known = this.cache.get(id);
    if (known) return known;
    if (depth > 64) throw this.error(id, 'is nested more than 64 levels deep (a cycle?)');
    const t = this.btf.get(id);
    if (t === undefined) throw new SchemaError('SCHEMA_DEFINITION', '', `BTF type id ${id} does not exist (or is void)`);
    const s = this.build(id, t, depth + 1);
    this.cache.set(id, s);
    return s;
  }

  private build(id: BtfTypeId, t: BtfType, depth: number): AnySchema {
    switch (t.kind) {
      case 'int':
        return this.int(id, t);
      case 'ptr':
        return u64;
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        return this.schema(t.type, depth);
      case 'typedef': {
        const direct = KNOWN_TYPEDEFS[t.name];
        if (direct) {
          const target = this.peel(t.type);
          if (target?.kind === 'int' && target.size === direct.size && target.bits === target.size * 8) return direct;
        }
        return typedef(t.name, this.schema(t.type, depth));
      }
      case 'array': {
        const elem = this.peel(t.type);
        if (elem?.kind === 'int' && elem.name === 'char' && elem.size === 1 && t.nelems > 0) return cstring(t.nelems);
        return array(this.schema(t.type, depth), t.nelems);
      }
      case 'enum':
      case 'enum64': {
        const base = (t.signed ? SIGNED : UNSIGNED)[t.size];
        if (!base) throw this.error(id, `has size ${t.size}, which no integer schema has`);
        const values = Object.fromEntries(t.values.map((v) => [v.name, t.kind === 'enum64' && t.size === 8 ? v.value : Number(v.value)]));
        return enumType(t.name, values, base);
      }
      case 'struct':
      case 'union':
        return this.composite(id, t.kind, t.name, t.size, t.members, depth, Infinity);
      default:
        throw this.error(id, 'has no schema equivalent');
    }
  }

  /** The type behind typedefs and modifiers, or undefined (void, dangling id, loop). */
  private peel(id: BtfTypeId): BtfType | undefined {
    for (let hops = 0; hops < 64; hops++) {
      const t = this.btf.get(id);
      if (t === undefined) return undefined;
      if (t.kind !== 'typedef' && t.kind !== 'const' && t.kind !== 'volatile' && t.kind !== 'restrict' && t.kind !== 'type_tag') {
        return t;
      }
      id = t.type;
    }
    return undefined;
  }

  private int(id: BtfTypeId, t: Extract<BtfType, { kind: 'int' }>): AnySchema {
    if (t.bits !== t.size * 8 || t.offset !== 0) throw this.error(id, `uses ${t.bits} bits at offset ${t.offset}`);
    if (t.encoding === 'bool' && t.size === 1) return bool;
    if (t.name === 'char' && t.size === 1) return char;
    const s = (t.encoding === 'signed' ? SIGNED : UNSIGNED)[t.size];
    if (!s) throw this.error(id, `is a ${t.size * 8}-bit integer, which has no schema`);
    return s;
  }

  private composite(
    id: BtfTypeId,
    kind: 'struct' | 'union',
    name: string,
    size: number,
    members: readonly BtfMember[],
    depth: number,
    maxAlign: number,
    allowPadding = true,
  ): AnySchema {
    const make = kind === 'struct' ? struct : union;
    const fields: Record<string, unknown> = {};
    let anon = 0;
    const names: string[] = [];
    for (const m of members) {
      const fieldName = m.name === '' ? `__anon${anon++}` : m.name;
      names.push(fieldName);
      let s: AnySchema;
      try {
        s = this.schema(m.type, depth);
      } catch (e) {
        throw e instanceof SchemaError ? e.within(fieldName) : e;
      }
      fields[fieldName] = m.bitfieldSize === 0 ? s : bits(this.bitfieldBase(id, m, s), m.bitfieldSize);
    }
    const synthetic = new Set<string>();
    const matches = (candidate: AnySchema): boolean => {
      const laid = (candidate as unknown as { members: readonly Member[] }).members;
      if (candidate.size !== size) return false;
      let j = 0;
      for (const m of laid) {
        if (synthetic.has(m.name)) continue;
        const want = members[j++]!;
        if (m.bitOffset !== want.bitOffset || m.bitSize !== want.bitfieldSize) return false;
      }
      return j === members.length;
    };
    // Natural layout: alignment beyond the members' own (aligned attributes) shows
    // up as a larger size, which `align` reproduces. Packed: C's alignment is
    // unknowable from BTF, so take the largest the size allows, up to the
    // members' natural one (a packed-and-aligned type, or a natural type whose
    // member was packed, both look like this).
    const layout = (f: Record<string, unknown>, packed: boolean): AnySchema | undefined => {
      if (!packed) {
        for (const align of [1, 2, 4, 8, 16, 32, 64]) {
          const candidate = make(name, f as Fields, { align });
          if (candidate.align <= maxAlign && matches(candidate)) return candidate;
          if (candidate.size > size) break;
        }
        return undefined;
      }
      const top = Math.min(make(name, f as Fields, {}).align, maxAlign);
      for (let align = top; align >= 1; align >>= 1) {
        const candidate = make(name, f as Fields, { packed: true, align });
        if (matches(candidate)) return candidate;
      }
      return undefined;
    };
    const natural = layout(fields, false);
    if (natural) return natural;
    // A member at an offset its type's alignment forbids (in a struct that is not
    // packed itself) means that type was declared packed or less aligned in C.
    const original = { ...fields };
    let changed = false;
    members.forEach((m, i) => {
      const f = fields[names[i]!] as AnySchema;
      const byteOffset = kind === 'struct' ? m.bitOffset / 8 : 0;
      if (m.bitfieldSize !== 0 || byteOffset % f.align === 0) return;
      const r = this.realign(m.type, byteOffset & -byteOffset, depth);
      if (r) {
        fields[names[i]!] = r;
        changed = true;
      }
    });
    const realigned = changed ? layout(fields, false) : undefined;
    if (realigned) return realigned;
    const packed = layout(original, true);
    if (packed) return packed;
    if (!allowPadding) throw this.error(id, `cannot be laid out with alignment ${maxAlign} without padding fields`);
    // Fall back: packed, with explicit padding where C left gaps (whole bytes as
    // pad(n); bit gaps, e.g. from unnamed bitfields, as bitfields nobody names).
    const padded: Record<string, unknown> = {};
    const addGap = (from: number, to: number): void => {
      if (from % 8 === 0 && to % 8 === 0) {
        const n = `__tsbpf_pad${synthetic.size}`;
        synthetic.add(n);
        padded[n] = pad((to - from) / 8);
        return;
      }
      for (let b = from; b < to; b += 64) {
        const n = `__tsbpf_pad${synthetic.size}`;
        synthetic.add(n);
        padded[n] = bits(u64, Math.min(64, to - b));
      }
    };
    let at = 0; // bits
    members.forEach((m, i) => {
      const start = kind === 'union' ? 0 : m.bitOffset;
      if (start > at) addGap(at, start);
      padded[names[i]!] = fields[names[i]!];
      const width = m.bitfieldSize !== 0 ? m.bitfieldSize : (fields[names[i]!] as AnySchema).size * 8;
      at = kind === 'union' ? Math.max(at, width) : Math.max(at, start + width);
    });
    if (at < size * 8) {
      if (kind === 'union') {
        const n = `__tsbpf_pad${synthetic.size}`;
        synthetic.add(n);
        padded[n] = pad(size);
      } else {
        addGap(at, size * 8);
      }
    }
    // Keep the alignment C would have given the type (its members'), when the size
    // allows it, so that types containing this one still lay out naturally.
    const naturalAlign = make(name, fields as Fields, {}).align;
    for (let align = Math.min(naturalAlign, maxAlign); align >= 1; align >>= 1) {
      if (size % align !== 0) continue;
      const candidate = make(name, padded as Fields, { packed: true, align });
      if (matches(candidate)) return candidate;
    }
    throw this.error(id, 'has a layout no schema reproduces');
  }

  /** Schema of `id` with alignment at most `maxAlign`, or undefined if none matches. */
  private realign(id: BtfTypeId, maxAlign: number, depth: number): AnySchema | undefined {
    if (depth > 64) return undefined;
    const key = `${id}/${maxAlign}`;
    const known = this.realigned.get(key);
    if (known !== undefined) return known ?? undefined;
    const t = this.btf.get(id);
    let s: AnySchema | undefined;
    switch (t?.kind) {
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        s = this.realign(t.type, maxAlign, depth + 1);
        break;
      case 'typedef': {
        const inner = this.realign(t.type, maxAlign, depth + 1);
        s = inner && typedef(t.name, inner);
        break;
      }
      case 'array': {
        const inner = this.realign(t.type, maxAlign, depth + 1);
        s = inner && array(inner, t.nelems);
        break;
      }
      case 'struct':
      case 'union':
        try {
          s = this.composite(id, t.kind, t.name, t.size, t.members, depth + 1, maxAlign, false);
        } catch {
          s = undefined;
        }
        break;
      default:
        s = undefined;
    }
    if (s !== undefined && s.align > maxAlign) s = undefined;
    this.realigned.set(key, s ?? null);
    return s;
  }

  private bitfieldBase(id: BtfTypeId, m: BtfMember, s: AnySchema): IntSchema {
    let r = s;
    while (r.kind === 'typedef') r = (r as unknown as { target: AnySchema }).target;
    if (r.kind === 'enum') r = (r as unknown as { base: AnySchema }).base;
    if (r.kind === 'bool') return u8;
    if (r.kind === 'int' && (r as IntSchema).byteOrder === 'little') return r as IntSchema;
    throw this.error(id, `bitfield ${m.name} has a ${r.kind} type`);
  }

  private error(id: BtfTypeId, what: string): SchemaError {
    const t = this.btf.get(id);
    const label = t ? `${t.kind} ${t.name || '(anonymous)'} (id ${id})` : `type id ${id}`;
    return new SchemaError('SCHEMA_DEFINITION', '', `BTF ${label} ${what}`);
  }
}
