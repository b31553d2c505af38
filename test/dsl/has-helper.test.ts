/**
 * `b.hasHelper(name)`: a build-time answer from the target profile and the
 * program type, so one source can choose per kernel (NodePort uses it for
 * bpf_redirect_neigh, 5.10+); an unknown helper name is a DslError.
 */
import { describe, expect, it } from 'vitest';
import { buildObject, DslError, program } from '../../dsl/program/index.js';
import { BpfFunc } from '../../dsl/kernel/index.js';
import { CallKind, Class, JmpOp } from '../../dsl/isa/index.js';

const helperCalls = (spec: ReturnType<typeof buildObject>) =>
  spec.programs[0]!.instructions.filter((i) => i.opcode === (Class.JMP | JmpOp.CALL) && i.src === CallKind.HELPER).map((i) => i.imm);

describe('b.hasHelper', () => {
  const p = program('tc', 'hh_neigh', (b) => {
    if (b.hasHelper('redirect_neigh')) b.return(b.redirectNeigh(3, 0));
    else b.return(b.redirect(3, 0));
  });

  it('follows the target: bpf_redirect_neigh from 5.10, bpf_redirect before', () => {
    expect(helperCalls(buildObject([p], { target: '5.4' }))).toEqual([BpfFunc.redirect]);
    expect(helperCalls(buildObject([p], { target: '5.10' }))).toEqual([BpfFunc.redirect_neigh]);
    expect(helperCalls(buildObject([p], { target: '6.6' }))).toEqual([BpfFunc.redirect_neigh]);
  });

  it('follows the program type', () => {
    const x = program('xdp', 'hh_xdp', (b) => b.return(b.hasHelper('redirect_neigh') ? 1 : 2));
    // XDP programs cannot call bpf_redirect_neigh on any kernel: `return 2` is all that is emitted.
    const insns = buildObject([x], { target: '6.6' }).programs[0]!.instructions;
    expect(insns.map((i) => i.imm)).toEqual([2, 0]);
  });

  it('an unknown helper is a DslError', () => {
    const bad = program('tc', 'hh_bad', (b) => b.return(b.hasHelper('no_such_helper' as never) ? 1 : 0));
    expect(() => buildObject([bad], { target: '6.6' })).toThrow(DslError);
    expect(() => buildObject([bad], { target: '6.6' })).toThrow(/unknown helper "no_such_helper"/);
  });
});
