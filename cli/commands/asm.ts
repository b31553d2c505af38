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
import { objectFromInstructions } from '../../dsl/elf/index.js';
import { cliIo } from '../io.js';


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
