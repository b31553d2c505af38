/**
 * The generic ELF64 container: write/read symmetry, agreement with llvm-readelf on
 * clang's objects and ours, and typed errors (never crashes or hangs) on malformed input.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ElfBuilder,
  ElfError,
  EM_BPF,
  ET,
  R_BPF,
  SHF,
  SHN,
  SHT,
  STB,
  STT,
  STV,
  readElf,
  readRelocations,
  readSymbols,
  sectionIndex,
  writeElf,
  type ElfFile,
} from '../../dsl/elf/file/index.js';
import { need } from '../support/env.js';

const haveLlvm = need({ tools: ['llvm-readelf-19', 'llvm-objdump-19', 'clang-19'] });

function tmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-elf-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A small object with code, data, bss, a license, symbols and relocations. */
function sample(): ElfFile {
  const b = new ElfBuilder();
  const code = Uint8Array.from([0x18, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x85, 0x10, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const text = b.addSection({ name: 'xdp', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.EXECINSTR, align: 8, data: code });
  const data = b.addSection({ name: '.data', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 4, data: Uint8Array.from([1, 2, 3, 4]) });
  const bss = b.addSection({ name: '.bss', type: SHT.NOBITS, flags: SHF.ALLOC | SHF.WRITE, align: 8, data: new Uint8Array(0), size: 64 });
  b.addSection({ name: 'license', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 1, data: new TextEncoder().encode('GPL\0') });
  const local = b.addSymbol({ name: 'counter', value: 0, size: 4, bind: STB.LOCAL, type: STT.OBJECT, visibility: STV.DEFAULT, shndx: data });
  b.addSymbol({ name: 'buf', value: 8, size: 16, bind: STB.LOCAL, type: STT.OBJECT, visibility: STV.HIDDEN, shndx: bss });
  b.addSymbol({ name: 'prog', value: 0, size: code.length, bind: STB.GLOBAL, type: STT.FUNC, visibility: STV.DEFAULT, shndx: text });
  const ext = b.addSymbol({ name: 'external_fn', value: 0, size: 0, bind: STB.GLOBAL, type: STT.NOTYPE, visibility: STV.DEFAULT, shndx: SHN.UNDEF });
  b.addRelocations(text, [
    { offset: 0, symbol: local, type: R_BPF['64_64'] },
    { offset: 16, symbol: ext, type: R_BPF['64_32'] },
  ]);
  return b.build();
}

describe('write/read symmetry', () => {
  it('readElf(writeElf(model)) reproduces the model and writing again is byte-identical', () => {
    const model = sample();
    const bytes = writeElf(model);
    const back = readElf(bytes);
    expect(back.type).toBe(ET.REL);
    expect(back.machine).toBe(EM_BPF);
    expect(back.shstrndx).toBe(model.shstrndx);
    expect(back.sections.map((s) => s.name)).toEqual(['', 'xdp', '.data', '.bss', 'license', '.relxdp', '.symtab', '.strtab', '.shstrtab']);
    back.sections.forEach((s, i) => {
      const m = model.sections[i]!;
      const { data, ...rest } = s;
      const { data: mdata, ...mrest } = m;
      expect(rest).toEqual({ ...mrest, ...(m.type === SHT.NOBITS ? {} : {}) });
      if (i !== model.shstrndx) expect(Buffer.from(data).equals(Buffer.from(mdata))).toBe(true);
    });
    expect(Buffer.from(writeElf(back)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('decodes symbols and relocations', () => {
    const elf = readElf(writeElf(sample()));
    const syms = readSymbols(elf);
    expect(syms.map((s) => [s.name, s.bind, s.type, s.visibility, s.shndx, s.value, s.size])).toEqual([
      ['', 0, 0, 0, 0, 0, 0],
      ['counter', STB.LOCAL, STT.OBJECT, STV.DEFAULT, 2, 0, 4],
      ['buf', STB.LOCAL, STT.OBJECT, STV.HIDDEN, 3, 8, 16],
      ['prog', STB.GLOBAL, STT.FUNC, STV.DEFAULT, 1, 0, 32],
      ['external_fn', STB.GLOBAL, STT.NOTYPE, STV.DEFAULT, SHN.UNDEF, 0, 0],
    ]);
    const symtab = elf.sections[sectionIndex(elf, '.symtab')!]!;
    expect(symtab.info).toBe(3); // first non-local symbol
    const rel = elf.sections[sectionIndex(elf, '.relxdp')!]!;
    expect(rel.info).toBe(1);
    expect(readRelocations(rel.data)).toEqual([
      { offset: 0, symbol: 1, type: 1 },
      { offset: 16, symbol: 4, type: 10 },
    ]);
  });

  it('is deterministic', () => {
    expect(Buffer.from(writeElf(sample())).equals(Buffer.from(writeElf(sample())))).toBe(true);
  });
});

describe.skipIf(!haveLlvm)('agreement with LLVM', () => {
  it('llvm-readelf reads our file without warnings and sees the same symbols and relocations', () =>
    tmp((dir) => {
      const path = join(dir, 's.o');
      writeFileSync(path, writeElf(sample()));
      const out = execFileSync('llvm-readelf-19', ['-a', '--wide', path], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      expect(out).not.toMatch(/warning/i);
      expect(out).toMatch(/Machine:\s+EM_BPF/);
      expect(out).toMatch(/\.bss\s+NOBITS\s+0+\s+[0-9a-f]+\s+000040\s/);
      expect(out).toMatch(/FUNC\s+GLOBAL\s+DEFAULT\s+1 prog/);
      expect(out).toMatch(/OBJECT\s+LOCAL\s+HIDDEN\s+3 buf/);
      expect(out).toMatch(/R_BPF_64_64\s+0+\s+counter/);
      expect(out).toMatch(/R_BPF_64_32\s+0+\s+external_fn/);
    }));

  it('clang objects: symbols and relocations match llvm-readelf; rewriting keeps llvm-objdump output', () =>
    tmp((dir) => {
      const c = join(import.meta.dirname, '..', 'isa', 'c', 'maps_loops.c');
      const obj = join(dir, 'c.o');
      execFileSync('clang-19', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', c, '-o', obj]);
      const elf = readElf(readFileSync(obj));
      const syms = readSymbols(elf);
      const readelfSyms = execFileSync('llvm-readelf-19', ['-s', '--wide', obj]).toString().split('\n').filter((l) => /^\s+\d+:/.test(l));
      expect(readelfSyms.length).toBe(syms.length);
      readelfSyms.forEach((line, k) => {
        const [, value, size] = line.trim().split(/\s+/);
        expect(parseInt(value!, 16)).toBe(syms[k]!.value);
        expect(Number(size)).toBe(syms[k]!.size);
        const name = syms[k]!.type === STT.SECTION ? elf.sections[syms[k]!.shndx]!.name : syms[k]!.name;
        if (name) expect(line.trimEnd().endsWith(` ${name}`)).toBe(true);
      });
      const relocs = elf.sections.filter((s) => s.type === SHT.REL).flatMap((s) => readRelocations(s.data));
      const readelfRel = execFileSync('llvm-readelf-19', ['-r', '--wide', obj]).toString().split('\n').filter((l) => /^[0-9a-f]{16}\s/.test(l));
      expect(relocs.length).toBe(readelfRel.length);
      expect(relocs.length).toBeGreaterThan(10);
      // Rewrite through our container; llvm-objdump and llvm-readelf see the same program.
      const rewritten = join(dir, 'r.o');
      writeFileSync(rewritten, writeElf(elf));
      const dump = (p: string) => execFileSync('llvm-objdump-19', ['-d', '-r', p]).toString().split('\n').slice(2).join('\n');
      expect(dump(rewritten)).toBe(dump(obj));
      const warn = execFileSync('llvm-readelf-19', ['-a', rewritten], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
      expect(warn).not.toMatch(/warning/i);
    }));
});

describe('malformed input gives ElfError, never a crash or hang', () => {
  const good = writeElf(sample());

  function expectElfErrorOrFile(bytes: Uint8Array): void {
    try {
      const elf = readElf(bytes);
      for (const s of elf.sections) if (s.type === SHT.REL) readRelocations(s.data);
      try {
        readSymbols(elf);
      } catch (err) {
        if (!(err instanceof ElfError)) throw err;
      }
    } catch (err) {
      if (!(err instanceof ElfError)) throw err;
    }
  }

  it('every truncation', () => {
    for (let n = 0; n < good.length; n++) expectElfErrorOrFile(good.subarray(0, n));
    expect(() => readElf(good.subarray(0, 10))).toThrow(/shorter than an ELF64 header/);
    expect(() => readElf(good.subarray(0, good.length - 1))).toThrow(ElfError);
  });

  it('random byte mutations (seeded, 5,000 cases)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }), (edits) => {
        const b = Uint8Array.from(good);
        for (const [at, v] of edits) b[at] = v;
        expectElfErrorOrFile(b);
      }),
      { numRuns: 5000, seed: 4242 },
    );
  });

  it('specific corruptions name the problem', () => {
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const shoff = Number(view(good).getBigUint64(40, true));
    const hdr = (i: number) => shoff + i * 64;

    const magic = Uint8Array.from(good);
    magic[1] = 0;
    expect(() => readElf(magic)).toThrow(/bad magic/);

    const be = Uint8Array.from(good);
    be[5] = 2;
    expect(() => readElf(be)).toThrow(/not little endian/);

    const huge = Uint8Array.from(good);
    view(huge).setUint16(60, 0xfff0, true); // e_shnum far beyond the file
    expect(() => readElf(huge)).toThrow(expect.objectContaining({ code: 'ELF_COUNT' }));

    const ext = Uint8Array.from(good);
    view(ext).setUint16(60, 0, true); // extended numbering with an absurd count in section 0
    view(ext).setBigUint64(hdr(0) + 32, 1n << 40n, true);
    expect(() => readElf(ext)).toThrow(expect.objectContaining({ code: 'ELF_COUNT' }));

    const oob = Uint8Array.from(good);
    view(oob).setBigUint64(hdr(1) + 32, 1n << 20n, true); // xdp size beyond the file
    expect(() => readElf(oob)).toThrow(/section 1: bytes .* are outside the file/);

    const tooBig = Uint8Array.from(good);
    view(tooBig).setBigUint64(hdr(1) + 24, 1n << 62n, true);
    expect(() => readElf(tooBig)).toThrow(/too large/);

    const overlap = Uint8Array.from(good);
    const dataOff = view(good).getBigUint64(hdr(2) + 24, true);
    view(overlap).setBigUint64(hdr(1) + 24, dataOff - 8n, true); // xdp now runs into .data
    expect(() => readElf(overlap)).toThrow(expect.objectContaining({ code: 'ELF_OVERLAP' }));

    const name = Uint8Array.from(good);
    view(name).setUint32(hdr(1), 0xffff, true);
    expect(() => readElf(name)).toThrow(/name of section 1: offset 65535 is outside its string table/);

    const shstr = Uint8Array.from(good);
    view(shstr).setUint16(62, 1, true); // e_shstrndx → a PROGBITS section
    expect(() => readElf(shstr)).toThrow(/is not a string table/);
  });

  it('inconsistent models are refused by writeElf and the builder', () => {
    const m = sample();
    expect(() => writeElf({ ...m, sections: m.sections.slice(1) })).toThrow(/null section/);
    expect(() => writeElf({ ...m, shstrndx: 1 })).toThrow(/must name a STRTAB/);
    expect(() => writeElf({ ...m, sections: m.sections.map((s, i) => (i === 1 ? { ...s, align: 3 } : s)) })).toThrow(/alignment 3 is not a power of two/);
    const b = new ElfBuilder();
    b.addSymbol({ name: 'g', value: 0, size: 0, bind: STB.GLOBAL, type: STT.NOTYPE, visibility: 0, shndx: 0 });
    expect(() => b.addSymbol({ name: 'l', value: 0, size: 0, bind: STB.LOCAL, type: STT.NOTYPE, visibility: 0, shndx: 0 })).toThrow(/local symbol 'l' added after a global/);
    expect(() => b.addRelocations(5, [])).toThrow(/relocation target 5/);
  });
});
