/**
 * The `tsbpf` CLI run as a user runs it, in-process (test/support/cli.ts) from
 * the TypeScript sources; test/cli/process.test.ts runs the real bin.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readElf, readSymbols, sectionIndex, SHF, STB, STT } from '../../dsl/elf/file/index.js';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbpf-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tsbpf(...args: string[]) {
  return runCli(args, { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
}

const haveLlvm = need({ tools: ['llvm-objdump-19', 'llvm-readelf-19'] });

const program = [
  '# sum 1..n',
  'entry:',
  '  r0 = 0',
  '  r1 = 10',
  'loop:',
  '  r0 += r1',
  '  r1 += -1',
  '  if r1 != 0 goto loop',
  '  r2 = 0x1122334455667788 ll',
  '  exit',
].join('\n');

describe('tsbpf CLI', () => {
  it('--help lists asm, dump and demo', async () => {
    const r = await tsbpf('--help');
    expect(r.code).toBe(0);
    for (const cmd of ['asm', 'dump', 'demo']) expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd} `, 'm'));
    const a = await tsbpf('asm', '--help');
    expect(a.stdout).toMatch(/-o, --output <file\.o>/);
    expect(a.stdout).toMatch(/--section <name>/);
  });

  it('asm without -o prints index, bytes and text per instruction', async () => {
    writeFileSync(join(dir, 'sum.s'), program);
    const r = await tsbpf('asm', 'sum.s');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      '       0:\tb7 00 00 00 00 00 00 00\tr0 = 0x0',
      '       1:\tb7 01 00 00 0a 00 00 00\tr1 = 0xa',
      '       2:\t0f 10 00 00 00 00 00 00\tr0 += r1',
      '       3:\t07 01 00 00 ff ff ff ff\tr1 += -0x1',
      '       4:\t55 01 fd ff 00 00 00 00\tif r1 != 0x0 goto -0x3',
      '       5:\t18 02 00 00 88 77 66 55 00 00 00 00 44 33 22 11\tr2 = 0x1122334455667788 ll',
      '       7:\t95 00 00 00 00 00 00 00\texit',
    ]);
  });

  it('asm -o writes an object: code section, GLOBAL FUNC symbol, GPL license; --bin writes raw bytes', async () => {
    writeFileSync(join(dir, 'sum.s'), program);
    const r = await tsbpf('asm', 'sum.s', '-o', 'sum.o', '--section', 'socket', '--bin', 'sum.bin');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const elf = readElf(readFileSync(join(dir, 'sum.o')));
    const code = sectionIndex(elf, 'socket')!;
    expect(elf.sections[code]!.flags & SHF.EXECINSTR).toBeTruthy();
    expect(Buffer.from(elf.sections[code]!.data).equals(readFileSync(join(dir, 'sum.bin')))).toBe(true);
    expect(new TextDecoder().decode(elf.sections[sectionIndex(elf, 'license')!]!.data)).toBe('GPL\0');
    const fn = readSymbols(elf).find((s) => s.name === 'sum')!;
    expect(fn).toMatchObject({ bind: STB.GLOBAL, type: STT.FUNC, shndx: code, value: 0, size: 64 });
  });

  it.skipIf(!haveLlvm)('dump of our object equals llvm-objdump -d --no-show-raw-insn; --raw equals llvm-objdump -d', async () => {
    writeFileSync(join(dir, 'sum.s'), program);
    expect((await tsbpf('asm', 'sum.s', '-o', 'sum.o')).code).toBe(0);
    const llvm = spawnSync('llvm-objdump-19', ['-d', '--no-show-raw-insn', 'sum.o'], { cwd: dir, encoding: 'utf8' });
    const ours = await tsbpf('dump', 'sum.o');
    expect(ours.code).toBe(0);
    expect(ours.stdout).toBe(llvm.stdout);
    expect(ours.stdout).toMatch(/\n0000000000000010 <loop>:\n/);
    expect(ours.stdout).toMatch(/\tif r1 != 0x0 goto -0x3 <loop>\n/);
    const raw = spawnSync('llvm-objdump-19', ['-d', 'sum.o'], { cwd: dir, encoding: 'utf8' });
    expect((await tsbpf('dump', '--raw', 'sum.o')).stdout).toBe(raw.stdout);
    const readelf = spawnSync('llvm-readelf-19', ['-a', 'sum.o'], { cwd: dir, encoding: 'utf8' });
    expect(readelf.status).toBe(0);
    expect(readelf.stderr).toBe('');
  });

  it('demo assembles and dumps the bundled example', async () => {
    const r = await tsbpf('demo');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# assembled examples\/hello\.s \(\d+ instructions\)/);
    expect(r.stdout).toMatch(/Disassembly of section xdp:\n\n0000000000000000 <hello>:\n\s+0:\tr2 = \*\(u32 \*\)\(r1 \+ 0x4\)/);
    expect(r.stdout).toMatch(/\tlock \*\(u64 \*\)\(r0 \+ 0x0\) \+= r1\n/);
    expect(r.stdout).toMatch(/\texit\n/);
  });

  it('syntax errors print file:line:column without a stack trace and exit 1', async () => {
    writeFileSync(join(dir, 'bad.s'), 'r0 = 0\nexit\n  if r1 >> 3 goto +1\n');
    const r = await tsbpf('asm', 'bad.s');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("tsbpf: bad.s:3:9: expected a comparison operator, found '>>'\n");
  });

  it('label errors and unreadable files are reported as tsbpf errors', async () => {
    writeFileSync(join(dir, 'lbl.s'), 'goto nowhere\nexit\n');
    const r = await tsbpf('asm', 'lbl.s');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tsbpf: instruction 0 `goto nowhere` at lbl\.s:1:1: jump to unknown label 'nowhere'\n$/);
    const m = await tsbpf('dump', 'missing.o');
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/^tsbpf: cannot read missing\.o/);
    writeFileSync(join(dir, 'junk.o'), 'not an elf file at all, just text............................................');
    const j = await tsbpf('dump', 'junk.o');
    expect(j.code).toBe(1);
    expect(j.stderr).toBe('tsbpf: not an ELF file (bad magic)\n');
  });

  it.skipIf(!haveLlvm || !need({ tools: ['llvm-mc-19'] }))('asm -o emits the relocations llvm-mc emits for external calls and symbol loads', async () => {
    const src = ['  r1 = counters ll', '  call ext_fn', '  call local_fn', '  r2 = config ll', '  exit', 'local_fn:', '  r0 = 0', '  exit'].join('\n');
    writeFileSync(join(dir, 'rel.s'), src + '\n');
    expect((await tsbpf('asm', 'rel.s', '-o', 'ours.o')).code).toBe(0);
    const mc = spawnSync('llvm-mc-19', ['-triple', 'bpfel', '-mcpu=v4', '-filetype=obj', 'rel.s', '-o', 'mc.o'], { cwd: dir, encoding: 'utf8' });
    expect(mc.status).toBe(0);
    const relocs = (obj: string) =>
      spawnSync('llvm-objdump-19', ['-dr', obj], { cwd: dir, encoding: 'utf8' }).stdout.split('\n').filter((l) => /R_BPF_/.test(l));
    const ours = relocs('ours.o');
    expect(ours).toEqual([
      '\t\t0000000000000000:  R_BPF_64_64\tcounters',
      '\t\t0000000000000010:  R_BPF_64_32\text_fn',
      '\t\t0000000000000020:  R_BPF_64_64\tconfig',
    ]);
    expect(ours).toEqual(relocs('mc.o'));
    const code = (obj: string) => Buffer.from(readElf(readFileSync(join(dir, obj))).sections.find((s) => s.name === '.text')!.data).toString('hex');
    expect(code('ours.o')).toBe(code('mc.o'));
  });
});
