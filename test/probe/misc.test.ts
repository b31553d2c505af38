/**
 * Every misc answer of the prober checked independently against the kernel,
 * through loader/programs and loader/sys (not the prober's own syscall code),
 * with instruction bytes written out by hand.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { need } from '../support/env.js';
import { BpfError, LoadedBtf, Program, VerifierError } from '../../loader/index.js';
import { mapCreate, progLoad, progLoadLogTrueSize } from '../../loader/sys/bpf.js';
import { closeFd } from '../../loader/sys/ffi.js';
import { MapFlag, MapType } from '../../loader/sys/constants.js';
import { encodeBtf } from '../../dsl/btf/encode.js';
import type { BtfType } from '../../dsl/btf/types.js';
import { DATAPATH_KFUNCS, type Feature } from '../../loader/probe/index.js';
import { CALL, EXIT, fullReport, insns, MOV } from './shared.js';

const ok = need({ kernel: true });
type Tuple = [number, number, number, number, number];

/** Loads raw bytes as XDP; true when the kernel accepted them, else the errno name and log. */
function tryLoad(bytes: Uint8Array, extra: Record<string, unknown> = {}): { ok: true } | { ok: false; errno: string; log: string } {
  try {
    Program.load({ name: '', section: '', type: 'XDP', instructions: [] }, { bytes, ...extra }).close();
    return { ok: true };
  } catch (err) {
    if (err instanceof VerifierError) return { ok: false, errno: err.errno, log: err.log };
    if (err instanceof BpfError) return { ok: false, errno: err.errno, log: '' };
    throw err;
  }
}

const isYes = (f: Feature | undefined) => {
  expect(f, 'feature reported').toBeDefined();
  expect(f!.status, `${f!.reason ?? ''}`).not.toBe('inconclusive');
  return f!.status === 'supported';
};

/** A straight line of n instructions: n-1 × `r0 = 0`, then exit. */
function straight(n: number): Uint8Array {
  const out = new Uint8Array(n * 8);
  for (let k = 0; k < n - 1; k++) out[k * 8] = 0xb7;
  out[(n - 1) * 8] = 0x95;
  return out;
}

/** BTF with int, `int(void)`, and two static functions (ids 3, 4). */
function twoFuncBtf(): LoadedBtf {
  const types: BtfType[] = [
    { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 },
    { kind: 'func_proto', name: '', returnType: 1, params: [] },
    { kind: 'func', name: 'main_fn', type: 2, linkage: 'static' },
    { kind: 'func', name: 'sub_fn', type: 2, linkage: 'static' },
  ];
  return LoadedBtf.load(encodeBtf({ types }));
}

function withMap<T>(type: number, value: number, flags: number, fn: (fd: number) => T): T {
  const fd = mapCreate({ map_type: type, key_size: 4, value_size: value, max_entries: 1, map_flags: flags });
  try {
    return fn(fd);
  } finally {
    closeFd(fd);
  }
}

