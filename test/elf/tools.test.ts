/**
 * Our objects against the ecosystem's tools: libbpf's static linker (`bpftool
 * gen object`), `bpftool btf dump`, `llvm-objdump-19`, `llvm-readelf-19`, the
 * `elfy` parser, and the real kernel through `bpftool prog loadall`.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { BtfBuilder } from '../../dsl/btf/index.js';
import { readObject, writeObject } from '../../dsl/elf/index.js';
import { asm } from '../../dsl/isa/index.js';
import { readElf, readSymbols, SHT } from '../../dsl/elf/file/index.js';
import type { ObjectSpec } from '../../dsl/object/index.js';
import { bpffsSession } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { richSpec } from './fixtures.js';
import { run, scratch } from './helpers.js';

const tools = ['bpftool', 'llvm-objdump-19', 'llvm-readelf-19', 'clang-19'];

/** The rich spec without by-name pinning, so `pinmaps` can pin every map in the test dir. */
function unpinnedSpec(): ObjectSpec {
  const s = richSpec();
  return { ...s, maps: s.maps!.map((m) => ({ ...m, pinning: 'none' as const })) };
}

describe('objects written by writeObject', () => {
  it.skipIf(!need({ tools }))('pass libbpf static linking, bpftool btf dump, llvm-objdump and llvm-readelf without warnings', () => {
    const s = scratch();
    try {
      const obj = s.file('ours.o', writeObject(richSpec()));
      const linked = s.file('linked.o');
      const gen = run('bpftool', ['gen', 'object', linked, obj]);
      expect(gen.stderr + gen.stdout).not.toMatch(/error|warn/i);
      expect(gen.status).toBe(0);

      const btf = run('bpftool', ['btf', 'dump', 'file', obj]);
      expect(btf.status).toBe(0);
      expect(btf.stdout).toContain("VAR 'counters' type_id=");
      expect(btf.stdout).toContain("VAR 'cfg' type_id=");
      expect(btf.stdout).toContain("STRUCT 'tsbpf_cfg' size=8 vlen=2");
      expect(btf.stdout).toMatch(/FUNC 'bump' type_id=\d+ linkage=static/);
      expect(btf.stdout).toMatch(/FUNC 'tc_main' type_id=\d+ linkage=global/);
      // DATASECs carry true offsets and sizes.
      expect(btf.stdout).toMatch(/DATASEC '\.maps' size=168 vlen=4\n\ttype_id=\d+ offset=0 size=40 \(VAR 'counters'\)\n\ttype_id=\d+ offset=40 size=64 \(VAR 'jmp'\)\n\ttype_id=\d+ offset=104 size=32 \(VAR 'inner_a'\)\n\ttype_id=\d+ offset=136 size=32 \(VAR 'outer'\)/);
      expect(btf.stdout).toMatch(/DATASEC '\.bss' size=8 vlen=1\n\ttype_id=\d+ offset=0 size=8 \(VAR 'hits'\)/);

      const dis = run('llvm-objdump-19', ['-dr', obj]);
      expect(dis.stderr).toBe('');
      expect(dis.status).toBe(0);
      expect(dis.stdout).toMatch(/<tc_main>:[\s\S]*R_BPF_64_64\tcounters[\s\S]*R_BPF_64_32\t\.text[\s\S]*<tc_tail>:/);
      expect(dis.stdout).toMatch(/<bump>:[\s\S]*R_BPF_64_64\thits[\s\S]*R_BPF_64_64\tcfg/);

      const elf = run('llvm-readelf-19', ['-a', obj]);
      expect(elf.stderr).toBe('');
      expect(elf.status).toBe(0);
      expect(elf.stdout).toMatch(/FUNC +GLOBAL +DEFAULT +\d+ tc_main/);
      expect(elf.stdout).toMatch(/FUNC +LOCAL +DEFAULT +\d+ bump/);
      expect(elf.stdout).toMatch(/R_BPF_64_ABS64 +[0-9a-f]+ tc_tail/);
      expect(elf.stdout).toMatch(/R_BPF_64_ABS64 +[0-9a-f]+ inner_a/);
    } finally {
      s.cleanup();
    }
  });

  it.skipIf(!need({ tools, kernel: true }))('load with bpftool prog loadall: programs verified, maps created, a map pinned by name', () => {
    const s = scratch();
    try {
      const obj = s.file('ours.o', writeObject(richSpec()));
      const [load, progs, pinned, ...shows] = bpffsSession([
        ['bpftool', 'prog', 'loadall', obj, '$PIN'],
        ['ls', '$PIN'],
        ['bpftool', '-j', 'map', 'show', 'pinned', '/sys/fs/bpf/counters'],
        ...['tc_main', 'tc_tail', 'xdp_main', 'connect4_main'].map((p) => ['bpftool', '-j', 'prog', 'show', 'pinned', `$PIN/${p}`]),
      ]);
      expect(load!.stderr).not.toMatch(/libbpf: .*(fail|error)/i);
      expect(load!.status).toBe(0);
      expect(progs!.stdout.split('\n').filter(Boolean).sort()).toEqual(['connect4_main', 'tc_main', 'tc_tail', 'xdp_main']);
      const map = JSON.parse(pinned!.stdout) as { type: string; bytes_key: number; bytes_value: number; max_entries: number; btf_id?: number };
      expect(map).toMatchObject({ type: 'hash', bytes_key: 4, bytes_value: 8, max_entries: 16 });
      expect(map.btf_id).toBeGreaterThan(0);
      const types = shows.map((r) => (JSON.parse(r.stdout) as { type: string; btf_id?: number }));
      expect(types.map((t) => t.type)).toEqual(['sched_cls', 'sched_cls', 'xdp', 'cgroup_sock_addr']);
      // The kernel accepted BTF (func/line info) for every program.
      for (const t of types) expect(t.btf_id).toBeGreaterThan(0);
    } finally {
      s.cleanup();
    }
  });

  it.skipIf(!need({ tools, kernel: true }))('fills prog-array and map-in-map slots from `values`; .rodata holds the config', () => {
    const s = scratch();
    try {
      const obj = s.file('ours.o', writeObject(unpinnedSpec()));
      const [load, jmp, tail, outer, inner, rodata, lines] = bpffsSession([
        ['bpftool', 'prog', 'loadall', obj, '$PIN', 'pinmaps', '$PIN/maps'],
        ['bpftool', '-j', 'map', 'dump', 'pinned', '$PIN/maps/jmp'],
        ['bpftool', '-j', 'prog', 'show', 'pinned', '$PIN/tc_tail'],
        ['bpftool', '-j', 'map', 'dump', 'pinned', '$PIN/maps/outer'],
        ['bpftool', '-j', 'map', 'show', 'pinned', '$PIN/maps/inner_a'],
        ['bpftool', '-j', 'map', 'dump', 'pinned', '$PIN/maps/ours_rodata'],
        ['bpftool', 'prog', 'dump', 'xlated', 'pinned', '$PIN/xdp_main', 'linum'],
      ]);
      expect(load!.status, load!.stderr).toBe(0);
      const tailId = (JSON.parse(tail!.stdout) as { id: number }).id;
      const slots = (JSON.parse(jmp!.stdout) as { key: string[]; value: string[] }[]).map((e) => [le(e.key), le(e.value)]);
      expect(slots).toEqual([[1, tailId], [3, tailId]]);
      const innerId = (JSON.parse(inner!.stdout) as { id: number }).id;
      const outerSlots = (JSON.parse(outer!.stdout) as { key: string[]; value: string[] }[]).map((e) => [le(e.key), le(e.value)]);
      expect(outerSlots).toEqual([[0, innerId]]);
      const ro = JSON.parse(rodata!.stdout) as { value: string[] }[];
      expect(ro[0]!.value.map((b) => parseInt(b, 16))).toEqual([7, 0, 0, 0, 3, 0, 0, 0]);
      // Line info made it to the kernel: xlated dump names our TypeScript fixture.
      expect(lines!.stdout).toMatch(/fixtures\.ts/);
    } finally {
      s.cleanup();
    }
  });

  it.skipIf(!need({ tools, kernel: true }))('kfunc calls: extern FUNCs in .ksyms that libbpf resolves against the kernel', () => {
    const b = new BtfBuilder();
    const voidProto = b.funcProto(0, []);
    const spec: ObjectSpec = {
      license: 'GPL',
      programs: [{ name: 'guarded', section: 'xdp', instructions: asm().kfunc('bpf_rcu_read_lock').kfunc('bpf_rcu_read_unlock').mov64('r0', 2).exit().build() }],
      kfuncs: [{ name: 'bpf_rcu_read_lock', btfProto: voidProto }, { name: 'bpf_rcu_read_unlock', btfProto: voidProto }],
      btf: b.build(),
    };
    const s = scratch();
    try {
      const obj = s.file('kf.o', writeObject(spec));
      const btf = run('bpftool', ['btf', 'dump', 'file', obj]);
      expect(btf.stdout).toMatch(/FUNC 'bpf_rcu_read_lock' type_id=\d+ linkage=extern/);
      expect(btf.stdout).toMatch(/DATASEC '\.ksyms' size=0 vlen=2/);
      const [load, xlated] = bpffsSession([
        ['bpftool', 'prog', 'loadall', obj, '$PIN'],
        ['bpftool', 'prog', 'dump', 'xlated', 'pinned', '$PIN/guarded'],
      ]);
      expect(load!.status, load!.stderr).toBe(0);
      expect(xlated!.stdout).toMatch(/call bpf_rcu_read_lock/);
      const back = readObject(new Uint8Array(readFileSync(obj)));
      expect(back.kfuncs!.map((k) => k.name)).toEqual(['bpf_rcu_read_lock', 'bpf_rcu_read_unlock']);
      expect(back.programs[0]!.instructions[0]!.meta?.ref).toEqual({ kind: 'kfunc', name: 'bpf_rcu_read_lock' });
    } finally {
      s.cleanup();
    }
  });

  it('is deterministic: the same spec gives identical bytes', () => {
    const a = writeObject(richSpec());
    const b = writeObject(richSpec());
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const c = writeObject({ ...richSpec(), license: 'Dual BSD/GPL' });
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('agrees with the independent elfy parser on sections and symbols', () => {
    const bytes = writeObject(richSpec());
    const ours = readElf(bytes);
    const elfy = createRequire(import.meta.url)('elfy') as { parse(b: Buffer): ElfyFile };
    const parsed = elfy.parse(Buffer.from(bytes));
    expect(parsed).toMatchObject({ class: '64', type: 'rel' });
    expect(parsed.body.sections.map((s) => s.name)).toEqual(ours.sections.map((s) => s.name));
    expect(parsed.body.sections.map((s) => s.size)).toEqual(ours.sections.map((s) => (s.type === SHT.NOBITS ? s.size : s.data.length)));
    expect(parsed.body.sections.map((s) => s.type)).toEqual(ours.sections.map((s) => ELFY_TYPES[s.type] ?? s.type));
    // Symbols: decode elfy's symtab/strtab bytes by hand and compare with ours.
    const symtab = parsed.body.sections.find((s) => s.type === 'symtab')!;
    const strtab = parsed.body.sections[symtab.link]!;
    const theirs: { name: string; value: number; size: number; shndx: number; info: number }[] = [];
    for (let at = 0; at < symtab.data.length; at += 24) {
      const nameOff = symtab.data.readUInt32LE(at);
      const end = strtab.data.indexOf(0, nameOff);
      theirs.push({
        name: strtab.data.subarray(nameOff, end).toString('utf8'),
        info: symtab.data[at + 4]!,
        shndx: symtab.data.readUInt16LE(at + 6),
        value: Number(symtab.data.readBigUInt64LE(at + 8)),
        size: Number(symtab.data.readBigUInt64LE(at + 16)),
      });
    }
    const mine = readSymbols(ours).map((s) => ({ name: s.name, info: (s.bind << 4) | s.type, shndx: s.shndx, value: s.value, size: s.size }));
    expect(theirs).toEqual(mine);
    expect(theirs.map((s) => s.name)).toEqual(expect.arrayContaining(['tc_main', 'tc_tail', 'xdp_main', 'connect4_main', 'bump', 'counters', 'jmp', 'outer', 'inner_a', 'cfg', 'hits', 'LICENSE']));
  });
});

interface ElfyFile {
  class: string;
  type: string;
  body: { sections: { name: string; type: string; size: number; link: number; data: Buffer }[] };
}

const ELFY_TYPES: Record<number, string> = { 0: 'null', 1: 'progbits', 2: 'symtab', 3: 'strtab', 8: 'nobits', 9: 'rel' };

/** Little-endian integer of bpftool's hex-string byte arrays. */
function le(bytes: string[]): number {
  return bytes.reduceRight((n, b) => n * 256 + parseInt(b, 16), 0);
}
