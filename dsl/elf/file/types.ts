/**
 * The generic ELF64 little-endian container model. It knows sections, string
 * tables, symbols and REL relocations — nothing about BPF programs, maps or BTF;
 * the libbpf object layer in `dsl/elf/` builds on it.
 *
 * Indices are the file's own: `ElfFile.sections[0]` is the null section, so
 * `sections[i]` is section header index `i`, and `link`/`info`/`shndx` values
 * refer to that array directly.
 */

/** One section: header fields plus its bytes. */
export interface ElfSection {
  /** Name (stored in the section-name string table). */
  readonly name: string;
  /** `sh_type` (see `SHT`). */
  readonly type: number;
  /** `sh_flags` (see `SHF`). */
  readonly flags: number;
  /** `sh_addr`; 0 in relocatable objects. */
  readonly addr: number;
  /** `sh_addralign`: 0 or a power of two. */
  readonly align: number;
  /** `sh_entsize`: record size for table sections, else 0. */
  readonly entsize: number;
  /** `sh_link`: a related section index (symtab → strtab, rel → symtab). */
  readonly link: number;
  /** `sh_info`: extra info (rel → target section, symtab → first non-local symbol). */
  readonly info: number;
  /** Contents. Empty for `SHT_NOBITS` and the null section. */
  readonly data: Uint8Array;
  /** `sh_size` of a `SHT_NOBITS` section (ignored for other types, whose size is `data.length`). */
  readonly size?: number;
}

/** A whole ELF64 little-endian file. */
export interface ElfFile {
  /** `e_type` (see `ET`). */
  readonly type: number;
  /** `e_machine` (247 for BPF). */
  readonly machine: number;
  /** `e_flags`. */
  readonly flags: number;
  /** `e_entry`. */
  readonly entry: number;
  /** `EI_OSABI`. */
  readonly osabi: number;
  /** All sections, `sections[0]` being the null section. */
  readonly sections: readonly ElfSection[];
  /** Index of the section-name string table (`e_shstrndx`); its contents are regenerated on write. */
  readonly shstrndx: number;
}

/** One symbol-table entry. */
export interface ElfSymbol {
  readonly name: string;
  /** `st_value`: for relocatable objects, the offset in its section. */
  readonly value: number;
  /** `st_size` in bytes. */
  readonly size: number;
  /** Binding (`STB`). */
  readonly bind: number;
  /** Type (`STT`). */
  readonly type: number;
  /** Visibility (`STV`). */
  readonly visibility: number;
  /** `st_shndx`: section index, or a special index (`SHN.UNDEF`, `SHN.ABS`, `SHN.COMMON`). */
  readonly shndx: number;
}

/** One REL relocation (no addend; the addend lives in the patched bytes). */
export interface ElfRelocation {
  /** Byte offset in the target section. */
  readonly offset: number;
  /** Index into the symbol table the REL section links to. */
  readonly symbol: number;
  /** Relocation type (`R_BPF`). */
  readonly type: number;
}
