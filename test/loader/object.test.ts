/**
 * The object loader against the real kernel: a clang-19 object (hash + array
 * maps, a subprogram, a prog array initialised to a tail-call target, .rodata/
 * .data/.bss globals) through `tsbpf load` and through loadObject, and the same
 * program built with the isa builder (as an ELF written by our writer, and as an
 * in-memory ObjectSpec), each run under BPF_PROG_TEST_RUN with the effects read
 * back from its maps. Map names and shapes are compared with what libbpf
 * (bpftool prog loadall) creates for the same object.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeObject } from '../../dsl/elf/index.js';
import { BpfError } from '../../loader/errors.js';
import { BpfMap } from '../../loader/maps/map.js';
import { loadObject, type LoadedObject } from '../../loader/object/index.js';
import { Program } from '../../loader/programs/program.js';
import { MapFlag } from '../../loader/sys/constants.js';
import { createPinDir } from '../support/bpffs.js';
import { runCli, type CliResult } from '../support/cli.js';
import { need } from '../support/env.js';
import { bpftoolMapShow, fromLe, le } from './helpers.js';
import { MULTIPLIER, OFFSET_VALUE, TAIL_MARK, TAIL_RETVAL, builderSpec, compileFixture, observed, runEntry } from './object-fixtures.js';

const ok = need({ kernel: true, tools: ['clang-19', 'bpftool'] });

function tsbpf(...args: string[]): Promise<CliResult> {
  return runCli(args);
}

/** Runs `entry` and checks every effect the object's programs must have. */
function checkBehaviour(obj: LoadedObject): void {
  expect(runEntry(obj, 64, 3)).toEqual([TAIL_RETVAL, TAIL_RETVAL, TAIL_RETVAL]);
  expect(observed(obj, 64)).toEqual({
    scaled: 64n * MULTIPLIER + OFFSET_VALUE, // subprogram used .rodata and .data
    tail: TAIL_MARK + 64n, // the tail call reached tail_target
    count: 3n, // hash map counted the three runs
    runCount: 3n, // .bss counter
    multiplier: MULTIPLIER,
    offsetValue: OFFSET_VALUE,
  });
  expect(runEntry(obj, 100)).toEqual([TAIL_RETVAL]);
  expect(observed(obj, 100)).toMatchObject({ scaled: 100n * MULTIPLIER + OFFSET_VALUE, tail: TAIL_MARK + 100n, count: 1n, runCount: 4n });
  // Without the prog-array slot the tail call falls through: entry returns 1.
  obj.map('jumps').delete(le(1, 4));
  expect(runEntry(obj, 64)).toEqual([1]);
}

/** Shape checks shared by every way of loading the object. */
function checkShape(obj: LoadedObject, objectName: string): void {
  expect([...obj.programs.keys()].sort()).toEqual(['entry', 'tail_target']);
  expect([...obj.maps.keys()].sort()).toEqual(['.bss', '.data', '.rodata', 'counts', 'jumps', 'results']);
  const entry = obj.program('entry');
  expect(entry.type).toBe('SCHED_CLS');
  const info = entry.info();
  // func_info for entry and its subprogram; line info from the source.
  expect(info.funcInfoCount).toBe(2);
  expect(info.lineInfoCount).toBeGreaterThan(0);
  expect(info.btfId).toBeGreaterThan(0);
  const rodata = obj.map('.rodata');
  expect(rodata.flags & MapFlag.RDONLY_PROG).toBe(MapFlag.RDONLY_PROG);
  expect(bpftoolMapShow(rodata.info().id).frozen).toBe(1);
  expect(() => rodata.set(le(0, 4), le(1, 8))).toThrow(BpfError); // frozen: user space cannot change the config
  expect(obj.map('.data').info().btfValueTypeId).toBeGreaterThan(0);
  expect(obj.map('results').info()).toMatchObject({ typeName: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 4 });
  expect(obj.map('counts').info()).toMatchObject({ typeName: 'HASH', keySize: 4, valueSize: 8, maxEntries: 64 });
  expect(obj.map('counts').info().btfKeyTypeId).toBeGreaterThan(0);
  expect(obj.map('jumps').info()).toMatchObject({ typeName: 'PROG_ARRAY', keySize: 4, valueSize: 4, maxEntries: 2 });
  expect(obj.map('.rodata').info().name).toBe(`${objectName.slice(0, 8)}.rodata`.slice(0, 15));
  expect(obj.warnings).toEqual([]);
}

