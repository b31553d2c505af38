import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { btfLoad } from '../../loader/sys/bpf.js';
import { closeFd } from '../../loader/sys/ffi.js';
import { BtfBuilder, btfTargetForKernel, decodeBtf, encodeBtf, sanitizeBtf } from '../../dsl/btf/index.js';
import type { BtfKind } from '../../dsl/btf/index.js';
import { everyKind } from './every-kind.js';

const VERSIONS: [number, number][] = [[4, 18], [5, 0], [5, 2], [5, 6], [5, 13], [5, 16], [5, 17], [6, 0], [6, 18]];

describe('sanitizeBtf', () => {
  it.each(VERSIONS)('kernel %i.%i: only supported kinds remain, ids are preserved', (major, minor) => {
    const g = everyKind({ externs: false }).build();
    const target = btfTargetForKernel(major, minor);
    const { spec } = sanitizeBtf(g, target);
    const allowed = new Set<BtfKind>(target.btfKinds);
    for (const t of spec.types) expect(allowed.has(t.kind), `${t.kind} on ${major}.${minor}`).toBe(true);
    // ids preserved: every original type is still at its index (at most one INT appended)
    expect(spec.types.length - g.types.length).toBeLessThanOrEqual(1);
    g.types.forEach((t, i) => {
      if (allowed.has(t.kind)) expect(spec.types[i]!.kind).toBe(t.kind);
    });
    // and the result encodes and decodes
    expect(decodeBtf(encodeBtf(spec)).types).toEqual(spec.types);
  });

  it('replaces each kind the way libbpf does', () => {
    const b = new BtfBuilder();
    const u32 = b.int('unsigned int', 4);
    const v = b.variable('counter', u32);
    const ds = b.datasec('.data.cfg', 8, [{ type: v, offset: 4, size: 4 }]);
    const proto = b.funcProto(u32, [{ name: 'x', type: u32 }, { name: '', type: 0 }]);
    const fn = b.func('f', proto, 'global');
    const fl = b.float('double', 8);
    const tag = b.declTag('t', fn);
    const tt = b.typeTag('user', u32);
    const e64 = b.enum64('big', [{ name: 'A', value: 1n }, { name: 'B', value: 1n << 40n }]);
    const en = b.enum('s', [{ name: 'NEG', value: -1 }]);
    const g = b.build();
    const { spec, replaced } = sanitizeBtf(g, btfTargetForKernel(4, 18));
    const at = (id: number) => spec.types[id - 1]!;
    expect(at(v)).toEqual({ kind: 'int', name: 'counter', size: 1, encoding: 'unsigned', bits: 8, offset: 0 });
    expect(at(ds)).toEqual({ kind: 'struct', name: '_data_cfg', size: 8, members: [{ name: 'counter', type: v, bitOffset: 32, bitfieldSize: 0 }] });
    expect(at(proto)).toEqual({ kind: 'enum', name: '', size: 4, signed: false, values: [{ name: 'x', value: u32 }, { name: '__arg1', value: 0 }] });
    expect(at(fn)).toEqual({ kind: 'typedef', name: 'f', type: proto });
    expect(at(fl)).toEqual({ kind: 'struct', name: '', size: 8, members: [] });
    expect(at(tag)).toMatchObject({ kind: 'int', size: 1, bits: 8 });
    expect(at(tt)).toEqual({ kind: 'const', name: '', type: u32 });
    const placeholder = spec.types.length;
    expect(at(placeholder)).toMatchObject({ kind: 'int', name: 'enum64_placeholder', size: 1 });
    expect(at(e64)).toEqual({
      kind: 'union', name: 'big', size: 8,
      members: [{ name: 'A', type: placeholder, bitOffset: 0, bitfieldSize: 0 }, { name: 'B', type: placeholder, bitOffset: 0, bitfieldSize: 0 }],
    });
    expect(at(en)).toEqual({ kind: 'enum', name: 's', size: 4, signed: false, values: [{ name: 'NEG', value: 0xffffffff }] });
    expect(replaced.get('enum64→union')).toBe(1);
    // 5.0–5.5: FUNC stays but global linkage becomes static
    const mid = sanitizeBtf(g, btfTargetForKernel(5, 4)).spec;
    expect(mid.types[fn - 1]).toEqual({ kind: 'func', name: 'f', type: proto, linkage: 'static' });
    // a target with everything returns the input untouched
    expect(sanitizeBtf(g, btfTargetForKernel(6, 18)).spec).toBe(g);
  });

  it('takes a dsl/kernel TargetProfile as is (upper-case kind names, kernel version)', async () => {
    const { profileByName, PROFILE_NAMES } = await import('../../dsl/kernel/profiles.js');
    const g = everyKind({ externs: false }).build();
    for (const name of PROFILE_NAMES) {
      const profile = profileByName(name);
      const [major, minor] = profile.kernel.split('.').map(Number) as [number, number];
      const viaProfile = sanitizeBtf(g, profile).spec;
      const viaVersion = sanitizeBtf(g, btfTargetForKernel(major, minor)).spec;
      expect(viaProfile.types, name).toEqual(viaVersion.types);
    }
    // 5.4 keeps FUNC but not global linkage
    const p54 = sanitizeBtf(g, profileByName('5.4')).spec;
    expect(p54.types.filter((t) => t.kind === 'func').every((t) => t.kind === 'func' && t.linkage === 'static')).toBe(true);
  });

  it('keeps split BTF ids and string offsets', () => {
    const base = everyKind({ externs: false }).build();
    const baseG = decodeBtf(encodeBtf(base));
    const b = new BtfBuilder({ base: baseG });
    const id = b.float('float', 4);
    const split = decodeBtf(b.encode(), { base: baseG });
    const s = sanitizeBtf(split, btfTargetForKernel(5, 10)).spec;
    expect(s.firstId).toBe(baseG.nextId);
    expect(s.types[id - baseG.nextId]).toEqual({ kind: 'struct', name: '', size: 4, members: [] });
    expect(decodeBtf(encodeBtf(s), { base: baseG }).get(id)?.kind).toBe('struct');
  });

  it.skipIf(!need({ kernel: true }))('the running kernel accepts every sanitized variant', () => {
    for (const [major, minor] of VERSIONS) {
      const { spec } = sanitizeBtf(everyKind({ externs: false }).build(), btfTargetForKernel(major, minor));
      const buf = new Uint8Array(1 << 16);
      const r = btfLoad(encodeBtf(spec), { buf, level: 1 });
      const log = Buffer.from(buf).toString('utf8').replace(/\0[\s\S]*$/, '');
      expect(r.ok ? '' : `${major}.${minor}: ${log.slice(-500)}`).toBe('');
      if (r.ok) closeFd(r.ret);
    }
  });
});