describe.skipIf(!ok)('misc features, verified independently', () => {
  const misc = () => fullReport().misc!;

  it('bounded loops: a real back-edge loop loads iff reported', () => {
    // r0 = 10; loop: r0 -= 1; if r0 != 0 goto loop; exit
    const loop = insns(MOV(0, 10), [0x17, 0, 0, 0, 1], [0x55, 0, 0, -2, 0], EXIT);
    expect(tryLoad(loop).ok).toBe(isYes(misc().bounded_loops));
    // An unbounded loop is refused either way: the back-edge check is real.
    const forever = insns(MOV(0, 0), [0x05, 0, 0, -1, 0], EXIT);
    expect(tryLoad(forever).ok).toBe(false);
  });

  it('instruction limit: `limit` insns load, `limit + 1` fail with E2BIG', () => {
    const limit = misc().processed_insn_limit!.value;
    expect(typeof limit).toBe('number');
    const over = tryLoad(straight((limit as number) + 1));
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.errno).toBe('E2BIG');
    expect(tryLoad(straight(limit as number)).ok).toBe(true);
  }, 120_000);

  it('large instruction limit: 4097 insns load iff reported', () => {
    expect(tryLoad(straight(4097)).ok).toBe(isYes(misc().large_insn_limit));
  });

  it('ISA v2 (JLT), v3 (JMP32), v4 (gotol, movsx, sdiv, ldsx) load iff reported', () => {
    expect(tryLoad(insns(MOV(0, 0), [0xa5, 0, 0, 0, 1], EXIT)).ok).toBe(isYes(misc().isa_v2));
    expect(tryLoad(insns(MOV(0, 0), [0xa6, 0, 0, 0, 1], EXIT)).ok).toBe(isYes(misc().isa_v3));
    const v4 = isYes(misc().isa_v4);
    expect(tryLoad(insns(MOV(0, 0), [0x06, 0, 0, 0, 0], EXIT)).ok).toBe(v4); // gotol +0
    expect(tryLoad(insns(MOV(1, -5), [0xbf, 0, 1, 8, 0], EXIT)).ok).toBe(v4); // r0 = (s8) r1
    expect(tryLoad(insns(MOV(0, 7), [0x37, 0, 0, 1, 3], EXIT)).ok).toBe(v4); // r0 s/= 3
    expect(tryLoad(insns([0x7a, 10, 0, -8, 0], [0x91, 0, 10, -8, 0], MOV(0, 0), EXIT)).ok).toBe(v4); // ldsx
    // An opcode that does not exist is refused: the load really checks opcodes.
    expect(tryLoad(insns(MOV(0, 0), [0xff, 0, 0, 0, 0], EXIT)).ok).toBe(false);
  });

  it('bpf-to-bpf calls load iff reported', () => {
    expect(tryLoad(insns([0x85, 0, 1, 0, 1], EXIT, MOV(0, 0), EXIT)).ok).toBe(isYes(misc().bpf_to_bpf_calls));
  });

  it('tail calls, and tail calls from a subprogram (with BTF func_info), load iff reported', () => {
    withMap(MapType.PROG_ARRAY, 4, 0, (fd) => {
      const lddw: Tuple[] = [[0x18, 2, 1, 0, fd], [0, 0, 0, 0, 0]];
      const plain = insns(...lddw, MOV(3, 0), CALL(12), MOV(0, 0), EXIT);
      expect(tryLoad(plain).ok).toBe(isYes(misc().tail_calls));
      const inSub = insns([0x85, 0, 1, 0, 1], EXIT, ...lddw, MOV(3, 0), CALL(12), MOV(0, 0), EXIT);
      using btf = twoFuncBtf();
      const res = tryLoad(inSub, { btf, funcInfo: [{ insnOff: 0, typeId: 3 }, { insnOff: 2, typeId: 4 }] });
      expect(res.ok, JSON.stringify(res)).toBe(isYes(misc().tail_calls_in_subprograms));
    });
  });

  it('bpf_loop with a static callback loads iff reported', () => {
    // r1 = 1; r2 = &cb; r3 = 0; r4 = 0; call bpf_loop; r0 = 0; exit; cb: r0 = 0; exit
    const prog = insns(MOV(1, 1), [0x18, 2, 4, 0, 6], [0, 0, 0, 0, 0], MOV(3, 0), MOV(4, 0), CALL(181), MOV(0, 0), EXIT, MOV(0, 0), EXIT);
    using btf = twoFuncBtf();
    const res = tryLoad(prog, { btf, funcInfo: [{ insnOff: 0, typeId: 3 }, { insnOff: 8, typeId: 4 }] });
    expect(res.ok, JSON.stringify(res)).toBe(isYes(misc().bpf_loop));
  });

  it('global data: a read-only-for-programs array read through lddw map_value loads iff reported', () => {
    withMap(MapType.ARRAY, 16, MapFlag.RDONLY_PROG, (fd) => {
      const prog = insns([0x18, 1, 2, 0, fd], [0, 0, 0, 0, 0], [0x61, 0, 1, 0, 0], MOV(0, 0), EXIT);
      expect(tryLoad(prog).ok).toBe(isYes(misc().global_data));
      // Writing through it is refused: RDONLY_PROG is real, so the map is what we think.
      const write = insns([0x18, 1, 2, 0, fd], [0, 0, 0, 0, 0], [0x62, 1, 0, 0, 1], MOV(0, 0), EXIT);
      expect(tryLoad(write).ok).toBe(false);
    });
  });

  it('func_info and line_info load iff reported', () => {
    using btf = twoFuncBtf();
    const prog = insns([0x85, 0, 1, 0, 1], EXIT, MOV(0, 0), EXIT);
    const funcInfo = [{ insnOff: 0, typeId: 3 }, { insnOff: 2, typeId: 4 }];
    expect(tryLoad(prog, { btf, funcInfo }).ok).toBe(isYes(misc().func_info));
    // Strings must be in the program BTF's string table: reuse the function names.
    const lineInfo = [
      { insnOff: 0, fileName: 'main_fn', line: 'sub_fn', lineNum: 1, column: 1 },
      { insnOff: 2, fileName: 'main_fn', line: 'main_fn', lineNum: 2, column: 1 },
    ];
    const res = tryLoad(prog, { btf, funcInfo, lineInfo });
    expect(res.ok, JSON.stringify(res)).toBe(isYes(misc().line_info));
  });

  it('log_true_size: the kernel writes it back after a logged load iff reported', () => {
    const buf = new Uint8Array(4096);
    const license = new TextEncoder().encode('GPL\0');
    const code = insns(MOV(0, 0), EXIT);
    const r = progLoad({ prog_type: 6, insn_cnt: 2, insns: code, license, log_level: 1, log_size: buf.length, log_buf: buf });
    expect(r.ok).toBe(true);
    if (r.ok) closeFd(r.ret);
    expect(progLoadLogTrueSize(r.attr) > 0).toBe(isYes(misc().log_true_size));
  });

  it('BTF kinds: each accepted iff a blob using it loads', () => {
    const blobs: Record<string, BtfType[]> = {
      FLOAT: [{ kind: 'float', name: 'double', size: 8 }],
      ENUM64: [{ kind: 'enum64', name: 'big', size: 8, signed: true, values: [{ name: 'NEG', value: -(1n << 50n) }] }],
      TYPE_TAG: [
        { kind: 'int', name: 'long', size: 8, encoding: 'signed', bits: 64, offset: 0 },
        { kind: 'type_tag', name: 'rcu', type: 1, attribute: false },
        { kind: 'ptr', name: '', type: 2 },
      ],
      DECL_TAG: [
        { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 },
        { kind: 'var', name: 'v', type: 1, linkage: 'global' },
        { kind: 'decl_tag', name: 'hot', type: 2, componentIdx: -1, attribute: false },
      ],
      DATASEC: [
        { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 },
        { kind: 'var', name: 'counter', type: 1, linkage: 'global' },
        { kind: 'datasec', name: '.bss', size: 4, vars: [{ type: 2, offset: 0, size: 4 }] },
      ],
      FUNC: [
        { kind: 'func_proto', name: '', returnType: 0, params: [] },
        { kind: 'func', name: 'g', type: 1, linkage: 'global' },
      ],
    };
    const btfKinds = fullReport().btf!;
    for (const [kind, types] of Object.entries(blobs)) {
      let loaded: boolean;
      try {
        LoadedBtf.load(encodeBtf({ types })).close();
        loaded = true;
      } catch (err) {
        if (!(err instanceof BpfError)) throw err;
        loaded = false;
      }
      expect(loaded, kind).toBe(isYes(btfKinds[kind]));
    }
  });

  it.skipIf(!need({ tools: ['bpftool'] }))('kfuncs: present with the same BTF ids bpftool dumps from vmlinux', () => {
    const dump = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const ids = new Map<string, number>();
    for (const m of dump.matchAll(/^\[(\d+)\] FUNC '([^']+)'/gm)) if (!ids.has(m[2]!)) ids.set(m[2]!, Number(m[1]));
    const kfuncs = fullReport().kfuncs!;
    for (const name of DATAPATH_KFUNCS) {
      const f = kfuncs[name]!;
      expect(f.status === 'supported', name).toBe(ids.has(name));
      if (ids.has(name)) expect(f.value, name).toBe(ids.get(name));
    }
  }, 60_000);
});
