/**
 * Reproducers of the robustness audit for BTF: cyclic graphs are typed
 * `BTF_CYCLE` errors wherever they enter (decoder, C printer, object writer,
 * readObject, the CLI), and 3,000-deep chains are walked iteratively (decoder,
 * resolve, C printer in both modes, dedup, object writer, the CLI) — never a
 * stack overflow.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Btf, BtfError, decodeBtf, dedupBtf, formatBtfC, type BtfType } from '../../dsl/btf/index.js';
import { readElf, writeElf } from '../../dsl/elf/file/index.js';
import { readObject, writeObject } from '../../dsl/elf/index.js';
import { btfBlob, int32, K, splice, typeCount, typedefChain } from './btf-bytes.js';
import { expectOneLineError, fixtures, root, tsbpf } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tsbpf-robust-btf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectBtfError(f: () => unknown, code: string, message: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BtfError);
  expect((err as BtfError).code).toBe(code);
  expect((err as BtfError).message).toMatch(message);
}

const fixture = (name: string) => new Uint8Array(readFileSync(join(fixtures, name)));

describe('cyclic BTF is a typed error', () => {
  it('the decoder refuses typedef a -> b -> a (btf-typedef-cycle.btf) and a self-referencing typedef', () => {
    expectBtfError(() => decodeBtf(fixture('btf-typedef-cycle.btf')), 'BTF_CYCLE', /\[1\] typedef 'a' -> \[2\] typedef 'b' -> \[1\]/);
    expectBtfError(() => decodeBtf(btfBlob([{ name: 'self', kind: K.TYPEDEF, sizeOrType: 1 }])), 'BTF_CYCLE', /typedef 'self'/);
  });

  it('a struct containing itself by value, and a pointer that points to itself, are refused', () => {
    const byValue = btfBlob([int32, { name: 's', kind: K.STRUCT, sizeOrType: 4, vlen: 1, extra: [0, 2, 0] }]);
    expectBtfError(() => decodeBtf(byValue), 'BTF_CYCLE', /struct 's'/);
    expectBtfError(() => decodeBtf(btfBlob([{ name: '', kind: K.PTR, sizeOrType: 1 }])), 'BTF_CYCLE', /\[1\] ptr/);
  });

  it('a cycle through a pointer to a struct (a linked list) is fine', () => {
    // struct node { struct node *next; }: [1] struct -> [2] ptr -> [1]
    const list = btfBlob([{ name: 'node', kind: K.STRUCT, sizeOrType: 8, vlen: 1, extra: [0, 2, 0] }, { name: '', kind: K.PTR, sizeOrType: 1 }]);
    const g = decodeBtf(list);
    const c = formatBtfC(g);
    expect(c).toContain('struct node {');
    expect(c).toMatch(/struct node \*;/);
  });

  it('the C printer and the object writer refuse a hand-built cyclic graph', () => {
    const cyclic = new Btf([
      { kind: 'typedef', name: 'a', type: 2 },
      { kind: 'typedef', name: 'b', type: 1 },
    ] as BtfType[]);
    expectBtfError(() => formatBtfC(cyclic), 'BTF_CYCLE', /typedef 'a'/);
    const spec = {
      license: 'GPL',
      programs: [{ name: 'p', section: 'xdp', instructions: [{ opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 2 }, { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] }],
      globals: [{ name: 'g', section: '.data', type: { btfType: 1 }, init: new Uint8Array(4) }],
      btf: cyclic,
    };
    expectBtfError(() => writeObject(spec as never), 'BTF_CYCLE', /typedef/);
  });

  it('tsbpf btf dump of btf-typedef-cycle.btf is one typed line, not invalid C', () => {
    const r = tsbpf(['btf', 'dump', join(fixtures, 'btf-typedef-cycle.btf')]);
    expect(r.stdout).toBe('');
    expectOneLineError(r, /cyclic BTF/);
  });
});

describe('3,000-deep chains are walked without recursion', () => {
  const deep = btfBlob([int32, ...typedefChain(3000, 2, 1)]);

  it('decode, resolve, dedup and both C printer modes handle a 3,000-typedef chain', () => {
    const g = decodeBtf(deep);
    expect(g.types).toHaveLength(3001);
    expect(g.resolve(3001)).toBe(1);
    expect(dedupBtf(g).removed).toBe(0);
    const all = formatBtfC(g);
    expect(all.split('\n').filter((l) => l.startsWith('typedef '))).toHaveLength(3000);
    const one = formatBtfC(g, { type: 't2999' });
    // t2999 needs every earlier link, each defined before its use.
    expect(one.indexOf('typedef int t0;')).toBeLessThan(one.indexOf('typedef t0 t1;'));
    expect(one.trimEnd().endsWith('typedef t2998 t2999;')).toBe(true);
  });

  it('a 3,000-deep chain of alternating const/volatile/typedef prints every link', () => {
    const links = Array.from({ length: 3000 }, (_, i) => ({ name: i % 3 === 2 ? `m${i}` : '', kind: [K.CONST, K.VOLATILE, K.TYPEDEF][i % 3]!, sizeOrType: i + 1 }));
    const g = decodeBtf(btfBlob([int32, ...links]));
    const c = formatBtfC(g);
    expect(c).toContain('typedef volatile const int m2;');
    expect(c).toContain('typedef volatile const m2 m5;');
    expect(c).toContain('typedef volatile const m2996 m2999;');
  });

  it('const chains longer than any fixed limit print without a "too deep" placeholder', () => {
    const consts = Array.from({ length: 3000 }, (_, i) => ({ name: '', kind: i % 2 ? K.VOLATILE : K.CONST, sizeOrType: i + 1 }));
    const g = decodeBtf(btfBlob([int32, ...consts, { name: 'cv', kind: K.TYPEDEF, sizeOrType: 3001 }]));
    const c = formatBtfC(g, { type: 'cv' });
    expect(c).toBe('typedef volatile const int cv;\n\n');
  });

  it('3,000 named structs each holding the previous by value print in dependency order; 3,000 nested anonymous ones are BTF_TOO_DEEP', () => {
    const named = Array.from({ length: 3000 }, (_, i) => ({ name: `s${i}`, kind: K.STRUCT, sizeOrType: 4, vlen: 1, extra: [0, i + 1, 0] }));
    const c = formatBtfC(decodeBtf(btfBlob([int32, ...named])));
    expect(c.indexOf('struct s0 {')).toBeLessThan(c.indexOf('struct s1 {'));
    expect(c).toContain('struct s2999 {\n\tstruct s2998;\n};');
    const anon = Array.from({ length: 3000 }, (_, i) => ({ name: i === 2999 ? 'top' : '', kind: K.STRUCT, sizeOrType: 4, vlen: 1, extra: [0, i + 1, 0] }));
    expectBtfError(() => formatBtfC(decodeBtf(btfBlob([int32, ...anon]))), 'BTF_TOO_DEEP', /nest deeper than 256 levels/);
  });

  it('split BTF dumped without its base: one line that suggests --base', () => {
    // A module-like blob: its one type refers to id 7, which only a base would have.
    const split = join(dir, 'split.btf');
    writeFileSync(split, btfBlob([{ name: 'needs_base', kind: K.TYPEDEF, sizeOrType: 7 }]));
    expectOneLineError(tsbpf(['btf', 'dump', split]), /refers to missing type id 7.*give its base with --base FILE/);
  });

  it('tsbpf btf dump of the audit files (btf-mixed-modifier-chain-3000.btf, btf-typedef-chain-3000.btf --type t2999)', () => {
    const mixed = tsbpf(['btf', 'dump', join(fixtures, 'btf-mixed-modifier-chain-3000.btf')]);
    expect(mixed.stderr).toBe('');
    expect(mixed.code).toBe(0);
    expect(mixed.stdout.split('\n').filter((l) => l.startsWith('typedef ')).length).toBeGreaterThan(900);
    const chain = tsbpf(['btf', 'dump', join(fixtures, 'btf-typedef-chain-3000.btf'), '--type', 't2999']);
    expect(chain.stderr).toBe('');
    expect(chain.code).toBe(0);
    expect(chain.stdout).toMatch(/ t2999;\n+$/);
  });
});

describe('objects whose .BTF is cyclic or 3,000 deep', () => {
  let selfCycle: string;
  let deepChain: string;
  beforeAll(() => {
    // A real object from the examples, with types spliced into its .BTF.
    const built = join(dir, 'pc.o');
    const b = tsbpf(['build', join(root, 'examples', 'packet-counter.ts'), '-o', built, '--target', '6.6'], dir);
    expect(b.stderr).toBe('');
    const elf = readElf(new Uint8Array(readFileSync(built)));
    const sec = elf.sections.find((s) => s.name === '.BTF')!;
    const n = typeCount(sec.data);
    const withBtf = (data: Uint8Array) => writeElf({ ...elf, sections: elf.sections.map((s) => (s === sec ? { ...s, data, size: data.length } : s)) });
    selfCycle = join(dir, 'btf-typedef-self-cycle.o');
    deepChain = join(dir, 'elf-deep-btf-chain.o');
    writeFileSync(selfCycle, withBtf(splice(sec.data, [{ name: 'selfy', kind: K.TYPEDEF, sizeOrType: n + 1 }])));
    writeFileSync(deepChain, withBtf(splice(sec.data, typedefChain(3000, n + 1, 1))));
  });

  it('readObject of btf-typedef-self-cycle.o is BTF_CYCLE (lib-writeObject-cycle.ts never gets a spec)', () => {
    expectBtfError(() => readObject(new Uint8Array(readFileSync(selfCycle))), 'BTF_CYCLE', /typedef 'selfy'/);
  });

  it('tsbpf load of btf-typedef-self-cycle.o is one typed line', () => {
    expectOneLineError(tsbpf(['load', selfCycle]), /typedef 'selfy' refers back to itself/);
  });

  it('readObject and writeObject of elf-deep-btf-chain.o; writeObject of a spec that uses the 3,000th link', () => {
    const spec = readObject(new Uint8Array(readFileSync(deepChain)));
    expect(spec.btf!.types.length).toBeGreaterThan(3000);
    expect(writeObject(spec).length).toBeGreaterThan(0);
    const last = spec.btf!.nextId - 1;
    expect(spec.btf!.get(last)?.name).toBe('t2999');
    const uses = { ...spec, globals: [{ name: 'deep_global', section: '.data', type: { btfType: last }, init: new Uint8Array(4) }] };
    const again = readObject(writeObject(uses as never));
    const g = again.btf!;
    const id = g.idsByName('t2999')[0]!;
    expect(g.sizeOf(id)).toBe(4);
    expect(g.get(g.resolve(id))?.kind).toBe(g.get(g.resolve(g.idsByName('t0')[0]!))?.kind);
  });

  it('tsbpf dump --btf and btf dump of elf-deep-btf-chain.o print the whole chain', () => {
    for (const args of [['dump', '--btf', deepChain], ['btf', 'dump', deepChain]]) {
      const r = tsbpf(args);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('typedef t2998 t2999;');
    }
  });
});
