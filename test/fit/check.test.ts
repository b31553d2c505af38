/**
 * The profile checker and the splitter's refusals on bad programs: each problem
 * is found, coded, and names the instruction's source line (the assembler records
 * this test file's line for every instruction).
 */
import { describe, expect, it } from 'vitest';
import { asm, type Instruction } from '../../dsl/isa/index.js';
import { BpfFunc, profileByName } from '../../dsl/kernel/index.js';
import { FitError, assertFitsProfile, checkAgainstProfile, splitProgram } from '../../dsl/fit/index.js';

const p419 = profileByName('4.19');
const p66 = profileByName('6.6');
const THIS_FILE = /check\.test\.ts$/;

function prog(insns: Instruction[], section = 'tc') {
  return { name: 'bad', section, instructions: insns };
}

describe('checkAgainstProfile', () => {
  it('accepts a small valid program on every profile', () => {
    const p = prog(asm().mov64('r0', 0).exit().build());
    for (const name of ['4.19', '5.4', '5.10', '5.15', '6.1', '6.6', '6.12']) expect(checkAgainstProfile(p, profileByName(name))).toEqual([]);
  });

  it('flags JMP32 (ISA v3) on 4.19 with the source line, not on 5.10', () => {
    const p = prog(asm().mov64('r0', 0).jeq32('r0', 1, 'out').mov64('r0', 1).label('out').exit().build());
    const problems = checkAgainstProfile(p, p419);
    expect(problems.map((x) => x.code)).toEqual(['FIT_ISA']);
    expect(problems[0]!.index).toBe(1);
    expect(problems[0]!.source?.file).toMatch(THIS_FILE);
    expect(problems[0]!.message).toMatch(/needs ISA v3.*4\.19 has v2/);
    expect(checkAgainstProfile(p, profileByName('5.10'))).toEqual([]);
  });

  it('flags sign-extending moves (v4) below 6.6', () => {
    const p = prog(asm().mov64('r1', 5).movsx64('r0', 'r1', 8).exit().build());
    expect(checkAgainstProfile(p, profileByName('6.1')).map((x) => x.code)).toEqual(['FIT_ISA']);
    expect(checkAgainstProfile(p, p66)).toEqual([]);
  });

  it('flags a backward jump on 4.19 but not on 5.4', () => {
    const p = prog(asm().mov64('r0', 0).label('top').add64('r0', 1).jlt('r0', 10, 'top').exit().build());
    const problems = checkAgainstProfile(p, p419);
    expect(problems.map((x) => x.code)).toEqual(['FIT_LOOP']);
    expect(problems[0]!.index).toBe(2);
    expect(problems[0]!.source?.line).toBeGreaterThan(0);
    expect(checkAgainstProfile(p, profileByName('5.4'))).toEqual([]);
  });

  it('flags helpers the kernel or the program type lacks', () => {
    const neigh = prog(asm().mov64('r1', 1).mov64('r2', 0).mov64('r3', 0).mov64('r4', 0).call(BpfFunc.redirect_neigh).exit().build());
    expect(checkAgainstProfile(neigh, p419).map((x) => x.code)).toEqual(['FIT_HELPER']);
    expect(checkAgainstProfile(neigh, p419)[0]!.message).toMatch(/bpf_redirect_neigh.*does not exist on target 4\.19/);
    expect(checkAgainstProfile(neigh, profileByName('5.10'))).toEqual([]);
    const store = prog(asm().mov64('r2', 0).mov64('r3', 'r10').add64('r3', -8).mov64('r4', 4).mov64('r5', 0).call(BpfFunc.skb_store_bytes).exit().build(), 'xdp');
    const problems = checkAgainstProfile(store, p66);
    expect(problems.map((x) => x.code)).toEqual(['FIT_HELPER']);
    expect(problems[0]!.message).toMatch(/skb_store_bytes is not available to XDP/);
    expect(problems[0]!.index).toBe(5);
  });

  it('flags bpf-to-bpf calls mixed with tail calls before 5.10, and the size limit', () => {
    const mixed = prog(asm().callFunc('helperfn').ldMapFd('r2', 'jmp').mov64('r3', 0).call(BpfFunc.tail_call).mov64('r0', 0).exit().build());
    expect(checkAgainstProfile(mixed, p419).map((x) => x.code)).toEqual(['FIT_CALLS']);
    expect(checkAgainstProfile(mixed, profileByName('5.10'))).toEqual([]);
    const a = asm();
    for (let i = 0; i < 4096; i++) a.mov64('r0', i);
    const big = prog(a.exit().build());
    expect(checkAgainstProfile(big, p419).map((x) => x.code)).toEqual(['FIT_TOO_BIG']);
    expect(checkAgainstProfile(big, p419, { skipSize: true })).toEqual([]);
    expect(checkAgainstProfile(big, p66)).toEqual([]);
  });

  it('assertFitsProfile throws a FitError listing every problem', () => {
    const p = prog(asm().mov64('r0', 0).label('top').jeq32('r0', 1, 'top').exit().build());
    let err: unknown;
    try {
      assertFitsProfile(p, p419);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FitError);
    expect((err as FitError).message).toMatch(/ISA v3/);
    expect((err as FitError).message).toMatch(/backward jump/);
    expect((err as FitError).message).toMatch(/check\.test\.ts:\d+/);
  });
});

