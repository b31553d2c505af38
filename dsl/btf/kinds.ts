/**
 * BTF kind numbers and names, as in the kernel UAPI `linux/btf.h`. Kinds are
 * named by lower-case strings in the type model and by their UAPI number on the wire.
 */

/** Every BTF kind the model knows, by its lower-case name. */
export const BTF_KIND_NAMES = [
  'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile', 'const',
  'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64',
] as const;

/** A BTF kind name, e.g. `'struct'`. */
export type BtfKind = (typeof BTF_KIND_NAMES)[number];

/** UAPI number of each kind (`BTF_KIND_INT` = 1 … `BTF_KIND_ENUM64` = 19). */
export const BTF_KIND_NUMBER: Readonly<Record<BtfKind, number>> = Object.freeze(
  Object.fromEntries(BTF_KIND_NAMES.map((k, i) => [k, i + 1])) as Record<BtfKind, number>,
);

/** Kind name by UAPI number; index 0 (UNKN) is undefined. */
export const BTF_KIND_BY_NUMBER: readonly (BtfKind | undefined)[] = Object.freeze([undefined, ...BTF_KIND_NAMES]);

/** Upper-case spelling bpftool prints (`FUNC_PROTO`, `DECL_TAG`). */
export function btfKindUpper(kind: BtfKind): string {
  return kind.toUpperCase();
}

/** BTF header magic (`0xEB9F`, stored little-endian as `9F EB`). */
export const BTF_MAGIC = 0xeb9f;
/** The only BTF version there is. */
export const BTF_VERSION = 1;
/** Size of the `.BTF` header we write. */
export const BTF_HEADER_SIZE = 24;
/** Size of the `.BTF.ext` header we write (with the core_relo fields). */
export const BTF_EXT_HEADER_SIZE = 32;
/** Largest type id the kernel accepts. */
export const BTF_MAX_TYPE = 0x000fffff;
/** Largest string offset the kernel accepts. */
export const BTF_MAX_NAME_OFFSET = 0x00ffffff;
/** Largest member/param/value count of one type. */
export const BTF_MAX_VLEN = 0xffff;
