/**
 * `readElf`: parse an ELF64 little-endian file into the container model. Every
 * offset and count is checked against the input, so malformed input gives an
 * `ElfError`, never an exception from a typed array or an endless loop.
 */
import { ELF64, SHN, SHT } from './constants.js';
import { ElfError } from './errors.js';
import { readString } from './strtab.js';
import type { ElfFile, ElfSection } from './types.js';

/** Reads an unsigned 64-bit field as a number; ElfError when it exceeds 2^53. */
function u64(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError('ELF_RANGE', `${what} is too large (${v})`);
  return Number(v);
}

/** Parses `bytes` as an ELF64 LE file. */
export function readElf(bytes: Uint8Array): ElfFile {
  if (bytes.length < ELF64.EHDR) throw new ElfError('ELF_TRUNCATED', `file is ${bytes.length} bytes, shorter than an ELF64 header (64)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46)
    throw new ElfError('ELF_BAD_HEADER', 'not an ELF file (bad magic)');
  if (bytes[4] !== 2) throw new ElfError('ELF_BAD_HEADER', `ELF class ${bytes[4]} is not ELFCLASS64`);
  if (bytes[5] !== 1) throw new ElfError('ELF_BAD_HEADER', `ELF data encoding ${bytes[5]} is not little endian`);
  if (bytes[6] !== 1) throw new ElfError('ELF_BAD_HEADER', `ELF ident version ${bytes[6]} is not 1`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(16, true);
  const machine = view.getUint16(18, true);
  const entry = u64(view, 24, 'e_entry');
  const shoff = u64(view, 40, 'e_shoff');
  const flags = view.getUint32(48, true);
  const ehsize = view.getUint16(52, true);
  const shentsize = view.getUint16(58, true);
  let shnum = view.getUint16(60, true);
  let shstrndx = view.getUint16(62, true);
  if (ehsize !== 0 && ehsize < ELF64.EHDR) throw new ElfError('ELF_BAD_HEADER', `e_ehsize ${ehsize} is smaller than 64`);

  if (shoff === 0) {
    if (shnum !== 0) throw new ElfError('ELF_BAD_HEADER', `e_shnum is ${shnum} but there is no section header table`);
    return { type, machine, flags, entry, osabi: bytes[7]!, sections: [], shstrndx: 0 };
  }
  if (shentsize !== ELF64.SHDR) throw new ElfError('ELF_BAD_HEADER', `e_shentsize ${shentsize} is not 64`);
  if (shoff + ELF64.SHDR > bytes.length) throw new ElfError('ELF_BOUNDS', `section header table at ${shoff} is outside the file (${bytes.length} bytes)`);
  if (shoff < ELF64.EHDR) throw new ElfError('ELF_OVERLAP', `section header table at ${shoff} overlaps the ELF header`);
  // Extended numbering: the real count / string-table index live in section 0.
  if (shnum === 0) shnum = u64(view, shoff + 32, 'section count');
  if (shstrndx === SHN.XINDEX) shstrndx = view.getUint32(shoff + 40, true);
  const tableEnd = shoff + shnum * ELF64.SHDR;
  if (shnum > bytes.length / ELF64.SHDR || tableEnd > bytes.length)
    throw new ElfError('ELF_COUNT', `${shnum} section headers at ${shoff} do not fit in the file (${bytes.length} bytes)`);
  if (shstrndx >= shnum) throw new ElfError('ELF_BAD_HEADER', `e_shstrndx ${shstrndx} is not a section index (< ${shnum})`);

  interface Raw { name: number; type: number; flags: number; addr: number; offset: number; size: number; link: number; info: number; align: number; entsize: number }
  const raw: Raw[] = [];
  const extents: { start: number; end: number; what: string }[] = [
    { start: 0, end: ELF64.EHDR, what: 'the ELF header' },
    { start: shoff, end: tableEnd, what: 'the section header table' },
  ];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * ELF64.SHDR;
    const r: Raw = {
      name: view.getUint32(at, true),
      type: view.getUint32(at + 4, true),
      flags: u64(view, at + 8, `section ${i} sh_flags`),
      addr: u64(view, at + 16, `section ${i} sh_addr`),
      offset: u64(view, at + 24, `section ${i} sh_offset`),
      size: u64(view, at + 32, `section ${i} sh_size`),
      link: view.getUint32(at + 40, true),
      info: view.getUint32(at + 44, true),
      align: u64(view, at + 48, `section ${i} sh_addralign`),
      entsize: u64(view, at + 56, `section ${i} sh_entsize`),
    };
    if (i === 0) {
      // Section 0 may carry extended-numbering fields; its data is never read.
      raw.push(r);
      continue;
    }
    if (r.align !== 0 && (r.align & (r.align - 1)) !== 0 && r.align > 0)
      throw new ElfError('ELF_BAD_HEADER', `section ${i}: alignment ${r.align} is not a power of two`);
    if (r.type !== SHT.NOBITS && r.type !== SHT.NULL && r.size > 0) {
      if (r.offset + r.size > bytes.length)
        throw new ElfError('ELF_BOUNDS', `section ${i}: bytes ${r.offset}..${r.offset + r.size} are outside the file (${bytes.length} bytes)`);
      extents.push({ start: r.offset, end: r.offset + r.size, what: `section ${i}` });
    }
    raw.push(r);
  }
  extents.sort((a, b) => a.start - b.start);
  for (let k = 1; k < extents.length; k++) {
    const a = extents[k - 1]!;
    const b = extents[k]!;
    if (b.start < a.end) throw new ElfError('ELF_OVERLAP', `${b.what} (at ${b.start}) overlaps ${a.what} (${a.start}..${a.end})`);
  }

  const shstr = raw[shstrndx]!;
  if (shstrndx !== 0 && shstr.type !== SHT.STRTAB) throw new ElfError('ELF_BAD_HEADER', `e_shstrndx ${shstrndx} is not a string table`);
  const names = shstrndx === 0 ? new Uint8Array(0) : bytes.subarray(shstr.offset, shstr.offset + shstr.size);
  const sections: ElfSection[] = raw.map((r, i) => {
    const base = {
      name: i === 0 ? '' : readString(names, r.name, `name of section ${i}`),
      type: r.type,
      flags: r.flags,
      addr: r.addr,
      align: r.align,
      entsize: r.entsize,
      link: r.link,
      info: r.info,
    };
    if (i === 0) return { ...base, data: new Uint8Array(0) };
    if (r.type === SHT.NOBITS) return { ...base, data: new Uint8Array(0), size: r.size };
    if (r.type === SHT.NULL) return { ...base, data: new Uint8Array(0) };
    return { ...base, data: bytes.slice(r.offset, r.offset + r.size) };
  });
  return { type, machine, flags, entry, osabi: bytes[7]!, sections, shstrndx };
}
