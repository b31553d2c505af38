/**
 * Generic ELF64 little-endian container: sections, string tables, symbols and REL
 * relocations. `readElf(writeElf(f))` reproduces `f` (with the section-name table
 * regenerated). The BPF object layer (programs, maps, BTF) lives above it in dsl/elf/.
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
