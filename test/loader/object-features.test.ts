/**
 * Object-loader features beyond the main fixture: map-in-map (inner-map
 * template, initial slots) through an ELF file, BTF sanitized for an older
 * target profile, refusals for what a profile cannot load, bad section names,
 * and libbpf's global-data map names.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BtfBuilder } from '../../dsl/btf/index.js';
import { writeObject } from '../../dsl/elf/index.js';
import { asm } from '../../dsl/isa/index.js';
import { profileByName } from '../../dsl/kernel/profiles.js';
import type { ObjectSpec } from '../../dsl/object/index.js';
import { u32 } from '../../dsl/types/index.js';
import { ObjectLoadError, globalMapName, loadObject, objectNameFromPath, pinFileName } from '../../loader/object/index.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { bpftoolMapShow, le } from './helpers.js';
import { builderSpec, runEntry } from './object-fixtures.js';

const ok = need({ kernel: true });

/** A socket filter returning twice inner[0], found through outer[0] (an ARRAY_OF_MAPS). */
function mapInMapSpec(): ObjectSpec {
  const prog = asm()
    .stw('r10', -4, 0)
    .ldMapFd('r1', 'outer')
    .mov64('r2', 'r10')
    .add64('r2', -4)
    .call(1)
    .jeq('r0', 0, 'miss')
    .mov64('r1', 'r0')
    .mov64('r2', 'r10')
    .add64('r2', -4)
    .call(1)
    .jeq('r0', 0, 'miss')
    .ldxw('r1', 'r0', 0)
    .callFunc('twice')
    .exit()
    .label('miss')
    .mov64('r0', 99)
    .exit()
    .build();
  const twice = asm().mov64('r0', 'r1').lsh64('r0', 1).exit().build();
  const innerDef = { type: 'ARRAY', key: u32, value: u32, maxEntries: 1 } as const;
  return {
    license: 'GPL',
    programs: [{ name: 'through_outer', section: 'socket', instructions: prog }],
    subprograms: [{ name: 'twice', instructions: twice }],
    maps: [
      { name: 'inner_a', ...innerDef },
      { name: 'inner_b', ...innerDef },
      { name: 'outer', type: 'ARRAY_OF_MAPS', key: 4, maxEntries: 2, innerMap: innerDef, values: ['inner_b', null] },
    ],
  };
}

