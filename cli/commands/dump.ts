/**
 * `tsbpf dump FILE.o`: disassemble every executable section of an ELF object
 * (ours or clang's) in exactly the layout of `llvm-objdump-19 -d`
 * (`--no-show-raw-insn` unless `--raw`).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { TsbpfError } from '../../dsl/errors.js';
import { disassembleSection, type CodeSymbol } from '../../dsl/isa/index.js';
import { readElf, readSymbols, SHF, SHT, STT, type ElfFile } from '../../dsl/elf/file/index.js';
import { dumpObjectInfo, dumpWithSource, requireBpfElf } from '../dump-object.js';
import { cliIo } from '../io.js';

/** Options of `dumpObject`. */
export interface DumpOptions {
  /** Show instruction bytes (llvm-objdump without `--no-show-raw-insn`). */
  readonly raw?: boolean;
  /** Print like `llvm-objdump --mattr=+alu32` (w registers for 32-bit memory ops and atomics). */
  readonly alu32?: boolean;
}

/** The full llvm-objdump-style text for an ELF file; `displayName` is the path shown in the first line. */
export function dumpObject(elf: ElfFile, displayName: string, options: DumpOptions = {}): string {
  requireBpfElf(elf, displayName);
  const symbols = readSymbols(elf);
  const out: string[] = ['', `${displayName}:\tfile format elf64-bpf`, ''];
  elf.sections.forEach((sec, index) => {
    if (index === 0 || sec.type === SHT.NOBITS || (sec.flags & SHF.EXECINSTR) === 0 || sec.data.length === 0) return;
    const syms: CodeSymbol[] = symbols
      .filter((s, k) => k > 0 && s.shndx === index && s.type !== STT.SECTION && s.type !== STT.FILE)
      .map((s) => ({ name: s.name, addr: s.value, isObject: s.type === STT.OBJECT }));
    out.push(`Disassembly of section ${sec.name}:`);
    out.push(...disassembleSection(sec.name, sec.data, syms, options));
    out.push('');
  });
  return out.join('\n');
}

/** Registers `tsbpf dump`. */
export function registerDump(program: Command): void {
  program
    .command('dump')
    .description('disassemble every executable section of an ELF object, exactly as llvm-objdump-19 -d --no-show-raw-insn prints it')
    .argument('<file>', 'ELF object (ours or clang\'s)')
    .option('--raw', 'also show the instruction bytes (like llvm-objdump -d without --no-show-raw-insn)')
    .option('--alu32', 'print as llvm-objdump --mattr=+alu32 (w registers for 32-bit loads/stores/atomics)')
    .option('--maps', 'also list maps (type, key/value types and sizes, flags, pinning, initial values), globals and programs')
    .option('--btf', 'also print the object\'s BTF types as C')
    .option('--source', 'interleave line info (file:line:col and source text) with the disassembly, like llvm-objdump -S')
    .action((file: string, opts: { raw?: boolean; alu32?: boolean; maps?: boolean; btf?: boolean; source?: boolean }) => {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(file);
      } catch (err) {
        throw new TsbpfError('CLI_READ', `cannot read ${file}: ${(err as Error).message}`);
      }
      cliIo().stdout.write(opts.source ? dumpWithSource(bytes, file, opts) : dumpObject(readElf(bytes), file, opts));
      if (opts.maps || opts.btf) cliIo().stdout.write(`\n${dumpObjectInfo(bytes, opts)}`);
    });
}
