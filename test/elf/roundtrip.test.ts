/** readObject(writeObject(spec)) ≈ spec, fixpoints, and typed errors for bad specs and unsupported content. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElfBuilder, readElf, readSymbols, SHF, SHT, writeElf } from '../../dsl/elf/file/index.js';
import { layoutObject, readObject, writeObject } from '../../dsl/elf/index.js';
import { lineInfoPath } from '../../dsl/elf/line-info-path.js';
import { assemble, asm, insn, type Instruction } from '../../dsl/isa/index.js';
import { ObjectError, typeSize, type ObjectSpec } from '../../dsl/object/index.js';
import { u32 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { richSpec } from './fixtures.js';
import { compileC, scratch } from './helpers.js';

/** The encoded fields and reference of each instruction, and the source in effect at it (its file as line_info names it: project-relative). */
function shape(insns: readonly Instruction[]) {
  let src: string | undefined;
  return insns.map((i) => {
    const s = i.meta?.source;
    if (s) src = `${lineInfoPath(s.file)}:${s.line}:${s.column}`;
    return { opcode: i.opcode, dst: i.dst, src: i.src, off: i.off, imm: i.imm, imm64: i.imm64, ref: i.meta?.ref, at: src };
  });
}

function expectTyped(f: () => unknown, code: string, message?: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ObjectError);
    expect((e as ObjectError).code).toBe(code);
    if (message) expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ObjectError ${code}`);
}

describe('round trip', () => {
  it('readObject(writeObject(spec)) gives back the spec', () => {
    const spec = richSpec();
    const back = readObject(writeObject(spec));
    expect(back.license).toBe('GPL');
    expect(back.ignored).toEqual([]);
    expect(back.programs.map((p) => [p.name, p.section])).toEqual(spec.programs.map((p) => [p.name, p.section]));
    spec.programs.forEach((p, k) => expect(shape(back.programs[k]!.instructions)).toEqual(shape(assemble(p.instructions))));
    expect(back.subprograms!.map((p) => [p.name, p.linkage])).toEqual([['bump', 'static']]);
    expect(shape(back.subprograms![0]!.instructions)).toEqual(shape(assemble(spec.subprograms![0]!.instructions)));
    // Every program and subprogram got func_info with a FUNC_PROTO.
    for (const f of [...back.programs, ...back.subprograms!]) expect(back.btf!.get(f.btfProto!)?.kind).toBe('func_proto');

    expect(back.maps!.map((m) => m.name)).toEqual(spec.maps!.map((m) => m.name));
    spec.maps!.forEach((m, k) => {
      const b = back.maps![k]!;
      expect(b.type).toBe(m.type);
      expect(b.maxEntries).toBe(m.maxEntries);
      expect(b.pinning ?? 'none').toBe(m.pinning ?? 'none');
      expect(b.values ?? []).toEqual(m.values ?? []);
      if (m.key) expect(typeSize(b.key!, back.btf, 'key')).toBe(typeSize(m.key, undefined, 'key'));
      if (m.value) expect(typeSize(b.value!, back.btf, 'value')).toBe(typeSize(m.value, undefined, 'value'));
      expect(b.innerMap?.type).toBe(m.innerMap?.type);
    });
    const cfg = back.btf!.get((back.globals![0]!.type as { btfType: number }).btfType);
    expect(cfg).toMatchObject({ kind: 'struct', name: 'tsbpf_cfg', size: 8 });
    expect(back.globals!.map((g) => [g.name, g.section, g.offset, typeSize(g.type, back.btf, g.name)])).toEqual([
      ['cfg', '.rodata', 0, 8],
      ['hits', '.bss', 0, 8],
    ]);
    expect(back.globals![0]!.init).toEqual(spec.globals![0]!.init);
  });

  it('reaches a fixpoint: write(read(x)) is stable after one round', () => {
    const once = writeObject(readObject(writeObject(richSpec())));
    const twice = writeObject(readObject(once));
    expect(Buffer.from(twice).equals(Buffer.from(once))).toBe(true);
  });

  it('keeps section-relative global references, function addresses and global subprograms', () => {
    const spec: ObjectSpec = {
      license: 'GPL',
      programs: [{
        name: 'p', section: 'socket',
        instructions: asm().ldGlobal('r1', '.data', 4).ldFunc('r2', 'cb').callFunc('gsub').callFunc('cb').mov64('r0', 0).exit().build(),
      }],
      subprograms: [
        { name: 'cb', instructions: asm().mov64('r0', 0).exit().build() },
        { name: 'gsub', linkage: 'global', instructions: asm().mov64('r0', 1).exit().build() },
      ],
      globals: [{ name: 'a', section: '.data', type: u32 }, { name: 'b', section: '.data', type: u32, init: u32.encode(9) }],
    };
    const back = readObject(writeObject(spec));
    expect(shape(back.programs[0]!.instructions)).toEqual(shape(assemble(spec.programs[0]!.instructions)));
    expect(back.subprograms!.map((s) => [s.name, s.linkage])).toEqual([['cb', 'static'], ['gsub', 'global']]);
    expect(back.globals!.map((g) => [g.name, g.offset])).toEqual([['a', 0], ['b', 4]]);
  });
});

describe('scale', () => {
  it('writes and reads a 200k-instruction program with per-instruction line info quickly', () => {
    const mov = insn.mov64('r0', 0);
    const body: Instruction[] = Array.from({ length: 200_000 }, (_, k) => ({ ...mov, imm: k & 0xff, meta: { source: { file: 'big.ts', line: k + 1, column: 1, text: `line ${k}` } } }));
    const spec: ObjectSpec = { license: 'GPL', programs: [{ name: 'big', section: 'socket', instructions: [...body, insn.exit()] }] };
    const t0 = performance.now();
    const bytes = writeObject(spec);
    const back = readObject(bytes);
    expect(performance.now() - t0).toBeLessThan(15_000);
    expect(back.programs[0]!.instructions).toHaveLength(200_001);
    expect(back.programs[0]!.instructions[199_999]!.meta?.source).toEqual({ file: 'big.ts', line: 200_000, column: 1, text: 'line 199999' });
  }, 60_000);
});

describe('layoutObject', () => {
  it('exposes the BTF ids the loader needs, consistent with the written object', () => {
    const spec = richSpec();
    const layout = layoutObject(spec);
    const elfFile = readElf(writeObject(spec));
    expect(Buffer.from(layout.btf).equals(Buffer.from(elfFile.sections.find((x) => x.name === '.BTF')!.data))).toBe(true);
    const g = layout.btfGraph;
    const counters = layout.maps.get('counters')!;
    expect(g.get(counters.keyType!)).toMatchObject({ kind: 'typedef', name: '__u32' });
    expect(g.get(counters.valueType!)).toMatchObject({ kind: 'typedef', name: '__u64' });
    expect(layout.maps.get('jmp')!.keyType).toBeUndefined();
    expect(g.get(layout.datasecs.get('.rodata')!)).toMatchObject({ kind: 'datasec', name: '.rodata', size: 8 });
    const syms = readSymbols(elfFile);
    for (const f of layout.functions) {
      expect(g.get(f.funcType)).toMatchObject({ kind: 'func', name: f.name });
      expect(syms.find((x) => x.name === f.name)).toMatchObject({ value: f.offset, size: f.size });
    }
  });
});

describe('map attributes', () => {
  it('flags, numa node, sizes-only and schema keys, map-in-map templates survive the round trip', () => {
    const spec: ObjectSpec = {
      license: 'Dual BSD/GPL',
      kernelVersion: 0x060c00,
      programs: [{ name: 'p', section: 'xdp', instructions: asm().mov64('r0', 2).exit().build() }],
      maps: [
        { name: 'h', type: 'HASH', key: 12, value: u32, maxEntries: 100, flags: 1, numaNode: 0 },
        { name: 'lpm', type: 'LPM_TRIE', key: 8, value: 8, maxEntries: 10, flags: 1 },
        { name: 'hom', type: 'HASH_OF_MAPS', key: u32, maxEntries: 3, innerMap: { type: 'HASH', key: 4, value: 8, maxEntries: 5, flags: 1 } },
      ],
    };
    const back = readObject(writeObject(spec));
    expect(back.license).toBe('Dual BSD/GPL');
    expect(back.kernelVersion).toBe(0x060c00);
    const [h, lpm, hom] = back.maps!;
    expect(h).toMatchObject({ name: 'h', type: 'HASH', key: 12, maxEntries: 100, flags: 1, numaNode: 0 });
    expect(typeSize(h!.value!, back.btf, 'v')).toBe(4);
    expect(lpm).toMatchObject({ type: 'LPM_TRIE', key: 8, value: 8, flags: 1 });
    expect(hom).toMatchObject({ type: 'HASH_OF_MAPS', maxEntries: 3, innerMap: { type: 'HASH', key: 4, value: 8, maxEntries: 5, flags: 1 } });
    expect(hom!.values).toBeUndefined();
  });
});

describe('writer errors', () => {
  const base = (): ObjectSpec => ({ license: 'GPL', programs: [{ name: 'p', section: 'xdp', instructions: asm().mov64('r0', 2).exit().build() }] });
  it('rejects inconsistent specs with typed errors naming the culprit', () => {
    expectTyped(() => writeObject({ ...base(), programs: [{ name: 'p', section: 'xdp', instructions: asm().ldMapFd('r1', 'nope').mov64('r0', 0).exit().build() }] }), 'OBJECT_INVALID', /unknown map 'nope'/);
    expectTyped(() => writeObject({ ...base(), maps: [{ name: 'p', type: 'HASH', key: 4, value: 4, maxEntries: 1 }] }), 'OBJECT_INVALID', /map 'p' has the same name as program 'p'/);
    expectTyped(() => writeObject({ ...base(), programs: [{ name: 'q', section: '.text', instructions: asm().exit().build() }] }), 'OBJECT_INVALID', /section name/);
    expectTyped(() => writeObject({ ...base(), maps: [{ name: 'j', type: 'PROG_ARRAY', maxEntries: 2, values: ['missing'] }] }), 'OBJECT_INVALID', /'missing' is not a program/);
    expectTyped(() => writeObject({ ...base(), maps: [{ name: 'j', type: 'PROG_ARRAY', maxEntries: 1, values: ['p', 'p'] }] }), 'OBJECT_INVALID', /exceed maxEntries/);
    expectTyped(() => writeObject({ ...base(), maps: [{ name: 'h', type: 'HASHY' as 'HASH', key: 4, value: 4, maxEntries: 1 }] }), 'OBJECT_INVALID', /unknown map type 'HASHY'/);
    expectTyped(() => writeObject({ ...base(), globals: [{ name: 'z', section: '.bss', type: u32, init: u32.encode(1) }] }), 'OBJECT_INVALID', /\.bss/);
    expectTyped(() => writeObject({ ...base(), globals: [{ name: 'z', section: '.data', type: u32 }, { name: 'y', section: '.data', type: u32, offset: 2 }] }), 'OBJECT_INVALID', /overlaps 'z'/);
    expectTyped(() => writeObject({ ...base(), programs: [{ name: 'p', section: 'xdp', instructions: asm().ldGlobal('r1', 'g', 0).exit().build() }] }), 'OBJECT_INVALID', /unknown global 'g'/);
    expectTyped(() => writeObject({ ...base(), programs: [{ name: 'p', section: 'xdp', instructions: asm().callFunc('p').exit().build() }] }), 'OBJECT_INVALID', /not a subprogram/);
    expectTyped(() => writeObject({ ...base(), programs: [{ name: 'p', section: 'xdp', instructions: asm().kfunc('bpf_foo').exit().build() }] }), 'OBJECT_INVALID', /kfunc 'bpf_foo' has no prototype/);
    expectTyped(() => writeObject({ ...base(), programs: [{ name: 'p', section: 'xdp', instructions: asm().ja('nowhere').exit().build() }] }), 'OBJECT_INVALID', /nowhere/);
    expectTyped(() => writeObject({ ...base(), programs: [{ name: 'p', section: 'xdp', instructions: asm().callFunc('sub').exit().label('sub').mov64('r0', 0).exit().build() }] }), 'OBJECT_INVALID', /must name a subprogram/);
    expectTyped(() => writeObject({ ...base(), globals: [{ name: 'LICENSE', section: '.data', type: u32 }] }), 'OBJECT_INVALID', /license symbol/);
  });
});

describe('reader: unsupported content is an error or listed, never silent', () => {
  it('rejects the legacy maps section', () => {
    const b = new ElfBuilder();
    b.addSection({ name: 'maps', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 4, data: new Uint8Array(20) });
    b.addSection({ name: 'license', type: SHT.PROGBITS, flags: SHF.ALLOC | SHF.WRITE, align: 1, data: new Uint8Array([71, 80, 76, 0]) });
    expectTyped(() => readObject(writeElfFile(b)), 'OBJECT_UNSUPPORTED', /legacy 'maps'/);
  });

  it.skipIf(!need({ tools: ['clang-19'] }))('rejects CO-RE relocations (or lists them with ignoreCoreRelos) and externs', () => {
    const s = scratch();
    try {
      const core = compileC(s.dir, 'core', `
