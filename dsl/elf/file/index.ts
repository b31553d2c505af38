/**
 * Generic ELF64 little-endian container: sections, string tables, symbols and REL
 * relocations. `readElf(writeElf(f))` reproduces `f`, and `writeElf(readElf(b))` is a
 * fixpoint after one round (section names missing from the section-name table are
 * appended on write; its other contents, e.g. clang's shared symbol names, are kept).
 * The BPF object layer (programs, maps, BTF) lives above it in dsl/elf/.
 */
export * from './constants.js';
export * from './types.js';
export { ElfError } from './errors.js';
export { readElf } from './read.js';
export { writeElf } from './write.js';
export { readString, StringTableBuilder } from './strtab.js';
export { readSymbols, findSymtab, encodeSymbols, readRelocations, encodeRelocations } from './symbols.js';
export { ElfBuilder, type SectionInput } from './builder.js';
export { sectionIndex } from './lookup.js';
