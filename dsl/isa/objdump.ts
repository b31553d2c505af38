/**
 * Byte-level disassembly of one code section in the exact layout of
 * `llvm-objdump-19 -d`: a `<addr> <symbol>:` header at each symbol, lines
 * `<index>:<TAB><text>` (index = byte offset / 8 within the section), jump targets
 * annotated `<symbol+0xoff>` against the closest preceding symbol, `<unknown>` for
 * slots LLVM cannot decode (see llvm-decode.ts) and `\t\t...` for skipped runs of
 * zero bytes.
 *
 * Symbol choice follows llvm-objdump: section and file symbols are ignored; when
 * several symbols share an address the one whose name sorts last wins; with no
 * symbol at offset 0 the section name stands in for one.
 */
import type { Instruction } from './instruction.js';
import { decodeLikeLlvm } from './llvm-decode.js';
import { formatInstruction, jumpOffset, type PrintOptions } from './print.js';

/** A symbol as the disassembler needs it. */
export interface CodeSymbol {
  readonly name: string;
  /** Byte offset within the section. */
  readonly addr: number;
  /** True for data objects (`STT_OBJECT`); llvm-objdump dumps their bytes instead of decoding. */
  readonly isObject?: boolean;
}

/** Options of `disassembleSection`. */
export interface SectionDumpOptions extends PrintOptions {
  /** Also print the raw instruction bytes, as llvm-objdump does without `--no-show-raw-insn`. */
  readonly raw?: boolean;
}

const U64 = 1n << 64n;

/** Sorted (address, name) symbol list with the section-name stand-in at 0 when needed. */
function symbolTable(sectionName: string, symbols: readonly CodeSymbol[]): CodeSymbol[] {
  const list = [...symbols].sort((a, b) => a.addr - b.addr || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (list.length === 0 || list[0]!.addr !== 0) list.unshift({ name: sectionName, addr: 0 });
  return list;
}

/** ` <sym>` / ` <sym+0x10>` for a target byte address (64-bit wrapping, like llvm). */
function annotate(table: readonly CodeSymbol[], target: bigint): string {
  let best = table[0]!;
  for (const s of table) if (BigInt(s.addr) <= target) best = s;
  const delta = target - BigInt(best.addr);
  return delta === 0n ? ` <${best.name}>` : ` <${best.name}+0x${delta.toString(16)}>`;
}

function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Lines llvm-objdump prints for one executable section (starting with the blank line before the first header). */
export function disassembleSection(
  sectionName: string,
  bytes: Uint8Array,
  symbols: readonly CodeSymbol[],
  options: SectionDumpOptions = {},
): string[] {
  const table = symbolTable(sectionName, symbols);
  // One header per distinct address: the last name in sort order.
  const starts: { addr: number; sym: CodeSymbol; isObject: boolean }[] = [];
  for (let k = 0; k < table.length; k++) {
    const s = table[k]!;
    const next = table[k + 1];
    if (next && next.addr === s.addr) continue;
    const group = table.filter((t) => t.addr === s.addr);
    const code = group.filter((t) => !t.isObject);
    starts.push({ addr: s.addr, sym: code.length ? code[code.length - 1]! : s, isObject: code.length === 0 });
  }
  const lines: string[] = [];
  for (let k = 0; k < starts.length; k++) {
    const { addr, sym, isObject } = starts[k]!;
    if (addr > bytes.length) continue;
    const end = Math.min(k + 1 < starts.length ? starts[k + 1]!.addr : bytes.length, bytes.length);
    lines.push('', `${addr.toString(16).padStart(16, '0')} <${sym.name}>:`);
    if (isObject) {
      lines.push(...dataLines(bytes, addr, end));
      continue;
    }
    let at = addr;
    while (at < end) {
      let zeros = 0;
      while (at + zeros < end && bytes[at + zeros] === 0) zeros++;
      if (zeros >= 8) {
        lines.push('\t\t...');
        at += zeros & ~3;
        continue;
      }
      const index = `${String(Math.floor(at / 8)).padStart(8)}:\t`;
      // Like llvm-objdump, an instruction may read past the symbol's end (not the section's).
      const slot = decodeLikeLlvm(bytes, at, options);
      const size = slot.size;
      let text = slot.text;
      const dist = slot.insn ? jumpOffset(slot.insn) : undefined;
      if (dist !== undefined) {
        const target = (BigInt(at) + 8n + BigInt(dist) * 8n + U64) % U64;
        text += annotate(table, target);
      }
      const raw = options.raw ? `${hexBytes(bytes.subarray(at, at + size))}\t` : '';
      lines.push(`${index}${raw}${text}`);
      at += size;
    }
  }
  return lines;
}

/** llvm-objdump's data dump for `STT_OBJECT` ranges inside code sections. */
function dataLines(bytes: Uint8Array, start: number, end: number): string[] {
  const out: string[] = [];
  for (let at = start; at < end; at += 8) {
    const chunk = bytes.subarray(at, Math.min(at + 8, end));
    const hex = hexBytes(chunk).padEnd(8 * 3 - 1);
    const ascii = Array.from(chunk, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    out.push(`${at.toString(16).padStart(8)}: ${hex}         ${ascii}`);
  }
  return out;
}

/**
 * Text of instructions, one line each, llvm-objdump style but without indices or
 * annotations (`r1 = 0x0 ll`, `if r1 > r2 goto +0x3`). With `labels`, label lines
 * `name:` precede labelled instructions and resolved jumps print their label.
 */
export function disassemble(
  insns: readonly Instruction[],
  options: PrintOptions & { labels?: boolean } = {},
): string[] {
  const out: string[] = [];
  for (const i of insns) {
    if (options.labels) for (const l of i.meta?.labels ?? []) out.push(`${l}:`);
    let text = formatInstruction(i, options);
    const ref = i.meta?.ref;
    if (options.labels && ref && (ref.kind === 'label' || ref.kind === 'call')) {
      if (jumpOffset(i) !== undefined) text = text.replace(/(goto|gotol) [-+]0x[0-9a-f]+$/, `$1 ${ref.name}`);
      else if ((i.opcode & 0xf0) === 0x80 && (i.opcode & 7) === 5) text = `call ${ref.name}`;
    }
    out.push(text);
  }
  return out;
}
