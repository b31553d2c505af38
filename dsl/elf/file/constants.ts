/** ELF64 constants used by the container (values from the System V gABI). */

/** `e_type` values. */
export const ET = { NONE: 0, REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;
/** `e_machine` of eBPF. */
export const EM_BPF = 247;

/** Section header types (`sh_type`). */
export const SHT = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** Section flags (`sh_flags`). */
export const SHF = { WRITE: 0x1, ALLOC: 0x2, EXECINSTR: 0x4, MERGE: 0x10, STRINGS: 0x20, INFO_LINK: 0x40 } as const;

/** Special section indices (`st_shndx`). */
export const SHN = { UNDEF: 0, LORESERVE: 0xff00, ABS: 0xfff1, COMMON: 0xfff2, XINDEX: 0xffff } as const;

/** Symbol binding (`st_info >> 4`). */
export const STB = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;
/** Symbol type (`st_info & 0xf`). */
export const STT = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4, COMMON: 5, TLS: 6 } as const;
/** Symbol visibility (`st_other & 3`). */
export const STV = { DEFAULT: 0, INTERNAL: 1, HIDDEN: 2, PROTECTED: 3 } as const;

/** BPF relocation types (`ELF64_R_TYPE`). */
export const R_BPF = { NONE: 0, '64_64': 1, '64_ABS64': 2, '64_ABS32': 3, '64_NODYLD32': 4, '64_32': 10 } as const;

/** Fixed ELF64 record sizes. */
export const ELF64 = { EHDR: 64, SHDR: 64, SYM: 24, REL: 16, RELA: 24 } as const;
