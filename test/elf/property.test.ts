/**
 * Property test over random object specs: the writer is deterministic, the
 * reader gives the spec back (instructions, references, sources, maps, slots,
 * globals), and one more round trip changes no byte.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readObject, writeObject } from '../../dsl/elf/index.js';
import { lineInfoPath } from '../../dsl/elf/line-info-path.js';
import { assemble, insn, type Instruction } from '../../dsl/isa/index.js';
import { typeSize, type GlobalSpec, type MapSpec, type ObjectSpec } from '../../dsl/object/index.js';
import { struct, u16, u32, u64, u8, type AnySchema } from '../../dsl/types/index.js';
import { need } from '../support/env.js';
import { run, scratch } from './helpers.js';

const Pair = struct('pair', { a: u32, b: u16, c: u8 });
const SCHEMAS: AnySchema[] = [u8, u16, u32, u64, Pair];
const SECTIONS = ['xdp', 'tc', 'socket', 'cgroup/connect4', 'kprobe/do_nanosleep'];

interface Shape {
  readonly programs: number;
  readonly subprograms: { global: boolean }[];
  readonly maps: { kind: number; key: number; value: number; max: number; flags: number; pin: boolean }[];
  readonly globals: { section: number; schema: number; init: number[] }[];
  readonly bodies: { op: number; arg: number; line: number }[][];
  readonly sections: number[];
  readonly slots: number[];
}

const shape: fc.Arbitrary<Shape> = fc.record({
  programs: fc.integer({ min: 1, max: 4 }),
  subprograms: fc.array(fc.record({ global: fc.boolean() }), { maxLength: 3 }),
  maps: fc.array(fc.record({ kind: fc.nat(4), key: fc.nat(4), value: fc.nat(4), max: fc.integer({ min: 1, max: 64 }), flags: fc.constantFrom(0, 1), pin: fc.boolean() }), { maxLength: 5 }),
  globals: fc.array(fc.record({ section: fc.nat(2), schema: fc.nat(4), init: fc.array(fc.nat(255), { maxLength: 8 }) }), { maxLength: 5 }),
  bodies: fc.array(fc.array(fc.record({ op: fc.nat(4), arg: fc.nat(1000), line: fc.nat(3) }), { maxLength: 12 }), { minLength: 7, maxLength: 7 }),
  sections: fc.array(fc.nat(SECTIONS.length - 1), { minLength: 4, maxLength: 4 }),
  slots: fc.array(fc.nat(7), { maxLength: 4 }),
});

/** Builds a valid spec from a random shape. */
function specOf(s: Shape): ObjectSpec {
  const maps: MapSpec[] = [];
  const programs = Array.from({ length: s.programs }, (_, k) => `prog${k}`);
  const subs = s.subprograms.map((_, k) => `sub${k}`);
  s.maps.forEach((m, k) => {
    const name = `map${k}`;
    const key = m.key === 4 ? 8 : SCHEMAS[m.key]!;
    const value = m.value === 4 ? 16 : SCHEMAS[m.value]!;
    switch (m.kind) {
      case 0: maps.push({ name, type: 'HASH', key, value, maxEntries: m.max, flags: m.flags, pinning: m.pin ? 'byName' : 'none' }); break;
      case 1: maps.push({ name, type: 'ARRAY', key: u32, value, maxEntries: m.max }); break;
      case 2: maps.push({ name, type: 'PROG_ARRAY', maxEntries: 8, values: s.slots.map((x) => (x < programs.length ? programs[x]! : null)) }); break;
      case 3: maps.push({ name, type: 'LRU_HASH', key, value: u64, maxEntries: m.max + 1 }); break;
      default: {
        const inner = maps.find((x) => x.type === 'ARRAY');
        maps.push({ name, type: 'ARRAY_OF_MAPS', key: u32, maxEntries: 4, innerMap: { type: 'ARRAY', key: u32, value: u64, maxEntries: 1 }, ...(inner ? { values: [null, inner.name] } : {}) });
      }
    }
  });
  const globals: GlobalSpec[] = s.globals.map((g, k) => {
    const section = ['.rodata', '.data', '.bss'][g.section]!;
    const type = SCHEMAS[g.schema]!;
    const init = section === '.bss' ? undefined : new Uint8Array(g.init.slice(0, type.size));
    return { name: `g${k}`, section, type, ...(init && init.length ? { init } : {}) };
  });
  const body = (k: number): Instruction[] => {
    const out: Instruction[] = [];
    for (const b of s.bodies[k]!) {
      const source = { file: `f${k}.ts`, line: b.line + 1, column: 3, text: `stmt ${b.line}` };
      let i: Instruction;
      if (b.op === 1 && maps.length) i = insn.ldMapFd('r1', maps[b.arg % maps.length]!.name);
      else if (b.op === 2 && globals.length) {
        const g = globals[b.arg % globals.length]!;
        i = insn.ldGlobal('r2', g.name, b.arg % (g.type as AnySchema).size);
      } else if (b.op === 3 && subs.length) i = insn.callFunc(subs[b.arg % subs.length]!);
      else i = insn.mov64('r0', b.arg);
      out.push({ ...i, meta: { ...i.meta, source } });
    }
    out.push(insn.mov64('r0', 0), insn.exit());
    return out;
  };
  return {
    license: 'GPL',
    programs: programs.map((name, k) => ({ name, section: SECTIONS[s.sections[k]!]!, instructions: body(k) })),
    subprograms: subs.map((name, k) => ({ name, linkage: s.subprograms[k]!.global ? 'global' as const : 'static' as const, instructions: body(4 + k) })),
    maps,
    globals,
  };
}

