/**
 * Sanitizing BTF for kernels that lack some kinds, the way libbpf does before
 * BPF_BTF_LOAD: each unsupported type is replaced in place by an older kind of
 * the same record size, so every type id (and func_info/line_info reference)
 * stays valid:
 *
 * | missing          | replacement                                              |
 * |------------------|----------------------------------------------------------|
 * | VAR (5.2)        | INT of 1 byte, 8 bits (the name is kept)                 |
 * | DATASEC (5.2)    | STRUCT of the same size; `.` in the name becomes `_`;    |
 * |                  | members named after the variables at their offsets       |
 * | FUNC (5.0)       | TYPEDEF to the (also replaced) prototype                 |
 * | FUNC_PROTO (5.0) | ENUM, one enumerator per parameter (value = type id);    |
 * |                  | unnamed parameters are named `__argN` (libbpf keeps them |
 * |                  | empty, which kernels since 5.0 reject as enumerators)    |
 * | global linkage (5.6) | FUNC linkage `global` becomes `static`               |
 * | FLOAT (5.13)     | anonymous empty STRUCT of the same size                  |
 * | DECL_TAG (5.16)  | INT of 1 byte, 8 bits                                    |
 * | TYPE_TAG (5.17)  | anonymous CONST                                          |
 * | ENUM64 (6.0)     | UNION of the same size whose members (one per value) are |
 * |                  | an appended 1-byte INT `enum64_placeholder`; and ENUM    |
 * |                  | signedness (kind_flag) is cleared                        |
 * | tag kind_flag    | decl/type tag `attribute` flag is cleared                |
 */
import type { BtfKind } from './kinds.js';
import type { BtfSpec, BtfType } from './types.js';

/**
 * What the target kernel's BTF loader understands. A dsl/kernel
 * `TargetProfile` fits as is (`btfKinds: ['INT', …, 'DATASEC']`, `kernel: '5.10'`);
 * {@link btfTargetForKernel} derives one from a kernel version.
 */
export interface BtfTarget {
  /** Kinds the target accepts, in either case (`'datasec'` or `'DATASEC'`). */
  readonly btfKinds: readonly string[];
  /** Kernel `major.minor`; when given, the flags below default to what that version supports. */
  readonly kernel?: string;
  /** FUNC linkage `global` accepted (5.6+). Default: from `kernel`, else whether `float` (5.13) is accepted. */
  readonly btfFuncGlobal?: boolean;
  /** ENUM kind_flag (signedness) accepted (6.0+). Default: from `kernel`, else whether `enum64` is accepted. */
  readonly btfEnumSigned?: boolean;
  /** kind_flag on DECL_TAG/TYPE_TAG (arbitrary attributes, 6.14+). Default: from `kernel`, else true. */
  readonly btfTagAttributes?: boolean;
}

/** Kind introductions by kernel version, from the reference timeline. */
const KIND_SINCE: readonly [BtfKind, number, number][] = [
  ['func', 5, 0], ['func_proto', 5, 0], ['var', 5, 2], ['datasec', 5, 2], ['float', 5, 13],
  ['decl_tag', 5, 16], ['type_tag', 5, 17], ['enum64', 6, 0],
];
const BASE_KINDS: readonly BtfKind[] = ['int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const', 'restrict'];

/** The BTF capabilities of mainline kernel `major.minor` (BTF itself needs 4.18). */
export function btfTargetForKernel(major: number, minor: number): BtfTarget & { readonly btfKinds: readonly BtfKind[] } {
  const atLeast = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  return {
    kernel: `${major}.${minor}`,
    btfKinds: [...BASE_KINDS, ...KIND_SINCE.filter(([, a, b]) => atLeast(a, b)).map(([k]) => k)],
    btfFuncGlobal: atLeast(5, 6),
    btfEnumSigned: atLeast(6, 0),
    btfTagAttributes: atLeast(6, 14),
  };
}

/** Result of {@link sanitizeBtf}: the new spec and what was replaced (by kind, with counts). */
export interface SanitizedBtf {
  readonly spec: BtfSpec;
  readonly replaced: ReadonlyMap<string, number>;
}

/**
 * Rewrites `spec` for `target`. Type ids are preserved; at most one type (the
 * ENUM64 placeholder INT) is appended. Returns the input unchanged when the
 * target supports everything used.
 */
