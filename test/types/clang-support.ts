/**
 * Helpers for the clang oracle: compile C for the BPF target, read its BTF with
 * our decoder, render BTF type trees canonically, and compare them with schemas.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { decodeBtf, type Btf, type BtfTypeId } from '../../dsl/btf/index.js';
import type { AnySchema, Member } from '../../dsl/types/index.js';

/** Bpftool's JSON view of one type (the fields we compare). */
export interface BpftoolType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  members?: { name: string; bits_offset: number; bitfield_size?: number }[];
}

/**
 * Compiles `source` with `clang-19 -O2 -g -target bpf` and returns its BTF decoded
 * by our decoder and, independently, by `bpftool btf dump -j`.
 */
export function compileBtf(source: string): { btf: Btf; bpftool: BpftoolType[] } {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-types-'));
  try {
    const src = join(dir, 'layouts.c');
    const obj = join(dir, 'layouts.o');
    writeFileSync(src, source);
    // -I for <asm/types.h>, which lives in the multiarch directory on Debian.
    execFileSync('clang-19', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', obj], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    execFileSync('llvm-objcopy-19', [`--dump-section=.BTF=${join(dir, 'layouts.btf')}`, obj]);
    const btf = decodeBtf(new Uint8Array(readFileSync(join(dir, 'layouts.btf'))));
    const bpftool = JSON.parse(execFileSync('bpftool', ['btf', 'dump', 'file', obj, '-j'], { encoding: 'utf8', maxBuffer: 1 << 28 }))
      .types as BpftoolType[];
    return { btf, bpftool };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One-line canonical rendering of a BTF type tree (ids are not compared, shapes are). */
export function shape(btf: Btf, id: BtfTypeId): string {
  const t = btf.typeById(id);
  switch (t.kind) {
    case 'int':
      return `int(${t.name},${t.size},${t.encoding},${t.bits},${t.offset})`;
    case 'typedef':
      return `${t.name}=${shape(btf, t.type)}`;
    case 'array':
      return `${shape(btf, t.type)}[${t.nelems}]idx:${shape(btf, t.indexType)}`;
    case 'struct':
    case 'union':
      return `${t.kind} ${t.name}/${t.size}{${t.members
        .map((m) => `${m.name}@${m.bitOffset}:${m.bitfieldSize} ${shape(btf, m.type)}`)
        .join('; ')}}`;
    case 'enum':
    case 'enum64':
      return `${t.kind} ${t.name}/${t.size}/${t.signed ? 's' : 'u'}{${t.values.map((v) => `${v.name}=${v.value}`).join(',')}}`;
    default:
      return `${t.kind} ${t.name}`;
  }
}

/** Compares a clang struct/union with the schema's own layout, member by member, recursively. */
export function compareLayout(btf: Btf, id: BtfTypeId, schema: AnySchema, path: string): void {
  const t = btf.typeById(btf.resolve(id));
  let s = schema;
  while (s.kind === 'typedef') s = (s as unknown as { target: AnySchema }).target;
  expect(btf.sizeOf(id), `sizeof ${path}`).toBe(s.size);
  if (t.kind === 'struct' || t.kind === 'union') {
    expect(s.kind, `kind of ${path}`).toBe(t.kind);
    // schemaFromBtf's synthetic padding (`__tsbpf_padN`) has no C counterpart.
    const members = (s as unknown as { members: readonly Member[] }).members.filter((m) => !m.name.startsWith('__tsbpf_pad'));
    // Anonymous C members are named __anon0, __anon1, … by schemaFromBtf.
    let anon = 0;
    expect(members.map((m) => m.name), `members of ${path}`).toEqual(t.members.map((m) => m.name || `__anon${anon++}`));
    t.members.forEach((m, i) => {
      const ours = members[i]!;
      expect(ours.bitOffset, `bit offset of ${path}.${m.name}`).toBe(m.bitOffset);
      expect(ours.bitSize, `bitfield size of ${path}.${m.name}`).toBe(m.bitfieldSize);
      if (m.bitfieldSize === 0) compareLayout(btf, m.type, ours.schema, `${path}.${m.name}`);
    });
  } else if (t.kind === 'array' && s.kind === 'pad') {
    // pad(n) is `__u8 name[n]` in C.
    expect(btf.sizeOf(t.type), `element size of ${path}`).toBe(1);
    expect(t.nelems, `length of ${path}`).toBe(s.size);
  } else if (t.kind === 'array') {
    expect(s.kind, `kind of ${path}`).toBe('array');
    const arr = s as unknown as { elem: AnySchema; count: number };
    expect(arr.count, `length of ${path}`).toBe(t.nelems);
    compareLayout(btf, t.type, arr.elem, `${path}[]`);
  }
}

