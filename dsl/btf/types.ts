/**
 * The BTF type model: one plain, frozen value per type, referring to other types
 * by numeric id (0 is `void`). Names are `''` when anonymous. Every field maps
 * one-to-one to the wire format, so `decode(encode(x))` equals `x`.
 */
import type { BtfKind } from './kinds.js';

/** A type id: 0 is void, 1… in emission order (split BTF continues after its base). */
export type BtfTypeId = number;

/** INT encoding: at most one of the UAPI bits SIGNED, CHAR, BOOL (the kernel rejects combinations). */
export type BtfIntEncoding = 'unsigned' | 'signed' | 'char' | 'bool';

/** Linkage of a FUNC (`extern` = declared only, as for kfuncs). */
export type BtfFuncLinkage = 'static' | 'global' | 'extern';

/** Linkage of a VAR (`global` = allocated global, `extern` = resolved at load). */
export type BtfVarLinkage = 'static' | 'global' | 'extern';

/** Integer type: `bits` significant bits starting at bit `offset` within `size` bytes. */
export interface BtfInt {
  readonly kind: 'int';
  readonly name: string;
  readonly size: number;
  readonly encoding: BtfIntEncoding;
  readonly bits: number;
  readonly offset: number;
}

/** Pointer to `type`. */
export interface BtfPtr {
  readonly kind: 'ptr';
  readonly name: string;
  readonly type: BtfTypeId;
}

/** Fixed array of `nelems` elements of `type`, indexed by `indexType` (an INT). */
export interface BtfArray {
  readonly kind: 'array';
  readonly name: string;
  readonly type: BtfTypeId;
  readonly indexType: BtfTypeId;
  readonly nelems: number;
}

/**
 * Struct or union member. `bitOffset` counts from the start of the aggregate;
 * `bitfieldSize` is 0 for ordinary members. An aggregate with any bitfield is
 * written with kind_flag set, which packs both into the offset word.
 */
export interface BtfMember {
  readonly name: string;
  readonly type: BtfTypeId;
  readonly bitOffset: number;
  readonly bitfieldSize: number;
}

/** STRUCT of `size` bytes. */
export interface BtfStruct {
  readonly kind: 'struct';
  readonly name: string;
  readonly size: number;
  readonly members: readonly BtfMember[];
}

/** UNION of `size` bytes. */
export interface BtfUnion {
  readonly kind: 'union';
  readonly name: string;
  readonly size: number;
  readonly members: readonly BtfMember[];
}

/** One enumerator of a 32-bit ENUM; `value` is read as s32 when the enum is signed, else u32. */
export interface BtfEnumValue {
  readonly name: string;
  readonly value: number;
}

/** ENUM with 32-bit values; `signed` is the kind_flag (kernel ≥ 6.0). */
export interface BtfEnum {
  readonly kind: 'enum';
  readonly name: string;
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue[];
}

/** One enumerator of an ENUM64 (s64 when signed, else u64). */
export interface BtfEnum64Value {
  readonly name: string;
  readonly value: bigint;
}

/** ENUM64 (kernel ≥ 6.0). */
export interface BtfEnum64 {
  readonly kind: 'enum64';
  readonly name: string;
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnum64Value[];
}

/** Forward declaration of a struct or union (kind_flag 1 = union). */
export interface BtfFwd {
  readonly kind: 'fwd';
  readonly name: string;
  readonly fwdKind: 'struct' | 'union';
}

/** TYPEDEF `name` for `type`. */
export interface BtfTypedef {
  readonly kind: 'typedef';
  readonly name: string;
  readonly type: BtfTypeId;
}

/** A VOLATILE, CONST or RESTRICT modifier of `type`. */
export interface BtfModifier<K extends 'volatile' | 'const' | 'restrict'> {
  readonly kind: K;
  readonly name: string;
  readonly type: BtfTypeId;
}

/** FUNC `name` whose signature is the FUNC_PROTO `type`. */
export interface BtfFunc {
  readonly kind: 'func';
  readonly name: string;
  readonly type: BtfTypeId;
  readonly linkage: BtfFuncLinkage;
}

/** A parameter of a FUNC_PROTO; a trailing `{name: '', type: 0}` means `...`. */
export interface BtfParam {
  readonly name: string;
  readonly type: BtfTypeId;
}

/** FUNC_PROTO: a function signature. */
export interface BtfFuncProto {
  readonly kind: 'func_proto';
  readonly name: string;
  readonly returnType: BtfTypeId;
  readonly params: readonly BtfParam[];
}

/** VAR: a global variable `name` of `type`. */
export interface BtfVar {
  readonly kind: 'var';
  readonly name: string;
  readonly type: BtfTypeId;
  readonly linkage: BtfVarLinkage;
}

/** One variable placed in a DATASEC at byte `offset`, `size` bytes long. */
export interface BtfVarSecinfo {
  readonly type: BtfTypeId;
  readonly offset: number;
  readonly size: number;
}

/** DATASEC: an ELF data section (`.data`, `.rodata`, `.maps`, …) of `size` bytes. */
export interface BtfDatasec {
  readonly kind: 'datasec';
  readonly name: string;
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}

/** FLOAT of `size` bytes (kernel ≥ 5.13). */
export interface BtfFloat {
  readonly kind: 'float';
  readonly name: string;
  readonly size: number;
}

/**
 * DECL_TAG `name` on `type` (a struct/union/func/var/typedef); `componentIdx` is
 * -1 for the type itself, else a member or parameter index. `attribute` is the
 * kind_flag: the tag is a plain C attribute rather than `btf_decl_tag`.
 */
export interface BtfDeclTag {
  readonly kind: 'decl_tag';
  readonly name: string;
  readonly type: BtfTypeId;
  readonly componentIdx: number;
  readonly attribute: boolean;
}

/** TYPE_TAG `name` on `type` (kernel ≥ 5.17); `attribute` is the kind_flag. */
export interface BtfTypeTag {
  readonly kind: 'type_tag';
  readonly name: string;
  readonly type: BtfTypeId;
  readonly attribute: boolean;
}

/** Any BTF type. */
export type BtfType =
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfStruct
  | BtfUnion
  | BtfEnum
  | BtfFwd
  | BtfTypedef
  | BtfModifier<'volatile'>
  | BtfModifier<'const'>
  | BtfModifier<'restrict'>
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag
  | BtfTypeTag
  | BtfEnum64;

/** The type of a given kind, e.g. `BtfOfKind<'struct'>` is {@link BtfStruct}. */
export type BtfOfKind<K extends BtfKind> = Extract<BtfType, { kind: K }>;

/**
 * A BTF blob's content before encoding: the types in id order (`types[i]` has id
 * `firstId + i`), and optionally the string table to reuse so that a decoded blob
 * re-encodes byte-identically (strings not in it are appended).
 */
export interface BtfSpec {
  readonly types: readonly BtfType[];
  /** Strings in table order (without the leading `''`); kept by the decoder. */
  readonly strings?: readonly string[];
  /** Id of `types[0]`: 1, or the base's type count for split BTF. */
  readonly firstId?: number;
  /** String offset the table starts at: 0, or the base's string length for split BTF. */
  readonly firstStringOffset?: number;
}

/** Kinds whose `type` field references another type (modifiers and friends). */
export type BtfRefKind = 'ptr' | 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag';

/** Types that wrap another one by reference and add no size of their own. */
export function isModifierKind(kind: BtfKind): kind is 'typedef' | 'volatile' | 'const' | 'restrict' | 'type_tag' {
  return kind === 'typedef' || kind === 'volatile' || kind === 'const' || kind === 'restrict' || kind === 'type_tag';
}
