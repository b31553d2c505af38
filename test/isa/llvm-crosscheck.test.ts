/**
 * LLVM 19 as the oracle: the corpus assembled by llvm-mc and by tsbpf gives the same
 * bytes; `tsbpf dump` prints exactly what llvm-objdump prints, for llvm's object,
 * for ours, and for clang-compiled C; the printer matches llvm-objdump on every
 * valid instruction form (both with and without --mattr=+alu32).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assemble,
  decode,
  encode,
  formatInstruction,
  invalidReason,
  parse,
  type Instruction,
} from '../../dsl/isa/index.js';
import { readElf, SHF } from '../../dsl/elf/file/index.js';
import { objectFromInstructions } from '../../dsl/elf/index.js';
import { dumpObject } from '../../cli/commands/dump.js';
import { need } from '../support/env.js';
import { clang, hex, insnLines, insnTexts, LLVM_TOOLS, llvmMc, llvmObjdump, sectionBytes, withTmp } from './llvm.js';

const here = import.meta.dirname;
const corpusPath = join(here, 'corpus', 'all-forms.s');
const corpus = readFileSync(corpusPath, 'utf8');
const haveLlvm = need({ tools: LLVM_TOOLS });

/**
 * LLVM's text prints helper, bpf-to-bpf and kfunc calls alike (`call 0x3`), so
 * text cannot carry a call's src field; comparisons of re-assembled text clear it.
 */
function eraseCallKind(code: Uint8Array): Uint8Array {
  const out = Uint8Array.from(code);
  for (let at = 0; at + 8 <= out.length; at += out[at] === 0x18 ? 16 : 8) if (out[at] === 0x85) out[at + 1] = 0;
  return out;
}

/** Our dump of object bytes, with the first line naming `name` as llvm-objdump would. */
function ourDump(obj: Uint8Array, name: string, opts: { raw?: boolean; alu32?: boolean } = {}): string {
  return dumpObject(readElf(obj), name, opts);
}