#define SEC(n) __attribute__((section(n), used))
struct sk_buff { unsigned int len; unsigned int mark; } __attribute__((preserve_access_index));
SEC("kprobe/x") int probe(struct sk_buff *skb) { return skb->mark; }
char LICENSE[] SEC("license") = "GPL";`);
      const bytes = new Uint8Array(readFileSync(core));
      expectTyped(() => readObject(bytes), 'OBJECT_UNSUPPORTED', /CO-RE/);
      const spec = readObject(bytes, { ignoreCoreRelos: true });
      expect(spec.ignored!.some((i) => /CO-RE/.test(i.reason))).toBe(true);

      const ext = compileC(s.dir, 'ext', `
#define SEC(n) __attribute__((section(n), used))
extern unsigned int LINUX_KERNEL_VERSION __attribute__((section(".kconfig")));
SEC("xdp") int x(void *ctx) { return LINUX_KERNEL_VERSION > 5 ? 2 : 1; }
char LICENSE[] SEC("license") = "GPL";`);
      expectTyped(() => readObject(new Uint8Array(readFileSync(ext))), 'OBJECT_UNSUPPORTED', /extern 'LINUX_KERNEL_VERSION'/);
    } finally {
      s.cleanup();
    }
  });
});

function writeElfFile(b: ElfBuilder): Uint8Array {
  return writeElf(b.build());
}