export function sanitizeBtf(spec: BtfSpec, target: BtfTarget): SanitizedBtf {
  const has = new Set<string>(target.btfKinds.map((k) => k.toLowerCase()));
  const version = target.kernel !== undefined ? /^(\d+)\.(\d+)/.exec(target.kernel) : null;
  const byVersion = version ? btfTargetForKernel(Number(version[1]), Number(version[2])) : undefined;
  const funcGlobal = target.btfFuncGlobal ?? byVersion?.btfFuncGlobal ?? has.has('float');
  const enumSigned = target.btfEnumSigned ?? byVersion?.btfEnumSigned ?? has.has('enum64');
  const tagAttributes = target.btfTagAttributes ?? byVersion?.btfTagAttributes ?? true;
  const firstId = spec.firstId ?? 1;
  const replaced = new Map<string, number>();
  const note = (what: string): void => void replaced.set(what, (replaced.get(what) ?? 0) + 1);
  const types: BtfType[] = [...spec.types];
  let placeholder = 0;
  const byId = (id: number): BtfType | undefined => spec.types[id - firstId];

  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    switch (t.kind) {
      case 'var':
        if (!has.has('var')) {
          types[i] = { kind: 'int', name: t.name, size: 1, encoding: 'unsigned', bits: 8, offset: 0 };
          note('var→int');
        }
        break;
      case 'decl_tag':
        if (!has.has('decl_tag')) {
          types[i] = { kind: 'int', name: t.name, size: 1, encoding: 'unsigned', bits: 8, offset: 0 };
          note('decl_tag→int');
        } else if (t.attribute && !tagAttributes) {
          types[i] = { ...t, attribute: false };
          note('decl_tag attribute flag cleared');
        }
        break;
      case 'datasec':
        if (!has.has('datasec')) {
          types[i] = {
            kind: 'struct',
            name: t.name.replaceAll('.', '_'),
            size: t.size,
            members: t.vars.map((v) => ({ name: byId(v.type)?.name ?? '', type: v.type, bitOffset: v.offset * 8, bitfieldSize: 0 })),
          };
          note('datasec→struct');
        }
        break;
      case 'func':
        if (!has.has('func')) {
          types[i] = { kind: 'typedef', name: t.name, type: t.type };
          note('func→typedef');
        } else if (t.linkage === 'global' && !funcGlobal) {
          types[i] = { ...t, linkage: 'static' };
          note('func global→static');
        }
        break;
      case 'func_proto':
        if (!has.has('func_proto')) {
          types[i] = { kind: 'enum', name: t.name, size: 4, signed: false, values: t.params.map((p, j) => ({ name: p.name || `__arg${j}`, value: p.type })) };
          note('func_proto→enum');
        }
        break;
      case 'float':
        if (!has.has('float')) {
          types[i] = { kind: 'struct', name: '', size: t.size, members: [] };
          note('float→struct');
        }
        break;
      case 'type_tag':
        if (!has.has('type_tag')) {
          types[i] = { kind: 'const', name: '', type: t.type };
          note('type_tag→const');
        } else if (t.attribute && !tagAttributes) {
          types[i] = { ...t, attribute: false };
          note('type_tag attribute flag cleared');
        }
        break;
      case 'enum':
        if (t.signed && !enumSigned) {
          types[i] = { ...t, signed: false, values: t.values.map((v) => ({ name: v.name, value: v.value >>> 0 })) };
          note('enum signedness cleared');
        }
        break;
      case 'enum64':
        if (!has.has('enum64')) {
          if (placeholder === 0) {
            placeholder = firstId + types.length;
            types.push({ kind: 'int', name: 'enum64_placeholder', size: 1, encoding: 'unsigned', bits: 8, offset: 0 });
          }
          types[i] = {
            kind: 'union',
            name: t.name,
            size: t.size,
            members: t.values.map((v) => ({ name: v.name, type: placeholder, bitOffset: 0, bitfieldSize: 0 })),
          };
          note('enum64→union');
        }
        break;
      default:
        break;
    }
  }
  if (replaced.size === 0) return { spec, replaced };
  // Built field by field: a decoded graph keeps firstId/strings in getters, which a spread would drop.
  const out: BtfSpec = {
    types: Object.freeze(types.map((t) => Object.freeze(t))),
    firstId,
    ...(spec.strings ? { strings: spec.strings } : {}),
    ...(spec.firstStringOffset ? { firstStringOffset: spec.firstStringOffset } : {}),
  };
  return { spec: out, replaced };
}
