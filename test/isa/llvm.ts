/**
 * Helpers running the LLVM 19 oracles (llvm-mc, llvm-objdump, clang) for the
 * instruction-layer tests. Every call works in a private temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readElf, sectionIndex } from '../../dsl/elf/file/index.js';

/** Tools the LLVM cross-checks need. */
export const LLVM_TOOLS = ['llvm-mc-19', 'llvm-objdump-19', 'clang-19'];

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-isa-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Assembles text with `llvm-mc-19 -triple bpfel -mcpu=v4 -filetype=obj`; returns the object bytes. */
export function llvmMc(source: string, dir: string, name = 'mc'): Uint8Array {
  const s = join(dir, `${name}.s`);
  const o = join(dir, `${name}.o`);
  writeFileSync(s, source);
  execFileSync('llvm-mc-19', ['-triple', 'bpfel', '-mcpu=v4', '-filetype=obj', s, '-o', o]);
  return readFileSync(o);
}

/** `llvm-objdump-19 -d` output for object bytes (written as `name` in `dir`). */
export function llvmObjdump(obj: Uint8Array, dir: string, opts: { raw?: boolean; alu32?: boolean; name?: string } = {}): string {
  const path = join(dir, opts.name ?? 'dump.o');
  writeFileSync(path, obj);
  const args = ['-d', ...(opts.raw ? [] : ['--no-show-raw-insn']), ...(opts.alu32 ? ['--mattr=+alu32'] : []), path];
  return execFileSync('llvm-objdump-19', args, { maxBuffer: 1 << 28 }).toString();
}

/** Compiles C with `clang-19 -O2 -g -target bpf`. */
export function clang(cFile: string, dir: string, cpu: string): Uint8Array {
  const o = join(dir, `c-${cpu}.o`);
  execFileSync('clang-19', ['-O2', '-g', '-target', 'bpf', `-mcpu=${cpu}`, '-I/usr/include/x86_64-linux-gnu', '-c', cFile, '-o', o]);
  return readFileSync(o);
}

/** Bytes of a named section of an ELF object, read with our container. */
export function sectionBytes(obj: Uint8Array, name: string): Uint8Array {
  const elf = readElf(obj);
  const i = sectionIndex(elf, name);
  if (i === undefined) throw new Error(`no section ${name}`);
  return elf.sections[i]!.data;
}

/** Instruction lines (`<index>:<TAB><text>`) of an objdump listing. */
export function insnLines(listing: string): string[] {
  return listing.split('\n').filter((l) => /^\s+\d+:\t/.test(l));
}

/** The text part of instruction lines, without index and jump annotation. */
export function insnTexts(listing: string): string[] {
  return insnLines(listing).map((l) => l.replace(/^\s+\d+:\t/, '').replace(/ <[^\s<>]+>$/, ''));
}

/** Hex string of bytes. */
export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
