/**
 * BtfBuilder: adds types one by one and hands out ids, deduplicating
 * structurally — adding a type identical to one already present (same kind,
 * fields and referenced ids) returns the existing id. Because references are
 * ids, equal trees collapse bottom-up. Recursive types are built with
 * `reserve()` + `define()` (or through a FWD), e.g.
 *
 * ```ts
 * const node = b.reserve();
 * b.define(node, { kind: 'struct', name: 'node', size: 8,
 *   members: [{ name: 'next', type: b.ptr(node), bitOffset: 0, bitfieldSize: 0 }] });
 * ```
 *
 * Misuse (dangling ids, undefined placeholders, bad field values) throws
 * `BTF_BUILDER_MISUSE` at the offending call.
 */
import { BtfError } from './errors.js';
import { encodeBtf } from './encode.js';
import type { EncodeBtfOptions } from './encode.js';
import { Btf } from './graph.js';
import type {
  BtfDatasec, BtfEnum64Value, BtfEnumValue, BtfFuncLinkage, BtfIntEncoding, BtfMember, BtfParam, BtfType, BtfTypeId,
  BtfVarLinkage, BtfVarSecinfo,
} from './types.js';

/** A member as given to {@link BtfBuilder.struct}: `offset` in bytes, or `bitOffset`; `bitfieldSize` optional. */
export type BtfMemberInput =
  | { readonly name: string; readonly type: BtfTypeId; readonly offset: number; readonly bitfieldSize?: number }
  | { readonly name: string; readonly type: BtfTypeId; readonly bitOffset: number; readonly bitfieldSize?: number };

const PLACEHOLDER = Symbol('placeholder');

