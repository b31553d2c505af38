/**
 * Fixtures of the object-loader tests: the clang-19 test object compiled from
 * test/fixtures/objects/object_test.c, and the same program written with the
 * dsl/isa builder as an ObjectSpec, plus readers of what the programs leave in
 * their maps.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { asm, type Instruction } from '../../dsl/isa/index.js';
import type { MapSpec, ObjectSpec } from '../../dsl/object/index.js';
import { u32, u64 } from '../../dsl/types/index.js';
import type { LoadedObject } from '../../loader/object/index.js';
import { fromLe, le } from './helpers.js';

export const FIXTURE_C = join(import.meta.dirname, '../fixtures/objects/object_test.c');

/** Compiles the C test object into `dir`; returns the .o path. */
export function compileFixture(dir: string, name = 'object_test'): string {
  const out = join(dir, `${name}.o`);
  execFileSync('clang-19', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', FIXTURE_C, '-o', out], { stdio: 'pipe' });
  return out;
}

/** The constants both test objects are built with. */
export const MULTIPLIER = 7n;
export const OFFSET_VALUE = 100n;
export const TAIL_MARK = 0xdead0000n;
/** What the entry program returns when its tail call reached `tail_target`. */
export const TAIL_RETVAL = 42;

const HELPER_LOOKUP = 1;
const HELPER_UPDATE = 2;
const HELPER_TAIL_CALL = 12;

/** Gives each instruction a source location (line i + 1 of `file`), so line_info is emitted. */
function withSource(file: string, insns: Instruction[]): Instruction[] {
  return insns.map((i, k) => ({ ...i, meta: { ...i.meta, source: { file, line: k + 1, column: 3, text: `insn ${k}` } } }));
}

/**
 * The C test object's behaviour as an ObjectSpec built with the isa builder:
 * `entry` counts the packet length in `counts`, stores scale(len) =
 * len * multiplier (.rodata) + offset_value (.data) in results[0], increments
 * run_count (.bss), and tail-calls jumps[1] = `tail_target`, which stores
 * TAIL_MARK + len in results[1] and returns 42.
 */
export function builderSpec(extraMaps: readonly MapSpec[] = []): ObjectSpec {
  const scale = asm()
    .ldGlobal('r2', 'multiplier')
    .ldxdw('r0', 'r2', 0)
    .mul64('r0', 'r1')
    .ldGlobal('r2', 'offset_value')
    .ldxdw('r2', 'r2', 0)
    .add64('r0', 'r2')
    .exit()
    .build();
  const entry = asm()
    .mov64('r6', 'r1')
    .ldxw('r1', 'r6', 0) // __sk_buff.len
    .stxw('r10', -4, 'r1')
    .stw('r10', -8, 0)
    .callFunc('scale')
    .stxdw('r10', -16, 'r0')
    .ldGlobal('r1', 'run_count')
    .ldxdw('r2', 'r1', 0)
    .add64('r2', 1)
    .stxdw('r1', 0, 'r2')
    .ldMapFd('r1', 'results')
    .mov64('r2', 'r10')
    .add64('r2', -8)
    .mov64('r3', 'r10')
    .add64('r3', -16)
    .mov64('r4', 0)
    .call(HELPER_UPDATE)
    .ldMapFd('r1', 'counts')
    .mov64('r2', 'r10')
    .add64('r2', -4)
    .call(HELPER_LOOKUP)
    .jeq('r0', 0, 'first')
    .mov64('r1', 1)
    .atomicAdd64('r0', 0, 'r1')
    .ja('tail')
    .label('first')
    .stdw('r10', -24, 1)
    .ldMapFd('r1', 'counts')
    .mov64('r2', 'r10')
    .add64('r2', -4)
    .mov64('r3', 'r10')
    .add64('r3', -24)
    .mov64('r4', 1) // BPF_NOEXIST
    .call(HELPER_UPDATE)
    .label('tail')
    .mov64('r1', 'r6')
    .ldMapFd('r2', 'jumps')
    .mov64('r3', 1)
    .call(HELPER_TAIL_CALL)
    .mov64('r0', 1)
    .exit()
    .build();
  const tail = asm()
    .stw('r10', -4, 1)
    .ldxw('r1', 'r1', 0)
    .lddw('r2', TAIL_MARK)
    .add64('r1', 'r2')
    .stxdw('r10', -16, 'r1')
    .ldMapFd('r1', 'results')
    .mov64('r2', 'r10')
    .add64('r2', -4)
    .mov64('r3', 'r10')
    .add64('r3', -16)
    .mov64('r4', 0)
    .call(HELPER_UPDATE)
    .mov64('r0', TAIL_RETVAL)
    .exit()
    .build();
  return {
    license: 'GPL',
    programs: [
      { name: 'tail_target', section: 'tc', instructions: withSource('tail.ts', tail) },
      { name: 'entry', section: 'tc', instructions: withSource('entry.ts', entry) },
    ],
    subprograms: [{ name: 'scale', instructions: withSource('scale.ts', scale) }],
    maps: [
      { name: 'counts', type: 'HASH', key: u32, value: u64, maxEntries: 64 },
      { name: 'results', type: 'ARRAY', key: u32, value: u64, maxEntries: 4 },
      { name: 'jumps', type: 'PROG_ARRAY', key: 4, value: 4, maxEntries: 2, values: [null, 'tail_target'] },
      ...extraMaps,
    ],
    globals: [
      { name: 'multiplier', section: '.rodata', type: 8, init: le(MULTIPLIER, 8) },
      { name: 'offset_value', section: '.data', type: 8, init: le(OFFSET_VALUE, 8) },
      { name: 'run_count', section: '.bss', type: 8 },
    ],
  };
}

/** A u64 array/hash value by u32 key, or undefined. */
export function readU64(obj: LoadedObject, map: string, key: number): bigint | undefined {
  const v = obj.map(map).get(le(key, 4)) as Uint8Array | undefined;
  return v === undefined ? undefined : fromLe(v);
}

/** Runs `entry` on a zeroed packet of `len` bytes `times` times; returns the return values. */
export function runEntry(obj: LoadedObject, len: number, times = 1): number[] {
  const out: number[] = [];
  for (let i = 0; i < times; i++) out.push(obj.program('entry').run({ data: new Uint8Array(len) }).retval);
  return out;
}

/** What the programs left in the maps, for packets of `len` bytes (the test compares it with the expected values). */
export function observed(obj: LoadedObject, len: number) {
  return {
    scaled: readU64(obj, 'results', 0),
    tail: readU64(obj, 'results', 1),
    count: readU64(obj, 'counts', len),
    runCount: readU64(obj, '.bss', 0),
    multiplier: readU64(obj, '.rodata', 0),
    offsetValue: readU64(obj, '.data', 0),
  };
}