describe.skipIf(!ok)('loadObject: more features', () => {
  it('map-in-map: the inner template is used and the initial slot points at the named map', () => {
    using obj = loadObject(writeObject(mapInMapSpec()));
    const outer = obj.map('outer');
    expect(outer.info()).toMatchObject({ typeName: 'ARRAY_OF_MAPS', maxEntries: 2 });
    // User space reads a map-in-map slot as the inner map's id.
    expect(outer.get(le(0, 4))).toBe(obj.map('inner_b').info().id);
    expect(outer.get(le(1, 4))).toBeUndefined();
    obj.map('inner_a').set(le(0, 4), le(5, 4));
    obj.map('inner_b').set(le(0, 4), le(21, 4));
    expect(obj.program('through_outer').run({ data: new Uint8Array(64) }).retval).toBe(42);
  });

  it('BTF sanitized for a 4.19 profile loads (no func info there) and runs', () => {
    const spec = mapInMapSpec();
    using obj = loadObject(spec, { profile: profileByName('4.19') });
    expect(obj.btf).toBeDefined();
    expect(obj.warnings.join('\n')).toMatch(/BTF sanitized for kernel 4\.19 \(.*func→typedef/);
    const info = obj.program('through_outer').info();
    expect(info.funcInfoCount).toBe(0);
    expect(info.btfId).toBe(0);
    expect(obj.map('inner_a').info().btfId).toBe(obj.btf!.info().id);
    obj.map('inner_b').set(le(0, 4), le(50, 4));
    expect(obj.program('through_outer').run({ data: new Uint8Array(64) }).retval).toBe(100);
  });

  it('BTF the kernel rejects: the object loads without BTF, says why, and runs', () => {
    const b = new BtfBuilder();
    // A member beyond its struct's size: the kernel's BTF checker refuses it.
    const bad = b.struct('bad', 4, [{ name: 'a', type: b.int('u32', 4), bitOffset: 64 }]);
    const base = builderSpec();
    const spec: ObjectSpec = { ...base, btf: b.build(), globals: [...base.globals!, { name: 'weird', section: '.data', type: { btfType: bad } }] };
    using obj = loadObject(spec);
    expect(obj.btf).toBeUndefined();
    expect(obj.warnings).toHaveLength(1);
    expect(obj.warnings[0]).toMatch(/kernel rejected the object's BTF .*exceeds its struct size.*loaded without BTF/);
    expect(obj.program('entry').info()).toMatchObject({ btfId: 0, funcInfoCount: 0 });
    expect(obj.map('counts').info().btfId).toBe(0);
    expect(runEntry(obj, 64)).toEqual([42]);
  });

  it('refuses global data for a profile without it, and unknown section names, by name', () => {
    expect(() => loadObject(builderSpec(), { profile: profileByName('4.19') })).toThrow(
      expect.objectContaining({ code: 'LOADER_OBJECT_UNSUPPORTED', message: expect.stringMatching(/global data \(\.bss, \.data, \.rodata\).*4\.19.*5\.2/) }),
    );
    const spec = mapInMapSpec();
    const bad: ObjectSpec = { ...spec, programs: [{ ...spec.programs[0]!, section: 'nonsense/hook' }] };
    let error: unknown;
    try {
      loadObject(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ObjectLoadError);
    expect((error as ObjectLoadError).code).toBe('LOADER_OBJECT_SECTION');
    expect((error as Error).message).toMatch(/program 'through_outer'.*nonsense\/hook/);
  });
});

describe.skipIf(!ok || !need({ tools: ['clang-19', 'bpftool'] }))('loadObject: custom data sections (clang-19)', () => {
  it('names, flags and contents of .data.conf / .rodata.config / .bss match what libbpf creates', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-objsec-'));
    const pins = createPinDir();
    try {
      const file = join(tmp, 'custom_sections.o');
      execFileSync('clang-19', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(import.meta.dirname, '../fixtures/objects/custom_sections.c'), '-o', file], { stdio: 'pipe' });
      execFileSync('bpftool', ['prog', 'loadall', file, join(pins.path, 'progs'), 'pinmaps', join(pins.path, 'maps')], { stdio: 'pipe' });
      const theirs = readdirSync(join(pins.path, 'maps'))
        .map((f) => JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', join(pins.path, 'maps', f)], { encoding: 'utf8' })) as { name: string; flags: number; bytes_value: number; frozen: number })
        .map((m) => [m.name, m.flags, m.bytes_value, m.frozen])
        .sort();
      using obj = loadObject(file);
      const ours = [...obj.maps.values()].map((m) => m.info()).map((i) => [i.name, i.flags, i.valueSize, bpftoolMapShow(i.id).frozen]).sort();
      expect(ours).toEqual(theirs);
      expect([...obj.maps.keys()].sort()).toEqual(['.bss', '.data.conf', '.rodata.config']);
      expect(obj.program('read_sections').run({ data: new Uint8Array(64) }).retval).toBe(53);
      expect(obj.map('.bss').get(le(0, 4))).toEqual(le(1, 4));
    } finally {
      pins.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('object loader names', () => {
  it('derives object and global-data map names as libbpf does', () => {
    expect(objectNameFromPath('/x/y/object_test.bpf.o')).toBe('object_test');
    expect(globalMapName('object_test', '.rodata')).toBe('object_t.rodata');
    expect(globalMapName('object_test', '.bss')).toBe('object_t.bss');
    expect(globalMapName('a', '.data')).toBe('a.data');
    expect(globalMapName('my-obj', '.data')).toBe('my_obj.data');
    expect(globalMapName('obj', '.rodata.config')).toBe('.rodata.config');
    expect(globalMapName('obj', '.data.conf')).toBe('.data.conf');
    expect(pinFileName('object_t.rodata')).toBe('object_t_rodata');
  });
});
