/**
 * The first pass of the object reader: the ELF file's sections sorted by BPF
 * meaning (code, data, `.maps`, BTF, relocation sections), plus the checked
 * accessors the later passes share.
 */
import { decodeBtf, decodeBtfExt, hasCoreRelos, type Btf, type BtfExt } from '../btf/index.js';
import { ObjectError } from '../object/errors.js';
import type { IgnoredItem } from '../object/spec.js';
import { EM_BPF, ET, SHF, SHT, readElf, readRelocations, readSymbols, type ElfFile, type ElfRelocation, type ElfSection, type ElfSymbol } from './file/index.js';
import { dataSectionKind } from './object-data.js';

/** Options of `readObject`. */
export interface ReadObjectOptions {
  /**
   * Report CO-RE relocation records in `ignored` instead of failing. The
   * programs are then NOT relocated for the running kernel; only for inspection.
   */
  readonly ignoreCoreRelos?: boolean;
}

const DROPPED_SECTION = /^(\.debug_|\.rel\.debug_|\.llvm_addrsig$|\.comment$|\.note\.)/;

/** Throws `OBJECT_UNSUPPORTED`. */
export function unsupported(message: string): never {
  throw new ObjectError('OBJECT_UNSUPPORTED', message);
}

/** Sections and symbols of an object, classified. */
export class ReadContext {
  readonly file: ElfFile;
  readonly sections: readonly ElfSection[];
  readonly symbols: readonly ElfSymbol[];
  readonly btf: Btf | undefined;
  readonly ext: BtfExt | undefined;
  readonly ignored: IgnoredItem[] = [];
  /** Indices of executable sections, data sections, and `.maps`. */
  readonly code: number[] = [];
  readonly data: number[] = [];
  readonly mapsIndex: number | undefined;
  readonly license: string = '';
  readonly kernelVersion: number | undefined;
  /** Target section index → its REL section index. */
  readonly #relOf = new Map<number, number>();

