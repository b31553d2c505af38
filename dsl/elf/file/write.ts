/**
 * `writeElf`: lay out an `ElfFile` as bytes. Header first, then section contents
 * in index order (each at its alignment), then the section header table. The
 * section names are authoritative: names missing from the section-name table are
 * appended to it (its other contents are kept). Deterministic: same model ⇒ same bytes.
 */
import { ELF64, SHN, SHT } from './constants.js';
import { ElfError } from './errors.js';
import { StringTableBuilder } from './strtab.js';
import type { ElfFile } from './types.js';

const alignUp = (n: number, a: number) => (a > 1 ? Math.ceil(n / a) * a : n);

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ElfError('ELF_MODEL', `${what} ${v} is not a 32-bit unsigned integer`);
}
function checkU64(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new ElfError('ELF_MODEL', `${what} ${v} is not a non-negative safe integer`);
}

/**
 * The section-name table: the existing bytes are kept (they may also hold symbol
 * names, as in clang's objects where `.strtab` doubles as the section-name table)
 * and any section name not already present is appended.
 */
function sectionNames(existing: Uint8Array, names: readonly string[]): { table: Uint8Array; offsets: number[] } {
  const base = existing.length > 0 && existing[0] === 0 && existing[existing.length - 1] === 0 ? existing : new Uint8Array(1);
  const extra = new StringTableBuilder();
  const find = (name: string): number | undefined => {
    if (name === '') return 0;
    const needle = Buffer.from(`${name}\0`, 'utf8');
    const at = Buffer.from(base.buffer, base.byteOffset, base.byteLength).indexOf(needle);
    return at >= 0 ? at : undefined;
  };
  const pending: [number, number][] = [];
  const offsets = names.map((name, i) => {
    const at = find(name);
    if (at !== undefined) return at;
    pending.push([i, extra.add(name)]);
    return -1;
  });
  if (pending.length === 0) return { table: base, offsets };
  const tail = extra.bytes().subarray(1); // drop the builder's leading NUL
  const table = new Uint8Array(base.length + tail.length);
  table.set(base);
  table.set(tail, base.length);
  for (const [i, off] of pending) offsets[i] = base.length + off - 1;
  return { table, offsets };
}

/** Serialises `file`; ElfError when the model is inconsistent. */
export function writeElf(file: ElfFile): Uint8Array {
  const { sections } = file;
  if (sections.length === 0) throw new ElfError('ELF_MODEL', 'an ELF file needs at least the null section');
  if (sections[0]!.type !== SHT.NULL) throw new ElfError('ELF_MODEL', 'sections[0] must be the null section');
  if (sections.length >= SHN.LORESERVE) throw new ElfError('ELF_COUNT', `${sections.length} sections need extended numbering, which is not supported`);
  if (!Number.isInteger(file.shstrndx) || file.shstrndx <= 0 || file.shstrndx >= sections.length || sections[file.shstrndx]!.type !== SHT.STRTAB)
    throw new ElfError('ELF_MODEL', `shstrndx ${file.shstrndx} must name a STRTAB section`);

  const { table, offsets: nameOffsets } = sectionNames(sections[file.shstrndx]!.data, sections.map((s, i) => (i === 0 ? '' : s.name)));
  const contents = sections.map((s, i) => (i === file.shstrndx ? table : s.data));

  let at: number = ELF64.EHDR;
  const offsets: number[] = [0];
  for (let i = 1; i < sections.length; i++) {
    const s = sections[i]!;
    checkU64(s.align, `section ${i} (${s.name}) alignment`);
    if (s.align > 1 && (s.align & (s.align - 1)) !== 0) throw new ElfError('ELF_MODEL', `section ${i} (${s.name}) alignment ${s.align} is not a power of two`);
    for (const [v, what] of [[s.flags, 'flags'], [s.addr, 'addr'], [s.entsize, 'entsize']] as const) checkU64(v, `section ${i} (${s.name}) ${what}`);
    checkU32(s.type, `section ${i} (${s.name}) type`);
    checkU32(s.link, `section ${i} (${s.name}) link`);
    checkU32(s.info, `section ${i} (${s.name}) info`);
    if (s.type === SHT.NOBITS) {
      checkU64(s.size ?? 0, `section ${i} (${s.name}) size`);
      offsets.push(alignUp(at, s.align));
      continue;
    }
    at = alignUp(at, s.align);
    offsets.push(at);
    at += contents[i]!.length;
  }
  const shoff = alignUp(at, 8);
  const total = shoff + sections.length * ELF64.SHDR;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);

  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, file.osabi & 0xff]);
  view.setUint16(16, file.type, true);
  view.setUint16(18, file.machine, true);
  view.setUint32(20, 1, true); // e_version
  view.setBigUint64(24, BigInt(file.entry), true);
  view.setBigUint64(32, 0n, true); // e_phoff
  view.setBigUint64(40, BigInt(shoff), true);
  view.setUint32(48, file.flags >>> 0, true);
  view.setUint16(52, ELF64.EHDR, true);
  view.setUint16(54, 0, true); // e_phentsize
  view.setUint16(56, 0, true); // e_phnum
  view.setUint16(58, ELF64.SHDR, true);
  view.setUint16(60, sections.length, true);
  view.setUint16(62, file.shstrndx, true);

  sections.forEach((s, i) => {
    if (i === 0) return;
    const h = shoff + i * ELF64.SHDR;
    const size = s.type === SHT.NOBITS ? (s.size ?? 0) : contents[i]!.length;
    if (s.type !== SHT.NOBITS) out.set(contents[i]!, offsets[i]!);
    view.setUint32(h, nameOffsets[i]!, true);
    view.setUint32(h + 4, s.type, true);
    view.setBigUint64(h + 8, BigInt(s.flags), true);
    view.setBigUint64(h + 16, BigInt(s.addr), true);
    view.setBigUint64(h + 24, BigInt(offsets[i]!), true);
    view.setBigUint64(h + 32, BigInt(size), true);
    view.setUint32(h + 40, s.link, true);
    view.setUint32(h + 44, s.info, true);
    view.setBigUint64(h + 48, BigInt(s.align), true);
    view.setBigUint64(h + 56, BigInt(s.entsize), true);
  });
  return out;
}