/**
 * Instruction fields, reference and the source in effect (the reader keeps
 * sources where they change), files named as line_info names them (relative to
 * the project root).
 */
function shapeOf(insns: readonly Instruction[]) {
  let at: string | undefined;
  return insns.map((i) => {
    const s = i.meta?.source;
    // The text is not compared: the writer fills it from the file when a location has none.
    if (s) at = `${lineInfoPath(s.file)}:${s.line}:${s.column}`;
    return [i.opcode, i.dst, i.src, i.off, i.imm, i.imm64, JSON.stringify(i.meta?.ref), at];
  });
}

describe('random specs', () => {
  it('round-trip through writeObject/readObject and reach a byte fixpoint', () => {
    fc.assert(
      fc.property(shape, (sh) => {
        const spec = specOf(sh);
        const bytes = writeObject(spec);
        expect(Buffer.from(writeObject(spec)).equals(Buffer.from(bytes))).toBe(true);
        const back = readObject(bytes);
        expect(back.ignored).toEqual([]);
        // Programs come back grouped by section (file order); compare by name.
        const sorted = (l: readonly { name: string; section: string }[]) => l.map((p) => [p.name, p.section]).sort();
        expect(sorted(back.programs)).toEqual(sorted(spec.programs));
        // Programs are grouped by section in the file; compare by name.
        for (const p of spec.programs) expect(shapeOf(back.programs.find((q) => q.name === p.name)!.instructions)).toEqual(shapeOf(assemble(p.instructions)));
        for (const p of spec.subprograms!) {
          const q = back.subprograms!.find((x) => x.name === p.name)!;
          expect(q.linkage).toBe(p.linkage);
          expect(shapeOf(q.instructions)).toEqual(shapeOf(assemble(p.instructions)));
        }
        expect(back.maps!.map((m) => m.name)).toEqual(spec.maps!.map((m) => m.name));
        spec.maps!.forEach((m, k) => {
          const b = back.maps![k]!;
          // Empty trailing slots carry no information.
          const slots = (v: readonly (string | null)[] | undefined) => {
            const out = [...(v ?? [])];
            while (out.length && out[out.length - 1] === null) out.pop();
            return out;
          };
          expect([b.type, b.maxEntries, b.flags ?? 0, b.pinning ?? 'none', slots(b.values)]).toEqual([m.type, m.maxEntries, m.flags ?? 0, m.pinning ?? 'none', slots(m.values)]);
          for (const f of ['key', 'value'] as const) {
            const want = m[f] ?? (m.type === 'PROG_ARRAY' ? 4 : undefined);
            if (want === undefined) expect(b[f]).toBeUndefined();
            else expect(typeSize(b[f]!, back.btf, f)).toBe(typeSize(want, undefined, f));
          }
          expect(b.innerMap?.maxEntries).toBe(m.innerMap?.maxEntries);
        });
        // Globals come back grouped by section; compare by name.
        const byName = <T extends { name: string }>(l: readonly T[]) => [...l].sort((a, b) => (a.name < b.name ? -1 : 1));
        expect(byName(back.globals!).map((g) => [g.name, g.section, typeSize(g.type, back.btf, g.name), g.init && Array.from(g.init)])).toEqual(
          byName(spec.globals!).map((g) => [g.name, g.section, typeSize(g.type, undefined, g.name), g.init?.some((x) => x) ? [...g.init, ...new Array(typeSize(g.type, undefined, '') - g.init.length).fill(0)] : undefined]),
        );
        const again = writeObject(back);
        expect(Buffer.from(writeObject(readObject(again))).equals(Buffer.from(again))).toBe(true);
      }),
      { seed: 20261125, numRuns: 200 },
    );
  }, 120_000);

  it.skipIf(!need({ tools: ['bpftool', 'llvm-readelf-19', 'llvm-objdump-19'] }))('are accepted by libbpf\'s static linker and read by llvm without warnings', () => {
    const s = scratch();
    try {
      fc.assert(
        fc.property(shape, (sh) => {
          const obj = s.file('random.o', writeObject(specOf(sh)));
          const gen = run('bpftool', ['gen', 'object', s.file('linked.o'), obj]);
          expect(gen.status, gen.stderr).toBe(0);
          expect(run('llvm-readelf-19', ['-a', obj]).stderr).toBe('');
          expect(run('llvm-objdump-19', ['-dr', obj]).stderr).toBe('');
        }),
        { seed: 7, numRuns: 25 },
      );
    } finally {
      s.cleanup();
    }
  }, 120_000);
});
