/**
 * `ElfBuilder`: assemble an `ElfFile` from content sections, symbols and
 * relocations without tracking indices by hand. Layout of the result:
 * null, content sections (in `addSection` order), `.rel<target>` sections,
 * `.symtab`, `.strtab`, `.shstrtab`.
 */
import { ELF64, EM_BPF, ET, SHF, SHT } from './constants.js';
import { ElfError } from './errors.js';
import { StringTableBuilder } from './strtab.js';
import { encodeRelocations, encodeSymbols } from './symbols.js';
import type { ElfFile, ElfRelocation, ElfSection, ElfSymbol } from './types.js';

/** A content section as given to `addSection` (link/info/addr/entsize default to 0). */
export type SectionInput = Pick<ElfSection, 'name' | 'type' | 'data'> & Partial<Omit<ElfSection, 'name' | 'type' | 'data'>>;

/** Builds an `ElfFile`; see the module comment. */
export class ElfBuilder {
  readonly #header: Pick<ElfFile, 'type' | 'machine' | 'flags' | 'entry' | 'osabi'>;
  readonly #sections: ElfSection[] = [];
  readonly #symbols: ElfSymbol[] = [];
  readonly #relocations = new Map<number, ElfRelocation[]>();
  #sawGlobal = false;

  constructor(header: Partial<Pick<ElfFile, 'type' | 'machine' | 'flags' | 'entry' | 'osabi'>> = {}) {
    this.#header = { type: ET.REL, machine: EM_BPF, flags: 0, entry: 0, osabi: 0, ...header };
  }

  /** Adds a content section; returns its final section index. */
  addSection(s: SectionInput): number {
    this.#sections.push({ addr: 0, align: 1, entsize: 0, link: 0, info: 0, flags: 0, ...s });
    return this.#sections.length;
  }

  /** Adds a symbol (locals before globals); returns its symbol-table index. */
  addSymbol(sym: ElfSymbol): number {
    if (sym.bind === 0 && this.#sawGlobal) throw new ElfError('ELF_MODEL', `local symbol '${sym.name}' added after a global one; add locals first`);
    if (sym.bind !== 0) this.#sawGlobal = true;
    this.#symbols.push(sym);
    return this.#symbols.length;
  }

  /** Adds relocations against content section `target` (an index from `addSection`). */
  addRelocations(target: number, rels: readonly ElfRelocation[]): void {
    if (target < 1 || target > this.#sections.length) throw new ElfError('ELF_MODEL', `relocation target ${target} is not a content section`);
    const list = this.#relocations.get(target) ?? [];
    list.push(...rels);
    this.#relocations.set(target, list);
  }

  /** The finished file model. */
  build(): ElfFile {
    const content = this.#sections.length;
    const relTargets = [...this.#relocations.keys()].sort((a, b) => a - b);
    const symtabIndex = content + relTargets.length + 1;
    const strtab = new StringTableBuilder();
    const { data: symData, firstGlobal } = encodeSymbols(this.#symbols, strtab);
    const sections: ElfSection[] = [
      { name: '', type: SHT.NULL, flags: 0, addr: 0, align: 0, entsize: 0, link: 0, info: 0, data: new Uint8Array(0) },
      ...this.#sections,
    ];
    for (const t of relTargets) {
      for (const r of this.#relocations.get(t)!)
        if (r.symbol > this.#symbols.length) throw new ElfError('ELF_MODEL', `relocation at ${r.offset} in ${sections[t]!.name} names symbol ${r.symbol}, which does not exist`);
      sections.push({
        name: `.rel${sections[t]!.name}`,
        type: SHT.REL,
        flags: SHF.INFO_LINK,
        addr: 0,
        align: 8,
        entsize: ELF64.REL,
        link: symtabIndex,
        info: t,
        data: encodeRelocations(this.#relocations.get(t)!),
      });
    }
    sections.push({ name: '.symtab', type: SHT.SYMTAB, flags: 0, addr: 0, align: 8, entsize: ELF64.SYM, link: symtabIndex + 1, info: firstGlobal, data: symData });
    sections.push({ name: '.strtab', type: SHT.STRTAB, flags: 0, addr: 0, align: 1, entsize: 0, link: 0, info: 0, data: strtab.bytes() });
    sections.push({ name: '.shstrtab', type: SHT.STRTAB, flags: 0, addr: 0, align: 1, entsize: 0, link: 0, info: 0, data: new Uint8Array(0) });
    return { ...this.#header, sections, shstrndx: sections.length - 1 };
  }
}