describe.skipIf(!ok)('loadObject: clang-19 object', () => {
  it('loads through loadObject and runs correctly (subprogram, tail call, globals, maps)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-obj-'));
    try {
      const file = compileFixture(tmp);
      using obj = loadObject(file);
      expect(obj.name).toBe('object_test');
      checkShape(obj, 'object_test');
      checkBehaviour(obj);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('creates the maps libbpf (bpftool prog loadall) creates, with the same names and shapes', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-obj-'));
    const pins = createPinDir();
    try {
      const file = compileFixture(tmp);
      execFileSync('bpftool', ['prog', 'loadall', file, join(pins.path, 'progs'), 'pinmaps', join(pins.path, 'maps')], { stdio: 'pipe' });
      const theirs = readdirSync(join(pins.path, 'maps'))
        .map((f) => bpftoolShowPinned(join(pins.path, 'maps', f)))
        .map((m) => ({ name: m.name, type: m.type, key: m.bytes_key, value: m.bytes_value, max: m.max_entries, flags: m.flags }))
        .sort((a, b) => a.name!.localeCompare(b.name!));
      using obj = loadObject(file);
      const ours = obj
        .describe() // bpftool prints type names lower-case
        .maps.map((m) => ({ name: m.kernelName, type: m.type.toLowerCase(), key: m.keySize, value: m.valueSize, max: m.maxEntries, flags: m.flags }))
        .sort((a, b) => a.name.localeCompare(b.name));
      expect(ours).toEqual(theirs);
    } finally {
      pins.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('loads through `tsbpf load --pin` and the pinned programs run correctly', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-obj-'));
    const pins = createPinDir();
    try {
      const file = compileFixture(tmp);
      const dir = join(pins.path, 'progs');
      const r = await tsbpf('load', file, '--pin', dir, '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as {
        object: string;
        released: boolean;
        programs: { name: string; type: string; id: number; insns: number; tag: string; pinnedPath?: string }[];
        maps: { name: string; type: string; id: number; keySize: number; valueSize: number; origin: string; pinnedPath?: string }[];
      };
      expect(out.object).toBe('object_test');
      expect(out.released).toBe(false);
      expect(out.programs.map((p) => [p.name, p.type, p.pinnedPath]).sort()).toEqual([
        ['entry', 'sched_cls', join(dir, 'entry')],
        ['tail_target', 'sched_cls', join(dir, 'tail_target')],
      ]);
      expect(out.maps.map((m) => [m.name, m.type, m.origin, m.pinnedPath]).sort()).toEqual([
        ['.bss', 'array', 'created', join(dir, 'object_t_bss')],
        ['.data', 'array', 'created', join(dir, 'object_t_data')],
        ['.rodata', 'array', 'created', join(dir, 'object_t_rodata')],
        ['counts', 'hash', 'created', join(dir, 'counts')],
        ['jumps', 'prog_array', 'created', join(dir, 'jumps')],
        ['results', 'array', 'created', join(dir, 'results')],
      ]);
      // The CLI process has exited; its programs and maps live on through the pins (the prog array too).
      using entry = Program.fromPin(join(dir, 'entry'));
      const entryInfo = out.programs.find((p) => p.name === 'entry')!;
      expect(entry.info()).toMatchObject({ id: entryInfo.id, tag: entryInfo.tag });
      expect(entry.run({ data: new Uint8Array(64) }).retval).toBe(TAIL_RETVAL);
      const id = (name: string) => out.maps.find((m) => m.name === name)!.id;
      using results = BpfMap.fromId(id('results'));
      expect(fromLe(results.get(le(0, 4))!)).toBe(64n * MULTIPLIER + OFFSET_VALUE);
      expect(fromLe(results.get(le(1, 4))!)).toBe(TAIL_MARK + 64n);
      using bss = BpfMap.fromId(id('.bss'));
      expect(fromLe(bss.get(le(0, 4))!)).toBe(1n);
      using counts = BpfMap.fromId(id('counts'));
      expect(fromLe(counts.get(le(64, 4))!)).toBe(1n);
    } finally {
      pins.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('`tsbpf load` without --pin says everything is released at exit', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-obj-'));
    try {
      const r = await tsbpf('load', compileFixture(tmp));
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^  entry: sched_cls id \d+ slots \d+ tag [0-9a-f]{16}$/m);
      expect(r.stdout).toMatch(/^  \.rodata \("object_t\.rodata"\): array id \d+ key 4B value 8B max_entries 1 created$/m);
      expect(r.stdout).toMatch(/released when this command exits/);
      const missing = await tsbpf('load', join(tmp, 'nope.o'));
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/cannot read object file .*nope\.o/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

function bpftoolShowPinned(path: string): { name?: string; type: string; bytes_key: number; bytes_value: number; max_entries: number; flags: number } {
  return JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', path], { encoding: 'utf8' }));
}

describe.skipIf(!ok)('loadObject: isa-builder objects', () => {
  it('an ELF written by writeObject loads and runs like the clang object', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-obj-'));
    try {
      const file = join(tmp, 'built.o');
      writeFileSync(file, writeObject(builderSpec()));
      using obj = loadObject(file);
      checkShape(obj, 'built');
      checkBehaviour(obj);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('an ObjectSpec loads directly, without a file', () => {
    using obj = loadObject(builderSpec(), { objectName: 'inmemory' });
    checkShape(obj, 'inmemory');
    checkBehaviour(obj);
  });

  it('ELF bytes load too, and loading without BTF still runs (no func/line info)', () => {
    using obj = loadObject(writeObject(builderSpec()), { btf: false });
    expect(obj.btf).toBeUndefined();
    expect(obj.program('entry').info()).toMatchObject({ funcInfoCount: 0, lineInfoCount: 0, btfId: 0 });
    checkBehaviour(obj);
  });
});
