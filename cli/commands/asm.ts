/**
 * `tsbpf asm FILE.s`: assemble LLVM-syntax BPF assembly. Without `-o` it prints
 * each instruction's index, bytes and text; with `-o x.o` it writes a minimal
 * relocatable ELF object (one code section, a global function symbol, labels as
 * local symbols, relocations for external calls / `rN = sym ll`, a GPL license)
 * that llvm-objdump, llvm-readelf and `tsbpf dump` read; `--bin` writes the raw
 * instruction bytes.
 */
import type { Command } from 'commander';
import { readInputText, writeOutputFile } from '../files.js';
import { basename, extname } from 'node:path';
import { TsbpfError } from '../../dsl/errors.js';
import {
  assemble,
  encode,
  formatInstruction,
  parse,
  slots,
  type Instruction,
  type IsaLevel,
} from '../../dsl/isa/index.js';
import { ElfBuilder, R_BPF, SHF, SHN, SHT, STB, STT, STV, writeElf, type ElfRelocation } from '../../dsl/elf/file/index.js';
import { cliIo } from '../io.js';

/** Options of `objectFromInstructions`. */
export interface CodeObjectOptions {
  /** Code section name (default `.text`). */
  readonly section?: string;
  /** Name of the global function symbol covering the code. */
  readonly symbol: string;
  /** License string (default `GPL`). */
  readonly license?: string;
}

/** A minimal relocatable BPF object holding assembled instructions. */
export function objectFromInstructions(insns: readonly Instruction[], options: CodeObjectOptions): Uint8Array {
  const code = encode(insns);
  const b = new ElfBuilder();
  const text = b.addSection({ name: options.section ?? '.text', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.EXECINSTR, align: 8, data: code });
  b.addSection({ name: 'license', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 1, data: new TextEncoder().encode(`${options.license ?? 'GPL'}\0`) });
  // Labels become local symbols (jump annotations in dumps), like llvm-mc's output.
  const local = new Map<string, number>();
  let slot = 0;
  const offsets: number[] = [];
  for (const i of insns) {
    offsets.push(slot * 8);
    for (const l of i.meta?.labels ?? [])
      if (l !== options.symbol) local.set(l, b.addSymbol({ name: l, value: slot * 8, size: 0, bind: STB.LOCAL, type: STT.NOTYPE, visibility: STV.DEFAULT, shndx: text }));
    slot += slots(i);
  }
  b.addSymbol({ name: options.symbol, value: 0, size: code.length, bind: STB.GLOBAL, type: STT.FUNC, visibility: STV.DEFAULT, shndx: text });
  const external = new Map<string, number>();
  const rels: ElfRelocation[] = [];
  insns.forEach((i, k) => {
    const ref = i.meta?.ref;
    if (!ref || ref.kind === 'label') return;
    const name = ref.name;
    let sym = local.get(name) ?? (name === options.symbol ? local.size + 1 : external.get(name));
    if (sym === undefined) {
      sym = b.addSymbol({ name, value: 0, size: 0, bind: STB.GLOBAL, type: STT.NOTYPE, visibility: STV.DEFAULT, shndx: SHN.UNDEF });
      external.set(name, sym);
    }
    rels.push({ offset: offsets[k]!, symbol: sym, type: ref.kind === 'call' && (i.opcode & 7) === 5 ? R_BPF['64_32'] : R_BPF['64_64'] });
  });
  if (rels.length) b.addRelocations(text, rels);
  return writeElf(b.build());
}

/** Lines `<index>:<TAB><bytes><TAB><text>` for assembled instructions. */
export function listing(insns: readonly Instruction[]): string[] {
  const code = encode(insns);
  const out: string[] = [];
  let slot = 0;
  for (const i of insns) {
    const n = slots(i);
    const bytes = Array.from(code.subarray(slot * 8, (slot + n) * 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
    out.push(`${String(slot).padStart(8)}:\t${bytes}\t${formatInstruction(i, { alu32: true })}`);
    slot += n;
  }
  return out;
}

const levels = ['v1', 'v2', 'v3', 'v4'];

/** Registers `tsbpf asm`. */
export function registerAsm(program: Command): void {
  program
    .command('asm')
    .description('assemble LLVM-syntax BPF assembly (what llvm-objdump prints, llvm-mc accepts)')
    .argument('<file>', 'assembly source (.s); labels, # and // comments, decimal and hex immediates')
    .option('-o, --output <file.o>', 'write a minimal relocatable ELF object (code section, function symbol, GPL license)')
    .option('--section <name>', 'code section name in the object', '.text')
    .option('--symbol <name>', 'global function symbol name (default: the file name without extension)')
    .option('--isa <level>', 'highest ISA level allowed: v1, v2, v3 or v4', 'v4')
    .option('--bin <file>', 'also write the raw instruction bytes (8 per slot, little endian)')
    .addHelpText(
      'after',
      '\nWithout -o/--bin, prints one line per instruction: slot index, bytes, text.\nSyntax errors are reported as FILE:LINE:COLUMN: message.',
    )
    .action((file: string, opts: { output?: string; section: string; symbol?: string; isa: string; bin?: string }) => {
      if (!levels.includes(opts.isa)) throw new TsbpfError('CLI_USAGE', `--isa must be one of ${levels.join(', ')}, not '${opts.isa}'`);
      const text = readInputText(file, 'assembly source');
      const insns = assemble(parse(text, { file }), { isa: opts.isa as IsaLevel });
      const symbol = opts.symbol ?? (basename(file, extname(file)).replace(/[^A-Za-z0-9_]/g, '_') || 'prog');
      if (opts.output) writeOutputFile(opts.output, objectFromInstructions(insns, { section: opts.section, symbol }), 'object file');
      if (opts.bin) writeOutputFile(opts.bin, encode(insns), 'instruction file');
      if (!opts.output && !opts.bin) cliIo().stdout.write(listing(insns).join('\n') + '\n');
    });
}
