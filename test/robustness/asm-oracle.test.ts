/**
 * Reproducers of the robustness audit for the assembler, with llvm-mc-19
 * (`-triple bpfel -mcpu=v4 -filetype=obj`) as the oracle: every bad line is
 * rejected by both (llvm with an `error:`, tsbpf with a typed AsmSyntaxError
 * naming line:column), every line of the good corpus is accepted by both, and
 * long bad literals are cut in messages.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AsmSyntaxError, assemble, encode, parse } from '../../dsl/isa/index.js';
import { need } from '../support/env.js';
import { objectFromInstructions } from '../../dsl/elf/index.js';
import { LLVM_TOOLS, hex, llvmMc, llvmObjdump, sectionBytes, withTmp } from '../isa/llvm.js';
import { expectOneLineError, fixtures, tsbpf } from './cli.js';

const haveLlvm = need({ tools: LLVM_TOOLS });

/**
 * llvm-mc's verdict on one source: accepted, or what it printed. (llvm-mc-19
 * crashes, SIGSEGV, on an upper-case register in operand position when writing
 * an object: it parses `R1` as a symbol; a crash counts as a rejection.)
 */
function llvmAccepts(source: string, dir: string): { ok: boolean; stderr: string } {
  const s = join(dir, 'one.s');
  writeFileSync(s, `${source}\n`);
  const r = spawnSync('llvm-mc-19', ['-triple', 'bpfel', '-mcpu=v4', '-filetype=obj', s, '-o', join(dir, 'one.o')], { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: r.stderr };
}

function tsbpfError(source: string): AsmSyntaxError | undefined {
  try {
    assemble(parse(source, { file: 'bad.s' }));
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(AsmSyntaxError);
    return e as AsmSyntaxError;
  }
}

const bad = [
  // asm-lenient.s
  'lock *(u32 *)(r1 + 0) |= r2',
  'r1 = *(u32 *)(r10 - - 8)',
  // asm-uppercase-reg.s
  'r5 = R1',
  '*(u64 *)(r10 - 8) = R2',
  'if R1 > r2 goto +1',
  // neighbours of the same mistakes
  'lock *(u32 *)(r1 + 0) &= r2',
  'lock *(u32 *)(r1 + 0) ^= r2',
  'r1 = *(u32 *)(r10 + -8)',
  'r1 = *(u32 *)(r10 - -8)',
  'r1 = *(u32 *)(r10 + +8)',
  '*(u32 *)(r10 - - 4) = w1',
  'r1 += - -8',
  'if r1 > R2 goto +1',
  'r1 += R2',
  'r1 = *(u32 *)(R10 - 8)',
  'r1 = -R1',
  'r1 = BE16 r1',
  'r1 = 1 LL',
  'r1 = *(U32 *)(r10 - 8)',
  'if r1 > r2 GOTO +1',
  // found by mutating the corpus against llvm-mc
  'ld_pseudo w1, 1, 3',
  `r1 = 0x${'f'.repeat(300)}`,
  `r1 = 1${'9'.repeat(300)}z`,
];

const good = [
  'lock *(u32 *)(r1 + 0) |= w2',
  'lock *(u32 *)(r1 + 0) += r2',
  'lock *(u32 *)(r1 + 0) += w2',
  'lock *(u64 *)(r1 + 0) ^= r2',
  'r1 = *(u32 *)(r10 - 8)',
  'r1 += -8',
  'r1 = - 8',
  'if r1 > -1 goto +1',
  // llvm-mc reads the mnemonic (first word) case-insensitively.
  'R1 = 5',
  'W1 = 5',
  'EXIT',
  'R1 = *(u32 *)(r10 - 8)',
];

describe.skipIf(!haveLlvm)('assembler vs llvm-mc-19', () => {
  it('every bad line: llvm-mc reports an error and tsbpf an AsmSyntaxError at line:column', () => {
    withTmp((dir) => {
      for (const line of bad) {
        const llvm = llvmAccepts(line, dir);
        expect(llvm.ok, `llvm-mc accepted ${line.slice(0, 60)}`).toBe(false);
        expect(llvm.stderr, line.slice(0, 60)).toMatch(/error:|PLEASE submit a bug report/);
        const e = tsbpfError(line);
        expect(e, `tsbpf accepted ${line.slice(0, 60)}`).toBeDefined();
        expect(e!.message).toMatch(/^bad\.s:1:\d+: /);
        expect(e!.message.length).toBeLessThan(200);
      }
    });
  });

  it('the audit files as a whole are rejected by both (asm-lenient.s, asm-uppercase-reg.s)', () => {
    withTmp((dir) => {
      for (const name of ['asm-lenient.s', 'asm-uppercase-reg.s']) {
        const text = readFileSync(join(fixtures, name), 'utf8');
        expect(llvmAccepts(text, dir).ok).toBe(false);
        expect(tsbpfError(text)).toBeDefined();
      }
    });
    expectOneLineError(tsbpf(['asm', join(fixtures, 'asm-uppercase-reg.s')]), /asm-uppercase-reg\.s:1:6: registers are lower case: write 'r1', not 'R1'/);
    expectOneLineError(tsbpf(['asm', join(fixtures, 'asm-lenient.s')]), /asm-lenient\.s:1:26: a 32-bit atomic \|= takes a w register/);
  });

  it('the accepted neighbours assemble to the same bytes as llvm-mc', () => {
    withTmp((dir) => {
      for (const line of good) {
        const ours = hex(encode(assemble(parse(line))));
        expect(ours, line).toBe(hex(sectionBytes(llvmMc(`${line}\n`, dir), '.text')));
      }
    });
  });

  it('every line of the good corpus (test/isa/corpus/all-forms.s) is accepted by both', () => {
    const corpus = readFileSync(join(import.meta.dirname, '..', 'isa', 'corpus', 'all-forms.s'), 'utf8');
    withTmp((dir) => {
      expect(llvmAccepts(corpus, dir).ok).toBe(true);
      expect(() => assemble(parse(corpus))).not.toThrow();
    });
  });

  it('the one deliberate difference: gotol takes a 32-bit offset (llvm-mc 19 only parses 16 bits, though it prints 32)', () => {
    withTmp((dir) => {
      expect(llvmAccepts('gotol -333333', dir).stderr).toMatch(/16-bit signed integer/);
      const insns = assemble(parse('gotol -333333\nexit'));
      expect(new DataView(encode(insns).buffer).getInt32(4, true)).toBe(-333333);
      // llvm-objdump prints our bytes back as the 32-bit offset we accepted.
      const listing = llvmObjdump(objectFromInstructions(insns, { section: 'xdp', symbol: 'p' }), dir);
      expect(listing).toMatch(/gotol -0x51615/);
    });
  });

  it('a long bad literal is cut in the message', () => {
    const e = tsbpfError(`r1 = 1${'9'.repeat(5000)}z`)!;
    expect(e.message).toMatch(/malformed number '19{39}…' \(5002 characters\)/);
    expect(e.message.length).toBeLessThan(120);
  });
});