  constructor(bytes: Uint8Array, options: ReadObjectOptions) {
    const file = (this.file = readElf(bytes));
    if (file.machine !== EM_BPF) throw new ObjectError('OBJECT_MALFORMED', `e_machine ${file.machine} is not EM_BPF (247)`);
    if (file.type !== ET.REL) throw new ObjectError('OBJECT_MALFORMED', `e_type ${file.type} is not ET_REL (a relocatable object)`);
    this.symbols = readSymbols(file);
    const secs = (this.sections = file.sections);

    const btfIndex = this.sectionByName('.BTF');
    this.btf = btfIndex !== undefined ? decodeBtf(secs[btfIndex]!.data) : undefined;
    const extIndex = this.sectionByName('.BTF.ext');
    if (extIndex !== undefined) {
      if (!this.btf) throw new ObjectError('OBJECT_MALFORMED', '.BTF.ext without .BTF');
      this.ext = decodeBtfExt(secs[extIndex]!.data, this.btf);
      if (hasCoreRelos(this.ext)) {
        const n = this.ext.coreRelos.reduce((k, s) => k + s.records.length, 0);
        if (!options.ignoreCoreRelos) unsupported(`.BTF.ext has ${n} CO-RE relocations, which this reader does not apply`);
        this.ignored.push({ what: '.BTF.ext core_relo', reason: `${n} CO-RE relocations not applied (ignoreCoreRelos)` });
      }
    }

    for (let i = 1; i < secs.length; i++) {
      const s = secs[i]!;
      if (s.type === SHT.REL) {
        if (s.info === 0 || s.info >= secs.length) throw new ObjectError('OBJECT_MALFORMED', `relocation section ${s.name} targets section ${s.info}, which does not exist`);
        if (this.#relOf.has(s.info)) throw new ObjectError('OBJECT_MALFORMED', `section ${this.sectionName(s.info)} has two relocation sections`);
        this.#relOf.set(s.info, i);
        continue;
      }
      if (s.type === SHT.RELA) unsupported(`RELA section ${s.name}: BPF objects use REL`);
      if (s.type === SHT.SYMTAB || s.type === SHT.STRTAB || i === btfIndex || i === extIndex) continue;
      if (s.type === SHT.PROGBITS && (s.flags & SHF.EXECINSTR) !== 0) {
        if (s.data.length % 8 !== 0) throw new ObjectError('OBJECT_MALFORMED', `code section ${s.name} is ${s.data.length} bytes, not a multiple of 8`);
        this.code.push(i);
      } else if (s.name === '.maps') {
        this.mapsIndex = i;
      } else if (dataSectionKind(s.name) && (s.type === SHT.PROGBITS || s.type === SHT.NOBITS)) {
        this.data.push(i);
      } else if (s.name === 'license') {
        const end = s.data.indexOf(0);
        if (end < 0) throw new ObjectError('OBJECT_MALFORMED', 'license section is not NUL-terminated');
        this.license = new TextDecoder().decode(s.data.subarray(0, end));
      } else if (s.name === 'version') {
        if (s.data.length !== 4) throw new ObjectError('OBJECT_MALFORMED', `version section is ${s.data.length} bytes, not 4`);
        this.kernelVersion = new DataView(s.data.buffer, s.data.byteOffset, 4).getUint32(0, true);
      } else if (s.name === 'maps') {
        unsupported("legacy 'maps' section (struct bpf_map_def): use BTF-defined maps in '.maps'");
      } else if (DROPPED_SECTION.test(s.name) || s.type === SHT.LLVM_ADDRSIG) {
        this.ignored.push({ what: `section ${s.name}`, reason: 'debug/auxiliary data not kept (BTF carries types and line info)' });
      } else if (s.type !== SHT.NULL) {
        this.ignored.push({ what: `section ${s.name}`, reason: `section type ${s.type} with no BPF meaning` });
      }
    }
    // Relocations of sections that are not kept: fine for debug info and BTF, an error for data.
    for (const [target, rel] of this.#relOf) {
      if (this.code.includes(target) || target === this.mapsIndex) continue;
      const count = readRelocations(secs[rel]!.data).length;
      const t = secs[target]!;
      if (count === 0 || DROPPED_SECTION.test(t.name)) continue;
      if (dataSectionKind(t.name)) unsupported(`relocations in data section ${t.name} (pointers in global data) are not supported`);
      const why = target === btfIndex || target === extIndex ? 'offsets in BTF are recomputed from the symbols' : 'relocations of a section that is not kept';
      this.ignored.push({ what: `section ${secs[rel]!.name}`, reason: `${count} ${why}` });
    }
  }

  /** Index of the first section named `name`. */
  sectionByName(name: string): number | undefined {
    const i = this.sections.findIndex((s, k) => k > 0 && s.name === name);
    return i < 0 ? undefined : i;
  }

  /** Name of section `i` (or `#i` when it does not exist). */
  sectionName(i: number): string {
    return this.sections[i]?.name ?? `#${i}`;
  }

  /** Relocations against section `target` (none when it has no REL section). */
  relocations(target: number): ElfRelocation[] {
    const rel = this.#relOf.get(target);
    return rel === undefined ? [] : readRelocations(this.sections[rel]!.data);
  }

  /** Symbol `index`; `OBJECT_MALFORMED` for the null symbol or an index past the table. */
  symbolAt(index: number, where: string): ElfSymbol {
    const s = this.symbols[index];
    if (!s || index === 0) throw new ObjectError('OBJECT_MALFORMED', `${where}: symbol index ${index} is not in the symbol table (${this.symbols.length} entries)`);
    return s;
  }

  /** Symbols of `type` defined in section `shndx`, by offset. */
  symbolsIn(shndx: number, type: number): ElfSymbol[] {
    return this.symbols.filter((s, k) => k > 0 && s.shndx === shndx && s.type === type).sort((a, b) => a.value - b.value || a.size - b.size);
  }

  /** Checks that symbol `s` lies inside its section. */
  checkSymbolRange(s: ElfSymbol, what: string): void {
    const sec = this.sections[s.shndx];
    if (!sec) throw new ObjectError('OBJECT_MALFORMED', `${what} '${s.name}' is in section ${s.shndx}, which does not exist`);
    const size = sec.type === SHT.NOBITS ? (sec.size ?? 0) : sec.data.length;
    if (s.value + s.size > size) throw new ObjectError('OBJECT_MALFORMED', `${what} '${s.name}' (${s.value}+${s.size}) runs past the end of ${sec.name} (${size} bytes)`);
  }
}