describe.skipIf(!haveLlvm)('LLVM cross-check', () => {
  it('corpus: llvm-mc and tsbpf produce identical .text bytes', () =>
    withTmp((dir) => {
      const llvmObj = llvmMc(corpus, dir);
      const ours = encode(assemble(parse(corpus, { file: corpusPath })));
      const theirs = sectionBytes(llvmObj, '.text');
      expect(theirs.length).toBeGreaterThan(180 * 8);
      expect(hex(ours)).toBe(hex(theirs));
    }));

  it('corpus: tsbpf dump equals llvm-objdump for llvm-mc\'s object and for ours (with and without raw bytes, alu32)', () =>
    withTmp((dir) => {
      const llvmObj = llvmMc(corpus, dir);
      const ourObj = objectFromInstructions(assemble(parse(corpus, { file: corpusPath })), { symbol: 'all_forms' });
      for (const [obj, name] of [[llvmObj, 'llvm.o'], [ourObj, 'ours.o']] as const) {
        for (const opts of [{}, { raw: true }, { alu32: true }]) {
          const expected = llvmObjdump(obj, dir, { ...opts, name });
          expect(insnLines(expected).length).toBeGreaterThan(180);
          expect(ourDump(obj, join(dir, name), opts)).toBe(expected);
        }
      }
    }));

  it('llvm-objdump text re-assembles to the same bytes (text → assemble → same instructions)', () =>
    withTmp((dir) => {
      const llvmObj = llvmMc(corpus, dir);
      const text = insnTexts(llvmObjdump(llvmObj, dir, { alu32: true }));
      const again = encode(assemble(parse(text.join('\n'))));
      expect(hex(eraseCallKind(again))).toBe(hex(eraseCallKind(sectionBytes(llvmObj, '.text'))));
    }));

  it('printer equals llvm-objdump on every valid instruction form', () =>
    withTmp((dir) => {
      // All opcodes × representative register/offset/immediate values, keeping the valid ones.
      const forms: Instruction[] = [];
      const imms = [0, 1, 16, 32, 64, -5, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0x7fffffff, -0x80000000];
      for (let opcode = 0; opcode < 256; opcode++)
        for (const [dst, src] of [[0, 0], [1, 2], [10, 6], [9, 10]] as const)
          for (const off of [0, -8, 1, 8, 16, 32, 0x7fff, -0x8000])
            for (const imm of imms) {
              const i: Instruction = opcode === 0x18 ? { opcode, dst, src, off: 0, imm, imm64: BigInt(imm) + (BigInt(off & 0xff) << 32n) } : { opcode, dst, src, off, imm };
              if (!invalidReason(i)) forms.push(i);
            }
      expect(forms.length).toBeGreaterThan(5000);
      const bytes = encode(forms);
      const directives: string[] = [];
      for (let at = 0; at < bytes.length; at += 8) directives.push(`.byte ${Array.from(bytes.subarray(at, at + 8)).join(',')}`);
      const obj = llvmMc(directives.join('\n') + '\n', dir, 'forms');
      for (const alu32 of [false, true]) {
        const llvmText = insnTexts(llvmObjdump(obj, dir, { alu32 }));
        const ours = forms.map((f) => formatInstruction(f, { alu32 }));
        expect(llvmText.length).toBe(ours.length);
        const mismatches = ours.map((t, k) => [t, llvmText[k]]).filter(([a, b]) => a !== b);
        expect(mismatches.slice(0, 10)).toEqual([]);
      }
      // And the decoder reads back exactly what we encoded.
      expect(hex(encode(decode(bytes)))).toBe(hex(bytes));
    }));

  const programs: [string, string[]][] = [
    ['maps_loops.c', ['v2', 'v3', 'v4']],
    ['calls.c', ['v2', 'v3', 'v4']],
    ['atomics.c', ['v4']],
  ];
  for (const [file, cpus] of programs)
    for (const cpu of cpus)
      it(`clang-19 -O2 -g -mcpu=${cpu} ${file}: dump equals llvm-objdump; code decodes, re-encodes and re-assembles byte-identically`, () =>
        withTmp((dir) => {
          const obj = clang(join(here, 'c', file), dir, cpu);
          for (const opts of [{}, { raw: true }, { alu32: true }]) {
            const expected = llvmObjdump(obj, dir, { ...opts, name: 'c.o' });
            expect(ourDump(obj, join(dir, 'c.o'), opts)).toBe(expected);
          }
          const elf = readElf(obj);
          const code = elf.sections.filter((s) => (s.flags & SHF.EXECINSTR) !== 0 && s.data.length > 0);
          expect(code.length).toBeGreaterThan(0);
          for (const sec of code) {
            const insns = decode(sec.data);
            expect(hex(encode(insns))).toBe(hex(sec.data));
            // objdump text (alu32 form: every instruction printable) → our assembler → same bytes
            const text = insns.map((i) => formatInstruction(i, { alu32: true }));
            expect(hex(eraseCallKind(encode(assemble(parse(text.join('\n'))))))).toBe(hex(eraseCallKind(sec.data)));
          }
        }));

  it('dump equals llvm-objdump on 20,000 random slots (LLVM\'s lenient decoding, r11, callx, truncated tails)', () =>
    withTmp((dir) => {
      let seed = 20260611;
      const rnd = () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed / 2 ** 32;
      };
      const common = [0x04, 0x05, 0x06, 0x07, 0x0c, 0x0f, 0x15, 0x16, 0x18, 0x1d, 0x1e, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x61, 0x62, 0x63, 0x71, 0x79, 0x7a, 0x7b, 0x81, 0x84, 0x85, 0x87, 0x8d, 0x91, 0x95, 0x97, 0xb4, 0xb7, 0xbc, 0xbf, 0xc3, 0xd4, 0xd7, 0xdb, 0xdc, 0xe5, 0x3c, 0x3f, 0x9c];
      const lines: string[] = [];
      for (let k = 0; k < 20000; k++) {
        const b = Array.from({ length: 8 }, () => Math.floor(rnd() * 256));
        if (rnd() < 0.8) b[0] = common[Math.floor(rnd() * common.length)]!;
        if (rnd() < 0.5) b[1] = Math.floor(rnd() * 13) | (Math.floor(rnd() * 13) << 4);
        if (rnd() < 0.5) b[2] = b[3] = 0;
        if (rnd() < 0.3) {
          b[4] = [0, 1, 16, 32, 64, 0x41, 0xe1, 0xf1][Math.floor(rnd() * 8)]!;
          b[5] = b[6] = b[7] = 0;
        }
        if (rnd() < 0.05) b.fill(0);
        lines.push(`.byte ${b.join(',')}`);
      }
      lines.push('.byte 0x18,1,0,0,5,0,0,0,0,0'); // a truncated lddw at the end
      const obj = llvmMc(lines.join('\n') + '\n', dir, 'random');
      for (const opts of [{}, { alu32: true }, { raw: true }]) {
        const expected = llvmObjdump(obj, dir, { ...opts, name: 'random.o' });
        expect(insnLines(expected).length).toBeGreaterThan(18000); // lddw pairs and zero runs take several slots
        expect(ourDump(obj, join(dir, 'random.o'), opts)).toBe(expected);
      }
    }));

  it('dump equals llvm-objdump on odd layouts: shared addresses, data objects, zero runs, symbol-crossing lddw, many sections', () =>
    withTmp((dir) => {
      const src = [
        '  .text',
        '  r0 = 0',
        '  .byte 0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0, 0,0,0,0',
        '  exit',
        '  .byte 0xff,0,0,0,0,0,0,0',
        '  .byte 0x18,1,0,0,5,0,0,0, 0x95,0,0,0,7,0,0,0',
        '  .byte 0x18,1,0,0,5,0,0,0',
        'B:',
        'A:',
        '  exit',
        '  .type D,@object',
        'D:',
        '  .byte 1,2,3,4,5,6,7,8,9,10,11',
        '  .type F,@function',
        '  .globl F',
        'F:',
        '  goto -100',
        '  if r1 == 0 goto +10',
        '  .byte 0x07,0,0,0,0,0',
        '  .section xdp,"ax"',
        '  .byte 0x18,1,0,0,5,0,0,0,0,0,0,0',
        '  .section tc,"ax"',
        '  .byte 0,0,0,0,0,0,0,0,0,0,0',
        '  .section "cgroup/connect4","ax"',
        'prog:',
        '  r1 = 1',
        'Z:',
        '  call 5',
        '  goto -3',
        '  exit',
      ].join('\n');
      const obj = llvmMc(src + '\n', dir, 'odd');
      for (const opts of [{}, { raw: true }, { alu32: true }]) {
        const expected = llvmObjdump(obj, dir, { ...opts, name: 'odd.o' });
        expect(expected).toMatch(/<D>:\n\s+4c: 01 02 03/);
        expect(ourDump(obj, join(dir, 'odd.o'), opts)).toBe(expected);
      }
    }));
});
