/**
 * Programs against the real kernel: loading isa-built programs, BPF_PROG_TEST_RUN
 * on crafted packets, map access from programs, tail calls through a prog
 * array, verifier failures mapped to TypeScript source lines (through BTF
 * line_info built with dsl/btf, and through instruction metadata), log growth.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BtfBuilder, BtfStringTable } from '../../dsl/btf/index.js';
import { asm, slots, type Instruction } from '../../dsl/isa/index.js';
import { BpfError, BpfMap, FdScope, LoadedBtf, LoaderError, Program, VerifierError, type LineInfoRecord } from '../../loader/index.js';
import { need } from '../support/env.js';
import { fromLe } from './helpers.js';

const kernel = need({ kernel: true });
const bpftool = kernel && need({ tools: ['bpftool'] });
const thisFile = fileURLToPath(import.meta.url);
const sourceLines = readFileSync(thisFile, 'utf8').split('\n');

// __sk_buff and xdp_md offsets (UAPI).
const SKB_DATA = 76;
const SKB_DATA_END = 80;
const XDP_DATA = 0;
const XDP_DATA_END = 4;
const FN_MAP_LOOKUP_ELEM = 1;
const FN_TAIL_CALL = 12;

/** Ethernet + IPv4 + UDP packet with `payload`. */
function udpPacket(payload: number[], proto = 17): Uint8Array {
  const eth = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
  const total = 20 + 8 + payload.length;
  const ip = [0x45, 0, total >> 8, total & 0xff, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
  const udp = [0x30, 0x39, 0x00, 0x35, 0, 8 + payload.length, 0, 0];
  return new Uint8Array([...eth, ...ip, ...udp, ...payload]);
}

describe.skipIf(!kernel)('loading and running', () => {
  it('a socket filter returns its constant; info agrees with bpftool', () => {
    using p = Program.load({ section: 'socket', name: 'ret42', instructions: asm().mov64('r0', 42).exit().build() });
    expect(p.run({ data: udpPacket([1, 2, 3]) }).retval).toBe(42);
    const info = p.info();
    expect(info.name).toBe('ret42');
    expect(info.typeName).toBe('SOCKET_FILTER');
    expect(info.xlatedSize).toBe(16);
    expect(info.verifiedInsns).toBe(2);
    expect(info.id).toBeGreaterThan(0);
    const xlated = p.info({ xlated: true }).xlated!;
    expect([...xlated]).toEqual([0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    if (bpftool) {
      const shown = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(info.id)], { encoding: 'utf8' }));
      expect(shown.name).toBe('ret42');
      expect(shown.type).toBe('socket_filter');
      expect(shown.tag).toBe(info.tag);
      expect(shown.bytes_xlated).toBe(16);
    }
  });

  it('a program reads a map value (lddw map fd patched by name) and returns it', () => {
    using m = BpfMap.create({ type: 'ARRAY', name: 'vals', key: 4, value: 8, maxEntries: 2 });
    m.set(1, 0x1234_5678n);
    const insns = asm()
      .stw('r10', -4, 1)
      .mov64('r2', 'r10')
      .add64('r2', -4)
      .ldMapFd('r1', 'vals')
      .call(FN_MAP_LOOKUP_ELEM)
      .jeq('r0', 0, 'none')
      .ldxdw('r0', 'r0', 0)
      .exit()
      .label('none')
      .mov64('r0', 0)
      .exit()
      .build();
    using p = Program.load({ section: 'socket', name: 'readmap', instructions: insns }, { maps: { vals: m } });
    expect(p.run({ data: udpPacket([]) }).retval).toBe(0x1234_5678);
    m.set(1, 99n);
    expect(p.run({ data: udpPacket([]) }).retval).toBe(99);
    expect(p.info().mapIds).toEqual([m.info().id]);
  });

  it('a program counts its runs into a map (ldMapValue + atomic add); repeat runs it N times', () => {
    using m = BpfMap.create({ type: 'ARRAY', name: 'counter', key: 4, value: 16, maxEntries: 1 });
    const insns = asm().ldMapValue('r1', 'counter', 8).mov64('r2', 1).atomicAdd64('r1', 0, 'r2').mov64('r0', 0).exit().build();
    using p = Program.load({ section: 'socket', name: 'count', instructions: insns }, { maps: new Map([['counter', m]]) });
    const r = p.run({ data: udpPacket([]), repeat: 25 });
    expect(r.retval).toBe(0);
    expect(r.duration).toBeGreaterThanOrEqual(0);
    expect(fromLe(m.get(0)!.subarray(8))).toBe(25n);
    expect(fromLe(m.get(0)!.subarray(0, 8))).toBe(0n);
  });

  it('a tc program parses a crafted packet and rewrites it (data out)', () => {
    // return ip->protocol; and overwrite the first payload byte with 0xee
    const insns = asm()
      .ldxw('r2', 'r1', SKB_DATA)
      .ldxw('r3', 'r1', SKB_DATA_END)
      .mov64('r4', 'r2')
      .add64('r4', 43)
      .jgt('r4', 'r3', 'short')
      .ldxb('r0', 'r2', 23)
      .stb('r2', 42, 0xee)
      .exit()
      .label('short')
      .mov64('r0', 2) // TC_ACT_SHOT
      .exit()
      .build();
    using p = Program.load({ section: 'tc', name: 'tc_parse', instructions: insns });
    const pkt = udpPacket([0x11, 0x22]);
    const out = p.run({ data: pkt });
    expect(out.retval).toBe(17);
    expect(out.data.length).toBe(pkt.length);
    expect(out.data[42]).toBe(0xee);
    expect([...out.data.subarray(0, 42)]).toEqual([...pkt.subarray(0, 42)]);
    expect(p.run({ data: udpPacket([], 6) }).retval).toBe(2); // TCP, no payload → too short
    // a ctx in/out round trip: __sk_buff.mark is writable from tc
    const ctx = new Uint8Array(192);
    const withCtx = p.run({ data: pkt, ctx });
    expect(withCtx.ctx).toHaveLength(192);
  });

  it('an XDP program drops UDP and passes the rest', () => {
    const insns = asm()
      .ldxw('r2', 'r1', XDP_DATA)
      .ldxw('r3', 'r1', XDP_DATA_END)
      .mov64('r4', 'r2')
      .add64('r4', 34)
      .jgt('r4', 'r3', 'pass')
      .ldxb('r5', 'r2', 23)
      .jne('r5', 17, 'pass')
      .mov64('r0', 1) // XDP_DROP
      .exit()
      .label('pass')
      .mov64('r0', 2) // XDP_PASS
      .exit()
      .build();
    using p = Program.load({ section: 'xdp', name: 'xdp_udp', instructions: insns });
    expect(p.run({ data: udpPacket([1]) }).retval).toBe(1);
    expect(p.run({ data: udpPacket([1], 6) }).retval).toBe(2);
  });

  it('a socket filter using legacy ldabs sees the packet from the network header', () => {
    // Socket filters run with the Ethernet header pulled: offset 9 is the IPv4 protocol, 12 the source address.
    using proto = Program.load({ section: 'socket', name: 'ldabs', instructions: asm().mov64('r6', 'r1').ldabsb(9).exit().build() });
    expect(proto.run({ data: udpPacket([]) }).retval).toBe(17);
    using src = Program.load({ section: 'socket', name: 'ldabs_src', instructions: asm().mov64('r6', 'r1').ldabsw(12).exit().build() });
    expect(src.run({ data: udpPacket([]) }).retval).toBe(0x0a000001);
  });

  it('tail calls through a prog array', () => {
    using scope = new FdScope();
    const target = scope.add(Program.load({ section: 'socket', name: 'target', instructions: asm().mov64('r0', 7).exit().build() }));
    const jumps = scope.add(BpfMap.create({ type: 'PROG_ARRAY', name: 'jumps', key: 4, maxEntries: 4 }));
    jumps.set(2, target);
    expect(jumps.get(2)).toBe(target.info().id);
    const caller = scope.add(
      Program.load(
        { section: 'socket', name: 'caller', instructions: asm().ldMapFd('r2', 'jumps').mov64('r3', 2).call(FN_TAIL_CALL).mov64('r0', 1).exit().build() },
        { maps: { jumps } },
      ),
    );
    expect(caller.run({ data: udpPacket([]) }).retval).toBe(7);
    jumps.delete(2);
    expect(caller.run({ data: udpPacket([]) }).retval).toBe(1);
  });

  it('loads a cgroup connect4 program with its expected attach type (and fails without it)', () => {
    const insns = asm().mov64('r0', 1).exit().build();
    using p = Program.load({ name: 'c4', section: 'cgroup/connect4', instructions: insns });
    expect(p.expectedAttachType).toBe('CGROUP_INET4_CONNECT');
    // explicit type and attach type for a program whose section is only a label
    using raw = Program.load({ name: 'c4raw', section: '', type: 'CGROUP_SOCK_ADDR', expectedAttachType: 'CGROUP_INET4_CONNECT', instructions: insns });
    expect([raw.type, raw.expectedAttachType]).toEqual(['CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT']);
    // a section's attach type is given only where BPF_PROG_LOAD takes one
    using tc = Program.load({ name: 'tcx', section: 'tcx/ingress', instructions: asm().mov64('r0', 0).exit().build() });
    expect([tc.type, tc.expectedAttachType]).toEqual(['SCHED_CLS', undefined]);
    expect(() => Program.load({ name: 'c4x', section: 'cgroup/connect4', instructions: asm().mov64('r0', 3).exit().build() })).toThrow(VerifierError);
  });

  it('bad input is a typed error before any syscall', () => {
    expect(() => Program.load({ name: 'odd', section: 'socket', instructions: [] }, { bytes: new Uint8Array(12) })).toThrow(LoaderError);
    expect(() => Program.load({ name: 'empty', section: 'socket', instructions: [] })).toThrow(LoaderError);
    expect(() => Program.load({ name: 'nomap', section: 'socket', instructions: asm().ldMapFd('r1', 'nope').mov64('r0', 0).exit().build() })).toThrow(/no map named 'nope'/);
    expect(() => Program.load({ section: 'socket', name: 'bad-name', instructions: asm().mov64('r0', 0).exit().build() })).toThrow(/name/);
    const ret0 = asm().mov64('r0', 0).exit().build();
    // fields of the former loader spec are refused, naming where they went
    expect(() => Program.load({ name: 'old', section: 'socket', insns: ret0 } as never)).toThrow(/'insns' is not a program spec field; give instructions/);
    expect(() => Program.load({ name: 'old', section: 'socket', instructions: ret0, license: 'GPL' } as never)).toThrow(/options\.license/);
    expect(() => Program.load({ name: 'old', section: 'socket', instructions: ret0, btf: { fd: 1 } } as never)).toThrow(/options\.btf/);
    expect(() => Program.load({ name: 'old', section: 'socket', instructions: new Uint8Array(16) } as never)).toThrow(/options\.bytes/);
    expect(() => Program.load({ name: 'both', section: 'socket', instructions: ret0 }, { bytes: new Uint8Array(16) })).toThrow(/not both/);
    // the type comes from the section; a section that does not say needs spec.type
    expect(() => Program.load({ name: 'nosec', section: 'no_such_section', instructions: ret0 })).toThrow(/unknown section name 'no_such_section'.*spec\.type/);
    expect(() => Program.load({ name: 'nosec', section: 'no_such_section', instructions: ret0 })).toThrow(LoaderError);
    expect(() => Program.load({ name: 'badtype', section: '', type: 'NOPE' as never, instructions: ret0 })).toThrow(/unknown program type 'NOPE'/);
  });
});