/** Canonical identity of a type for deduplication. */
export function btfTypeKey(t: BtfType): string {
  return JSON.stringify(t, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** Builds a BTF type list with structural deduplication and id allocation. */
export class BtfBuilder {
  private readonly list: (BtfType | typeof PLACEHOLDER)[] = [];
  private readonly byKey = new Map<string, BtfTypeId>();
  /** Id of the first own type: 1, or after the base for split BTF. */
  readonly firstId: BtfTypeId;

  constructor(readonly options: { readonly base?: Btf } = {}) {
    this.firstId = options.base ? options.base.nextId : 1;
  }

  /** The id the next new type will get. */
  get nextId(): BtfTypeId {
    return this.firstId + this.list.length;
  }

  /** Adds `type` (frozen copy) or returns the id of an identical one already present. */
  add(type: BtfType): BtfTypeId {
    const t = freezeType(type);
    this.check(t);
    const key = btfTypeKey(t);
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const id = this.nextId;
    this.list.push(t);
    this.byKey.set(key, id);
    return id;
  }

  /** Allocates an id to be filled later by {@link define}; lets a type refer to itself. */
  reserve(): BtfTypeId {
    const id = this.nextId;
    this.list.push(PLACEHOLDER);
    return id;
  }

  /** Fills a reserved id. Later identical `add`s return this id. */
  define(id: BtfTypeId, type: BtfType): BtfTypeId {
    const i = id - this.firstId;
    if (this.list[i] !== PLACEHOLDER) {
      throw new BtfError('BTF_BUILDER_MISUSE', `define(${id}): id was not reserved or is already defined`);
    }
    const t = freezeType(type);
    this.check(t);
    this.list[i] = t;
    const key = btfTypeKey(t);
    if (!this.byKey.has(key)) this.byKey.set(key, id);
    return id;
  }

  /** The type with `id` (own or base). */
  get(id: BtfTypeId): BtfType | undefined {
    if (id < this.firstId) return this.options.base?.get(id);
    const t = this.list[id - this.firstId];
    return t === PLACEHOLDER ? undefined : t;
  }

  /** Id of an existing own type named `name` (and of `kind`), if any. */
  findByName(name: string, kind?: BtfType['kind']): BtfTypeId | undefined {
    for (let i = 0; i < this.list.length; i++) {
      const t = this.list[i]!;
      if (t !== PLACEHOLDER && t.name === name && (!kind || t.kind === kind)) return this.firstId + i;
    }
    return undefined;
  }

  /** INT `name` of `size` bytes using all its bits. */
  int(name: string, size: number, encoding: BtfIntEncoding = 'unsigned'): BtfTypeId {
    return this.add({ kind: 'int', name, size, encoding, bits: size * 8, offset: 0 });
  }

  /** FLOAT `name` of `size` bytes. */
  float(name: string, size: number): BtfTypeId {
    return this.add({ kind: 'float', name, size });
  }

  /** PTR to `type`. */
  ptr(type: BtfTypeId): BtfTypeId {
    return this.add({ kind: 'ptr', name: '', type });
  }

  /** ARRAY of `nelems` × `type`, indexed by clang's `__ARRAY_SIZE_TYPE__`. */
  array(type: BtfTypeId, nelems: number): BtfTypeId {
    const indexType = this.int('__ARRAY_SIZE_TYPE__', 4);
    return this.add({ kind: 'array', name: '', type, indexType, nelems });
  }

  /** STRUCT `name` (`''` = anonymous) of `size` bytes. */
  struct(name: string, size: number, members: readonly BtfMemberInput[]): BtfTypeId {
    return this.add({ kind: 'struct', name, size, members: members.map(member) });
  }

  /** UNION `name` of `size` bytes. */
  union(name: string, size: number, members: readonly BtfMemberInput[]): BtfTypeId {
    return this.add({ kind: 'union', name, size, members: members.map(member) });
  }

  /** ENUM with 32-bit values (`size` 4 unless given). */
  enum(name: string, values: readonly BtfEnumValue[], options: { size?: number; signed?: boolean } = {}): BtfTypeId {
    const signed = options.signed ?? values.some((v) => v.value < 0);
    return this.add({ kind: 'enum', name, size: options.size ?? 4, signed, values });
  }

  /** ENUM64 with 64-bit values. */
  enum64(name: string, values: readonly BtfEnum64Value[], options: { size?: number; signed?: boolean } = {}): BtfTypeId {
    const signed = options.signed ?? values.some((v) => v.value < 0n);
    return this.add({ kind: 'enum64', name, size: options.size ?? 8, signed, values });
  }

  /** FWD declaration of a struct or union. */
  fwd(name: string, fwdKind: 'struct' | 'union' = 'struct'): BtfTypeId {
    return this.add({ kind: 'fwd', name, fwdKind });
  }

  /** TYPEDEF `name` for `type`. */
  typedef(name: string, type: BtfTypeId): BtfTypeId {
    return this.add({ kind: 'typedef', name, type });
  }

  /** CONST `type`. */
  const(type: BtfTypeId): BtfTypeId {
    return this.add({ kind: 'const', name: '', type });
  }

  /** VOLATILE `type`. */
  volatile(type: BtfTypeId): BtfTypeId {
    return this.add({ kind: 'volatile', name: '', type });
  }

  /** RESTRICT `type`. */
  restrict(type: BtfTypeId): BtfTypeId {
    return this.add({ kind: 'restrict', name: '', type });
  }

  /** FUNC_PROTO returning `returnType` (0 = void). */
  funcProto(returnType: BtfTypeId, params: readonly BtfParam[]): BtfTypeId {
    return this.add({ kind: 'func_proto', name: '', returnType, params });
  }

  /** FUNC `name` with signature `proto`. */
  func(name: string, proto: BtfTypeId, linkage: BtfFuncLinkage = 'global'): BtfTypeId {
    return this.add({ kind: 'func', name, type: proto, linkage });
  }

  /** VAR `name` of `type`. */
  variable(name: string, type: BtfTypeId, linkage: BtfVarLinkage = 'global'): BtfTypeId {
    return this.add({ kind: 'var', name, type, linkage });
  }

  /** DATASEC `name` of `size` bytes; variables are sorted by offset as the kernel requires. */
  datasec(name: string, size: number, vars: readonly BtfVarSecinfo[]): BtfTypeId {
    const sorted = [...vars].sort((a, b) => a.offset - b.offset);
    return this.add({ kind: 'datasec', name, size, vars: sorted } satisfies BtfDatasec);
  }

  /** DECL_TAG `name` on `type` (componentIdx -1 = the type itself). */
  declTag(name: string, type: BtfTypeId, componentIdx = -1): BtfTypeId {
    return this.add({ kind: 'decl_tag', name, type, componentIdx, attribute: false });
  }

  /** TYPE_TAG `name` on `type`. */
  typeTag(name: string, type: BtfTypeId): BtfTypeId {
    return this.add({ kind: 'type_tag', name, type, attribute: false });
  }

  /** The types so far as a graph (every reserved id must be defined). */
  build(): Btf {
    const types = this.list.map((t, i) => {
      if (t === PLACEHOLDER) throw new BtfError('BTF_BUILDER_MISUSE', `type id ${this.firstId + i} was reserved but never defined`);
      return t;
    });
    return new Btf(Object.freeze(types), this.options.base);
  }

  /** Encodes the types so far as a `.BTF` blob. */
  encode(options: EncodeBtfOptions = {}): Uint8Array {
    const base = this.options.base;
    const baseStrings = base?.stringReader ? (s: string) => base.stringReader!.find(s) : undefined;
    const graph = this.build();
    return encodeBtf(
      { types: graph.types, firstId: this.firstId, firstStringOffset: base?.stringReader?.end ?? 0 },
      { baseStrings, ...options },
    );
  }

  /** Rejects references to ids that do not exist (yet) and obviously invalid fields. */
  private check(t: BtfType): void {
    const next = this.nextId;
    const ref = (id: number, what: string): void => {
      if (!Number.isInteger(id) || id < 0 || id >= next) {
        throw new BtfError('BTF_BUILDER_MISUSE', `${t.kind} '${t.name}': ${what} refers to type id ${id}, which does not exist (next id is ${next})`);
      }
    };
    const nonNeg = (v: number, what: string): void => {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new BtfError('BTF_BUILDER_MISUSE', `${t.kind} '${t.name}': ${what} ${v} must be a u32`);
      }
    };
    switch (t.kind) {
      case 'int':
        nonNeg(t.size, 'size');
        if (t.bits > t.size * 8 || t.bits + t.offset > t.size * 8 || ![1, 2, 4, 8, 16].includes(t.size)) {
          throw new BtfError('BTF_BUILDER_MISUSE', `int '${t.name}': size ${t.size}, bits ${t.bits}, offset ${t.offset} are inconsistent`);
        }
        break;
      case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag': case 'func': case 'var':
        ref(t.type, 'type');
        break;
      case 'decl_tag':
        ref(t.type, 'type');
        break;
      case 'array':
        ref(t.type, 'element type');
        ref(t.indexType, 'index type');
        nonNeg(t.nelems, 'nelems');
        break;
      case 'struct': case 'union':
        nonNeg(t.size, 'size');
        for (const m of t.members) {
          ref(m.type, `member '${m.name}'`);
          nonNeg(m.bitOffset, `member '${m.name}' bit offset`);
        }
        break;
      case 'func_proto':
        ref(t.returnType, 'return type');
        for (const p of t.params) ref(p.type, `parameter '${p.name}'`);
        break;
      case 'datasec':
        nonNeg(t.size, 'size');
        for (const v of t.vars) {
          ref(v.type, 'variable');
          if (v.offset + v.size > t.size) {
            throw new BtfError('BTF_BUILDER_MISUSE', `datasec '${t.name}': variable at offset ${v.offset} (+${v.size}) is past the section size ${t.size}`);
          }
        }
        break;
      case 'enum': case 'enum64': case 'float':
        nonNeg(t.size, 'size');
        break;
      default:
        break;
    }
    if (t.name === undefined) throw new BtfError('BTF_BUILDER_MISUSE', `${t.kind}: name is missing (use '' for anonymous)`);
  }
}

function member(m: BtfMemberInput): BtfMember {
  const bitOffset = 'bitOffset' in m ? m.bitOffset : m.offset * 8;
  return { name: m.name, type: m.type, bitOffset, bitfieldSize: m.bitfieldSize ?? 0 };
}

/** A deep-frozen copy of a type in canonical field order (so keys compare structurally). */
export function freezeType(t: BtfType): BtfType {
  const f = Object.freeze;
  switch (t.kind) {
    case 'int':
      return f({ kind: t.kind, name: t.name, size: t.size, encoding: t.encoding, bits: t.bits, offset: t.offset });
    case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict':
      return f({ kind: t.kind, name: t.name, type: t.type });
    case 'type_tag':
      return f({ kind: t.kind, name: t.name, type: t.type, attribute: t.attribute ?? false });
    case 'array':
      return f({ kind: t.kind, name: t.name, type: t.type, indexType: t.indexType, nelems: t.nelems });
    case 'struct': case 'union':
      return f({
        kind: t.kind, name: t.name, size: t.size,
        members: f(t.members.map((m) => f({ name: m.name, type: m.type, bitOffset: m.bitOffset, bitfieldSize: m.bitfieldSize ?? 0 }))),
      });
    case 'enum':
      return f({ kind: t.kind, name: t.name, size: t.size, signed: t.signed, values: f(t.values.map((v) => f({ name: v.name, value: v.value }))) });
    case 'enum64':
      return f({ kind: t.kind, name: t.name, size: t.size, signed: t.signed, values: f(t.values.map((v) => f({ name: v.name, value: v.value }))) });
    case 'fwd':
      return f({ kind: t.kind, name: t.name, fwdKind: t.fwdKind });
    case 'func':
      return f({ kind: t.kind, name: t.name, type: t.type, linkage: t.linkage });
    case 'func_proto':
      return f({ kind: t.kind, name: t.name, returnType: t.returnType, params: f(t.params.map((p) => f({ name: p.name, type: p.type }))) });
    case 'var':
      return f({ kind: t.kind, name: t.name, type: t.type, linkage: t.linkage });
    case 'datasec':
      return f({ kind: t.kind, name: t.name, size: t.size, vars: f(t.vars.map((v) => f({ type: v.type, offset: v.offset, size: v.size }))) });
    case 'float':
      return f({ kind: t.kind, name: t.name, size: t.size });
    case 'decl_tag':
      return f({ kind: t.kind, name: t.name, type: t.type, componentIdx: t.componentIdx, attribute: t.attribute ?? false });
    default:
      throw new BtfError('BTF_BUILDER_MISUSE', `unknown BTF kind ${String((t as { kind: unknown }).kind)}`);
  }
}
