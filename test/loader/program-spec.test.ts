/**
 * One program spec: the ProgramSpec a DSL build puts in its ObjectSpec (what the
 * ELF writer serialises) is what Program.load takes, unchanged; the program type
 * and expected attach type come from its section, with explicit `type` /
 * `expectedAttachType` for sections that do not say.
 */
import { describe, expect, it } from 'vitest';
import { buildObject, program } from '../../dsl/program/index.js';
import { asm } from '../../dsl/isa/index.js';
import { loadObject, ObjectLoadError, Program } from '../../loader/index.js';
import { need } from '../support/env.js';

const tc = program('tc', 'ps_tc', (b) => b.return(3));
const connect = program('cgroup/connect4', 'ps_c4', (b) => b.return(1));

describe.skipIf(!need({ kernel: true }))('one program spec', () => {
  it('an ObjectSpec ProgramSpec loads as is, typed by its section', () => {
    const spec = buildObject([tc, connect], { target: '6.6' });
    const [tcSpec, c4Spec] = ['ps_tc', 'ps_c4'].map((n) => spec.programs.find((p) => p.name === n)!);
    using t = Program.load(tcSpec!, { license: spec.license });
    expect([t.type, t.expectedAttachType]).toEqual(['SCHED_CLS', undefined]);
    expect(t.run({ data: new Uint8Array(64) }).retval).toBe(3);
    using c = Program.load(c4Spec!, { license: spec.license });
    expect([c.type, c.expectedAttachType]).toEqual(['CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT']);
  });

  it('loadObject honours an explicit type for a section that does not say, and names the program otherwise', () => {
    const instructions = asm().mov64('r0', 9).exit().build();
    using obj = loadObject({ license: 'GPL', programs: [{ name: 'ps_raw', section: 'raw_label', type: 'SOCKET_FILTER', instructions }] });
    const p = obj.program('ps_raw');
    expect(p.type).toBe('SOCKET_FILTER');
    expect(p.run({ data: new Uint8Array(64) }).retval).toBe(9);
    let err: unknown;
    try {
      loadObject({ license: 'GPL', programs: [{ name: 'ps_untyped', section: 'raw_label', instructions }] }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ObjectLoadError);
    expect((err as ObjectLoadError).code).toBe('LOADER_OBJECT_SECTION');
    expect((err as Error).message).toMatch(/program 'ps_untyped': unknown section name 'raw_label'/);
  });
});
