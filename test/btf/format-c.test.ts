import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { BtfBuilder, decodeBtf, formatBtfC } from '../../dsl/btf/index.js';
import type { Btf, BtfTypeId } from '../../dsl/btf/index.js';
import { compileBpf, fixture, section } from './helpers.js';

const ok = need({ tools: ['clang-19'] });
const dir = mkdtempSync(join(tmpdir(), 'tsbpf-btfc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Compiles C text; `keep` names get a global pointer so clang emits their BTF. */
function compileC(text: string, keep: string[] = []): Btf {
  const src = join(dir, `t${Math.random().toString(36).slice(2)}.c`);
  writeFileSync(src, text + keep.map((k, i) => `${k} *__keep_${i};\n`).join(''));
  const obj = compileBpf(src, ['-Werror']);
  try {
    return decodeBtf(section(obj.bytes, '.BTF'));
  } finally {
    obj.cleanup();
  }
}

/** Layout of a struct/union: size and every member's name, bit offset and bitfield size. */
function layout(g: Btf, id: BtfTypeId): unknown {
  const t = g.get(id)!;
  if (t.kind !== 'struct' && t.kind !== 'union') return t.kind;
  return [t.size, t.members.map((m) => [m.name, m.bitOffset, m.bitfieldSize])];
}

/** A type's structure by name and kind, ids erased (depth-limited through pointers). */
function shape(g: Btf, id: BtfTypeId, depth = 0): string {
  if (id === 0) return 'void';
  const t = g.get(id)!;
  if (depth > 4) return `${t.kind}:${t.name}`;
  const d = depth + 1;
  switch (t.kind) {
    case 'ptr': return `*${shape(g, t.type, d)}`;
    case 'array': return `${shape(g, t.type, d)}[${t.nelems}]`;
    case 'const': case 'volatile': case 'restrict': case 'type_tag': return `${t.kind} ${shape(g, t.type, d)}`;
    case 'typedef': return `typedef ${t.name}=${shape(g, t.type, d)}`;
    case 'func_proto': return `(${t.params.map((p) => shape(g, p.type, d)).join(',')})->${shape(g, t.returnType, d)}`;
    case 'struct': case 'union':
      return `${t.kind} ${t.name}{${t.members.map((m) => `${m.name}:${shape(g, m.type, d)}@${m.bitOffset}/${m.bitfieldSize}`).join(';')}}#${t.size}`;
    case 'enum': return `enum ${t.name}{${t.values.map((v) => `${v.name}=${v.value}`).join(',')}}#${t.size}`;
    case 'int': return `${t.name}#${t.size}`;
    default: return `${t.kind}:${t.name}`;
  }
}

describe.skipIf(!ok)('formatBtfC output compiles with clang-19 and reproduces the types', () => {
  it('tricky declarators: pointers to arrays and functions, qualifiers, bitfields, padding, packed', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, 'signed');
    const ch = b.int('char', 1, 'signed');
    const u64 = b.int('unsigned long long', 8);
    const arr = b.array(int, 3);
    const fp = b.ptr(b.funcProto(int, [{ name: 'a', type: int }, { name: '', type: 0 }]));
    const fpRet = b.ptr(b.funcProto(fp, [{ name: 'x', type: b.ptr(arr) }]));
    const cp = b.const(b.ptr(b.const(ch)));
    const inner = b.struct('inner', 3, [{ name: 'c', type: ch, offset: 0 }, { name: 'd', type: ch, offset: 2 }]);
    b.struct('tricky', 64, [
      { name: 'parr', type: b.ptr(arr), offset: 0 },
      { name: 'fn', type: fp, offset: 8 },
      { name: 'fnret', type: fpRet, offset: 16 },
      { name: 'cp', type: cp, offset: 24 },
      { name: 'bits', type: int, bitOffset: 32 * 8, bitfieldSize: 3 },
      { name: 'more', type: int, bitOffset: 32 * 8 + 9, bitfieldSize: 7 },
      { name: 'in', type: inner, offset: 36 },
      { name: 'late', type: u64, offset: 48 },
    ]);
    b.struct('packed', 9, [{ name: 'c', type: ch, offset: 0 }, { name: 'v', type: u64, offset: 1 }]);
    b.typedef('handler_t', fp);
    b.enum('e', [{ name: 'E1', value: 1 }, { name: 'E2', value: -2 }]);
    const g = b.build();
    const text = formatBtfC(g);
    const back = compileC(text, ['struct tricky', 'struct packed', 'handler_t', 'enum e']);
    for (const name of ['tricky', 'packed']) {
      expect(shape(back, back.lookup(name, 'struct').id), name).toBe(shape(g, g.lookup(name, 'struct').id));
    }
    expect(shape(back, back.lookup('handler_t').id)).toBe(shape(g, g.lookup('handler_t').id));
    expect(text).toContain('__attribute__((packed))');
  });

  it('enums of 1, 2 and 8 bytes keep their size', () => {
    const b = new BtfBuilder();
    const e1 = b.enum('e1', [{ name: 'A', value: 1 }], { size: 1 });
    const e2 = b.enum('e2', [{ name: 'B', value: 300 }], { size: 2 });
    const e8 = b.enum('e8', [{ name: 'C', value: 3 }], { size: 8 });
    b.struct('es', 16, [{ name: 'a', type: e1, offset: 0 }, { name: 'b', type: e2, offset: 2 }, { name: 'c', type: e8, offset: 8 }]);
    const g = b.build();
    const back = compileC(formatBtfC(g), ['struct es']);
    const es = back.lookup('es', 'struct');
    expect(layout(back, es.id)).toEqual(layout(g, g.lookup('es', 'struct').id));
    expect(es.type.members.map((m) => back.sizeOf(m.type))).toEqual([1, 2, 8]);
  });

  it('the clang sample object: every struct and union comes back with the same layout', () => {
    const obj = compileBpf(fixture('sample.bpf.c'));
    try {
      const g = decodeBtf(section(obj.bytes, '.BTF'));
      const text = formatBtfC(g, { functions: true });
      const named = [...g.entries()].filter((e) => (e.type.kind === 'struct' || e.type.kind === 'union') && e.type.name !== '');
      const back = compileC(text, named.map((e) => `${e.type.kind} ${e.type.name}`));
      for (const e of named) {
        const other = back.find(e.type.name, e.type.kind as 'struct');
        expect(other, e.type.name).toBeDefined();
        expect(shape(back, other!.id), e.type.name).toBe(shape(g, e.id));
      }
      expect(text).toMatch(/static int helper_fn\(struct node \*n, int x\);/);
    } finally {
      obj.cleanup();
    }
  });

  it.skipIf(!existsSync('/sys/kernel/btf/vmlinux'))('vmlinux: the whole output is valid C, and a sample of ~1000 types keeps its layout', () => {
    const g = decodeBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
    const text = formatBtfC(g);
    const src = join(dir, 'vmlinux.c');
    writeFileSync(src, text);
    execFileSync('clang-19', ['-target', 'bpf', '-fsyntax-only', '-Werror', '-x', 'c', src]);
    // tags whose name is unique keep it in C, so they can be found again
    const tagCount = new Map<string, number>();
    for (const { type: t } of g.entries()) {
      if (t.name && (t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum' || t.kind === 'enum64' || t.kind === 'fwd')) {
        tagCount.set(t.name, (tagCount.get(t.name) ?? 0) + 1);
      }
    }
    const unique = [...g.entries()].filter((e) => (e.type.kind === 'struct' || e.type.kind === 'union') && tagCount.get(e.type.name) === 1);
    const sample = unique.filter((_, i) => i % 10 === 0);
    const back = compileC(formatBtfC(g, { type: sample.map((e) => e.type.name) }), sample.map((e) => `${e.type.kind} ${e.type.name}`));
    let checked = 0;
    for (const { type: o, id } of back.entries()) {
      if ((o.kind !== 'struct' && o.kind !== 'union') || tagCount.get(o.name) !== 1) continue;
      const orig = g.find(o.name, o.kind)!;
      expect(layout(back, id), o.name).toEqual(layout(g, orig.id));
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
  });
});
