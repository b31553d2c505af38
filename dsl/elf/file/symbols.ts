/** Codecs for symbol tables (`SHT_SYMTAB`) and REL relocation sections (`SHT_REL`). */
import { ELF64, SHT } from './constants.js';
import { ElfError } from './errors.js';
import { readString, type StringTableBuilder } from './strtab.js';
import type { ElfFile, ElfRelocation, ElfSymbol } from './types.js';

/**
 * Decodes the symbol table at section index `symtab` of `file` (default: the
 * only `SHT_SYMTAB`). Entry 0 (the null symbol) is included, so array indices
 * equal relocation symbol indices.
 */
export function readSymbols(file: ElfFile, symtab = findSymtab(file)): ElfSymbol[] {
  if (symtab === undefined) return [];
  const sec = file.sections[symtab];
  if (!sec || sec.type !== SHT.SYMTAB) throw new ElfError('ELF_MODEL', `section ${symtab} is not a symbol table`);
  if (sec.data.length % ELF64.SYM !== 0) throw new ElfError('ELF_BOUNDS', `symbol table ${sec.name} size ${sec.data.length} is not a multiple of 24`);
  const strtab = file.sections[sec.link];
  if (!strtab || strtab.type !== SHT.STRTAB) throw new ElfError('ELF_BOUNDS', `symbol table ${sec.name} links to section ${sec.link}, not a string table`);
  const view = new DataView(sec.data.buffer, sec.data.byteOffset, sec.data.byteLength);
  const out: ElfSymbol[] = [];
  for (let at = 0; at < sec.data.length; at += ELF64.SYM) {
    const index = at / ELF64.SYM;
    const info = view.getUint8(at + 4);
    const value = view.getBigUint64(at + 8, true);
    const size = view.getBigUint64(at + 16, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || size > BigInt(Number.MAX_SAFE_INTEGER))
      throw new ElfError('ELF_RANGE', `symbol ${index}: value or size too large`);
    out.push({
      name: readString(strtab.data, view.getUint32(at, true), `name of symbol ${index}`),
      bind: info >> 4,
      type: info & 0xf,
      visibility: view.getUint8(at + 5) & 3,
      shndx: view.getUint16(at + 6, true),
      value: Number(value),
      size: Number(size),
    });
  }
  return out;
}

/** Index of the file's single `SHT_SYMTAB`, undefined if none; ElfError if several. */
export function findSymtab(file: ElfFile): number | undefined {
  let found: number | undefined;
  file.sections.forEach((s, i) => {
    if (s.type !== SHT.SYMTAB) return;
    if (found !== undefined) throw new ElfError('ELF_MODEL', `more than one symbol table (sections ${found} and ${i})`);
    found = i;
  });
  return found;
}

/**
 * Encodes symbols (without the null entry, which is prepended) into symtab bytes,
 * adding names to `strtab`. Also returns `sh_info`: the index of the first
 * non-local symbol. Locals must precede globals (ElfError otherwise).
 */
export function encodeSymbols(symbols: readonly ElfSymbol[], strtab: StringTableBuilder): { data: Uint8Array; firstGlobal: number } {
  const data = new Uint8Array((symbols.length + 1) * ELF64.SYM);
  const view = new DataView(data.buffer);
  let firstGlobal = symbols.length + 1;
  symbols.forEach((s, k) => {
    const i = k + 1;
    if (s.bind !== 0 && firstGlobal > i) firstGlobal = i;
    if (s.bind === 0 && firstGlobal < i) throw new ElfError('ELF_MODEL', `local symbol '${s.name}' follows a global one; locals come first`);
    if (!Number.isSafeInteger(s.value) || s.value < 0 || !Number.isSafeInteger(s.size) || s.size < 0)
      throw new ElfError('ELF_MODEL', `symbol '${s.name}': value/size must be non-negative integers`);
    if (s.shndx < 0 || s.shndx > 0xffff) throw new ElfError('ELF_MODEL', `symbol '${s.name}': section index ${s.shndx} out of range`);
    const at = i * ELF64.SYM;
    view.setUint32(at, strtab.add(s.name), true);
    view.setUint8(at + 4, ((s.bind & 0xf) << 4) | (s.type & 0xf));
    view.setUint8(at + 5, s.visibility & 3);
    view.setUint16(at + 6, s.shndx, true);
    view.setBigUint64(at + 8, BigInt(s.value), true);
    view.setBigUint64(at + 16, BigInt(s.size), true);
  });
  return { data, firstGlobal };
}

/** Decodes a REL section's bytes. */
export function readRelocations(data: Uint8Array): ElfRelocation[] {
  if (data.length % ELF64.REL !== 0) throw new ElfError('ELF_BOUNDS', `REL section size ${data.length} is not a multiple of 16`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: ElfRelocation[] = [];
  for (let at = 0; at < data.length; at += ELF64.REL) {
    const offset = view.getBigUint64(at, true);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError('ELF_RANGE', `relocation ${at / 16}: offset too large`);
    out.push({ offset: Number(offset), symbol: view.getUint32(at + 12, true), type: view.getUint32(at + 8, true) });
  }
  return out;
}

/** Encodes REL entries (`r_info = symbol << 32 | type`). */
export function encodeRelocations(rels: readonly ElfRelocation[]): Uint8Array {
  const data = new Uint8Array(rels.length * ELF64.REL);
  const view = new DataView(data.buffer);
  rels.forEach((r, k) => {
    if (!Number.isSafeInteger(r.offset) || r.offset < 0) throw new ElfError('ELF_MODEL', `relocation ${k}: bad offset ${r.offset}`);
    view.setBigUint64(k * 16, BigInt(r.offset), true);
    view.setUint32(k * 16 + 8, r.type >>> 0, true);
    view.setUint32(k * 16 + 12, r.symbol >>> 0, true);
  });
  return data;
}