/** Line of this file containing `marker` (1-based). */
function lineOf(marker: string): number {
  const i = sourceLines.findIndex((l) => l.includes(marker) && !l.includes('lineOf('));
  if (i < 0) throw new Error(`marker ${marker} not found`);
  return i + 1;
}

/** BTF (an int, a func proto and the FUNC `name`) plus line_info from the instructions' own source locations. */
function btfAndLineInfo(name: string, insns: readonly Instruction[]) {
  const strings = new BtfStringTable();
  const lineInfo: LineInfoRecord[] = [];
  let slot = 0;
  for (const insn of insns) {
    const src = insn.meta?.source;
    if (src && src.file === thisFile) {
      const text = sourceLines[src.line - 1]!.trim();
      strings.add(src.file);
      strings.add(text);
      if (lineInfo.at(-1)?.lineNum !== src.line) lineInfo.push({ insnOff: slot, fileName: src.file, line: text, lineNum: src.line, column: src.column });
    }
    slot += slots(insn);
  }
  const b = new BtfBuilder();
  const int = b.int('int', 4, 'signed');
  const proto = b.funcProto(int, []);
  const func = b.func(name, proto, 'static');
  const blob = b.encode({ strings });
  return { blob, strings, func, lineInfo };
}

describe.skipIf(!kernel)('verifier errors', () => {
  it('names the failing instruction and maps it to the TypeScript line through BTF line_info', () => {
    const a = asm();
    a.mov64('r1', 1);
    a.jeq('r1', 1, 'out');
    a.mov64('r0', 0);
    a.label('out');
    a.exit(); // VERIFIER-FAILS-HERE: r0 is unset on the taken branch
    const insns = a.build();
    const { blob, strings, func, lineInfo } = btfAndLineInfo('uninit_r0', insns);
    expect(lineInfo.length).toBeGreaterThanOrEqual(4);
    using btf = LoadedBtf.load(blob, { strings });
    let err: VerifierError | undefined;
    try {
      Program.load({ section: 'socket', name: 'uninit_r0', instructions: insns }, { btf, funcInfo: [{ insnOff: 0, typeId: func }], lineInfo });
    } catch (e) {
      err = e as VerifierError;
    }
    expect(err).toBeInstanceOf(VerifierError);
    expect(err!.code).toBe('BPF_VERIFIER');
    expect(err!.errno).toBe('EACCES');
    expect(err!.insnIndex).toBe(3);
    expect(err!.reason).toContain('R0 !read_ok');
    expect(err!.log).toMatch(/^3: \(95\) exit/m);
    // The kernel itself printed our TypeScript line (line_info strings) in the log.
    expect(err!.log).toContain('VERIFIER-FAILS-HERE');
    const line = lineOf('VERIFIER-FAILS-HERE');
    expect(err!.source).toMatchObject({ file: thisFile, line });
    expect(err!.source!.text).toContain('VERIFIER-FAILS-HERE');
    expect(err!.message).toContain(`${thisFile}:${line}`);
    expect(err!.message).toContain('instruction 3');
  });

  it('maps raw 16-byte line_info records through the kernel copy of the BTF strings', () => {
    const a = asm();
    a.mov64('r0', 0);
    a.ldxdw('r2', 'r1', 4096); // RAW-LINE-INFO-FAILS: out-of-bounds ctx read
    a.exit();
    const insns = a.build();
    const { blob, strings, func, lineInfo } = btfAndLineInfo('oob_ctx', insns);
    using btf = LoadedBtf.load(blob, { strings });
    const raw = new Uint8Array(lineInfo.length * 16);
    const dv = new DataView(raw.buffer);
    lineInfo.forEach((r, i) => {
      dv.setUint32(i * 16, r.insnOff, true);
      dv.setUint32(i * 16 + 4, strings.get(r.fileName)!, true);
      dv.setUint32(i * 16 + 8, strings.get(r.line)!, true);
      dv.setUint32(i * 16 + 12, (r.lineNum << 10) | r.column, true);
    });
    const funcInfo = new Uint8Array(8);
    new DataView(funcInfo.buffer).setUint32(4, func, true);
    const err = (() => {
      try {
        Program.load({ section: 'socket', name: 'oob_ctx', instructions: insns }, { btf: { fd: btf.fd }, funcInfo, lineInfo: raw });
      } catch (e) {
        return e as VerifierError;
      }
    })();
    expect(err).toBeInstanceOf(VerifierError);
    expect(err!.insnIndex).toBe(1);
    expect(err!.reason).toMatch(/invalid bpf_context access/);
    expect(err!.source?.line).toBe(lineOf('RAW-LINE-INFO-FAILS'));
    expect(err!.source?.text).toContain('RAW-LINE-INFO-FAILS');
  });

  it('without BTF, maps through the instructions own source locations', () => {
    const a = asm();
    a.mov64('r0', 0);
    a.ldxdw('r0', 'r9', 0); // META-SOURCE-FAILS: r9 is uninitialized
    a.exit();
    try {
      Program.load({ section: 'socket', name: 'uninit_r9', instructions: a.build() });
      expect.unreachable('load should fail');
    } catch (e) {
      const err = e as VerifierError;
      expect(err).toBeInstanceOf(VerifierError);
      expect(err.insnIndex).toBe(1);
      expect(err.reason).toMatch(/R9 !read_ok/);
      expect(err.source).toMatchObject({ file: thisFile, line: lineOf('META-SOURCE-FAILS') });
    }
  });

  it('a tiny initial log still yields the complete log (grown via log_true_size)', () => {
    const a = asm();
    for (let i = 0; i < 50; i++) a.mov64('r2', i);
    a.exit();
    const insns = a.build();
    const get = (logSize: number) => {
      try {
        Program.load({ section: 'socket', name: 'grow', instructions: insns }, { logSize });
      } catch (e) {
        return e as VerifierError;
      }
      throw new Error('expected failure');
    };
    const small = get(64);
    const big = get(1 << 20);
    expect(small.log.length).toBeGreaterThan(1000);
    expect(small.log).toBe(big.log);
    expect(small.truncated).toBe(false);
    expect(small.insnIndex).toBe(50);
  });

  it('a valid program loads with a tiny log request, with or without an explicit log level', () => {
    const insns = asm().mov64('r0', 1).exit().build();
    using p1 = Program.load({ section: 'socket', name: 'tiny', instructions: insns }, { logSize: 16 });
    expect(p1.verifierLog).toBe('');
    using p2 = Program.load({ section: 'socket', name: 'tiny2', instructions: insns }, { logSize: 16, logLevel: 2 });
    expect(p2.verifierLog).toMatch(/^1: \(95\) exit/m);
    expect(p2.verifierStats?.processedInsns).toBe(2);
    expect(p2.run({ data: udpPacket([]) }).retval).toBe(1);
  });

  it('a kernel refusal that is not the verifier is a BpfError', () => {
    // a program type that does not support test runs
    using p = Program.load({ name: 'norun', section: 'cgroup/connect4', instructions: asm().mov64('r0', 1).exit().build() });
    let err: unknown;
    try {
      p.run({ data: udpPacket([]) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).command).toBe('BPF_PROG_TEST_RUN');
  });
});