describe('splitProgram refusals', () => {
  it('no valid cut: a map value pointer live across the whole body', () => {
    const a = asm();
    a.mov64('r6', 'r1').stw('r10', -4, 0).ldMapFd('r1', 'm').mov64('r2', 'r10').add64('r2', -4).call(BpfFunc.map_lookup_elem);
    a.jne('r0', 0, 'ok').exit().label('ok').mov64('r7', 'r0');
    for (let i = 0; i < 5000; i++) a.ldxdw('r1', 'r7', 0).add64('r1', i).stxdw('r7', 0, 'r1');
    a.mov64('r0', 0).exit();
    let err: unknown;
    try {
      splitProgram(prog(a.build()), p419);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FitError);
    expect((err as FitError).code).toBe('FIT_NO_CUT');
    expect((err as FitError).message).toMatch(/r7 is live and holds a .*map_lookup_elem result pointer/);
    expect((err as FitError).source?.file).toMatch(THIS_FILE);
  });

  it('loops on a kernel without bounded loops, and bpf-to-bpf calls before 5.10', () => {
    const loop = asm().mov64('r0', 0).label('top');
    for (let i = 0; i < 4100; i++) loop.add64('r0', 1);
    loop.jlt('r0', 10, 'top').exit();
    expect(() => splitProgram(prog(loop.build()), p419)).toThrow(/FIT_LOOP|backward jump/);
    const calls = asm().callFunc('f');
    for (let i = 0; i < 4100; i++) calls.add64('r0', 1);
    calls.exit();
    expect(() => splitProgram(prog(calls.build()), p419)).toThrow(/cannot mix them with tail calls/);
  });

  it('a chain longer than the tail-call limit is refused', () => {
    const a = asm().mov64('r6', 'r1').mov64('r0', 0);
    for (let i = 0; i < 1000; i++) a.add64('r0', i);
    const p = prog(a.exit().build());
    expect(splitProgram(p, p419, { limit: 300, force: true }).programs.length).toBeGreaterThan(3);
    let err: unknown;
    try {
      splitProgram(p, { ...p419, tailCallChainLimit: 2 }, { limit: 300, force: true });
    } catch (e) {
      err = e;
    }
    expect((err as FitError).code).toBe('FIT_CHAIN');
    expect((err as FitError).message).toMatch(/above the chain limit 2/);
  });

  it('leaves a program that fits alone', () => {
    const p = prog(asm().mov64('r0', 0).exit().build());
    const r = splitProgram(p, p419);
    expect(r.programs).toEqual([p]);
    expect(r.maps).toEqual([]);
    expect(r.report.pieces).toHaveLength(1);
  });
});
