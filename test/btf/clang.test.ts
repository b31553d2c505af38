import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import {
  decodeBtf, decodeBtfExt, encodeBtf, encodeBtfWithExt, formatBtfRaw, hasCoreRelos, programFuncInfo, programLineInfo,
} from '../../dsl/btf/index.js';
import { compileBpf, fixture, section } from './helpers.js';
import { readElf, readSymbols } from '../../dsl/elf/file/index.js';

/** Byte offset of a function symbol (an oracle independent of .BTF.ext). */
function symbolOffset(obj: Uint8Array, name: string): number {
  const sym = readSymbols(readElf(obj)).find((s) => s.name === name);
  if (!sym) throw new Error(`no symbol ${name}`);
  return sym.value;
}

/** Names of the .text functions ordered by symbol offset. */
function textFuncsInOrder(obj: Uint8Array): string[] {
  const f = readElf(obj);
  const text = f.sections.findIndex((s) => s.name === '.text');
  return readSymbols(f).filter((s) => s.shndx === text && s.type === 2).sort((a, b) => a.value - b.value).map((s) => s.name);
}

const ok = need({ tools: ['clang-19', 'bpftool'] });

describe.skipIf(!ok)('BTF of clang-19 objects', () => {
  let obj: ReturnType<typeof compileBpf>;
  beforeAll(() => {
    obj = compileBpf(fixture('sample.bpf.c'));
  });
  afterAll(() => obj?.cleanup());

  it('decodes to exactly what bpftool prints, type by type', () => {
    const g = decodeBtf(section(obj.bytes, '.BTF'));
    const theirs = execFileSync('bpftool', ['btf', 'dump', 'file', obj.path, 'format', 'raw'], { encoding: 'utf8' });
    const ours = formatBtfRaw(g);
    expect(ours.split('\n')).toEqual(theirs.split('\n'));
    // sanity: the fixture really covers the interesting kinds
    const kinds = g.countByKind();
    for (const k of ['struct', 'union', 'enum', 'enum64', 'fwd', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'restrict', 'volatile', 'const'] as const) {
      expect(kinds.get(k), k).toBeGreaterThan(0);
    }
    const flags = g.lookup('flags', 'struct').type;
    expect(flags.members.map((m) => [m.name, m.bitOffset, m.bitfieldSize])).toEqual([
      ['a', 0, 3], ['b', 3, 13], ['c', 16, 16], ['d', 32, 4], ['e', 64, 40],
    ]);
  });

  it('re-encodes .BTF and .BTF.ext byte-identically', () => {
    const btf = section(obj.bytes, '.BTF');
    const extBytes = section(obj.bytes, '.BTF.ext');
    const g = decodeBtf(btf);
    expect(Buffer.from(encodeBtf(g)).equals(Buffer.from(btf))).toBe(true);
    const ext = decodeBtfExt(extBytes, g);
    const both = encodeBtfWithExt(g, ext);
    expect(Buffer.from(both.btf).equals(Buffer.from(btf))).toBe(true);
    expect(Buffer.from(both.ext).equals(Buffer.from(extBytes))).toBe(true);
  });

  it('reads func_info, line_info and CO-RE relocations', () => {
    const g = decodeBtf(section(obj.bytes, '.BTF'));
    const ext = decodeBtfExt(section(obj.bytes, '.BTF.ext'), g);
    const funcs = Object.fromEntries(ext.funcInfo.map((s) => [s.section, s.records.map((r) => g.get(r.typeId)!.name)]));
    expect(funcs).toEqual({ '.text': textFuncsInOrder(obj.bytes), tc: ['prog_a'], xdp: ['prog_b'], 'kprobe/x': ['prog_c'] });
    // each func_info sits at its symbol's byte offset
    for (const r of ext.funcInfo.find((s) => s.section === '.text')!.records) {
      expect(symbolOffset(obj.bytes, g.get(r.typeId)!.name)).toBe(r.insnOff);
    }
    const tcLines = ext.lineInfo.find((s) => s.section === 'tc')!.records;
    expect(tcLines[0]!.fileName).toMatch(/sample\.bpf\.c$/);
    expect(tcLines[0]!.line).toBe('\tcounter++;');
    expect(tcLines[0]!.insnOff).toBe(0);
    expect(tcLines[0]!.lineNum).toBeGreaterThan(70);
    expect(tcLines[0]!.column).toBeGreaterThan(0);
    expect(hasCoreRelos(ext)).toBe(true);
    const relo = ext.coreRelos.find((s) => s.section === 'kprobe/x')!.records[0]!;
    expect(g.get(relo.typeId)!.name).toBe('task_like');
    expect(relo.accessStr).toBe('0:1');
    expect(relo.kindName).toBe('field_byte_offset');
  });

  it('converts byte offsets to per-program instruction indices', () => {
    const g = decodeBtf(section(obj.bytes, '.BTF'));
    const ext = decodeBtfExt(section(obj.bytes, '.BTF.ext'), g);
    const helperOff = symbolOffset(obj.bytes, 'helper_fn');
    const globalOff = symbolOffset(obj.bytes, 'global_fn');
    const tcLen = section(obj.bytes, 'tc').length;
    const textLen = section(obj.bytes, '.text').length;
    // prog_a followed by the whole .text appended after it
    const fi = programFuncInfo(ext, [
      { section: 'tc', byteOffset: 0, byteLength: tcLen },
      { section: '.text', byteOffset: 0, byteLength: textLen, insnBase: tcLen / 8 },
    ]);
    const expected: [number, string][] = [
      [0, 'prog_a'], [tcLen / 8 + helperOff / 8, 'helper_fn'], [tcLen / 8 + globalOff / 8, 'global_fn'],
    ];
    expect(fi.map((r) => [r.insnOff, g.get(r.typeId)!.name])).toEqual(expected.sort((a, b) => a[0] - b[0]));
    const li = programLineInfo(ext, [{ section: 'tc', byteOffset: 0, byteLength: tcLen }]);
    expect(li.length).toBe(ext.lineInfo.find((s) => s.section === 'tc')!.records.length);
    expect(li.every((r, i) => i === 0 || r.insnOff > li[i - 1]!.insnOff)).toBe(true);
    expect(li.at(-1)!.insnOff).toBeLessThan(tcLen / 8);
  });
});
