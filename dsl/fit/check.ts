/**
 * `checkAgainstProfile`: does a finished program fit a target kernel? Checked at
 * the instruction level, so it applies to DSL output, assembler code and objects
 * read from ELF alike: size, ISA level of every instruction, loops (back edges)
 * on kernels without bounded loops, helpers the kernel / program type has,
 * bpf-to-bpf calls and their mixing with tail calls, kfuncs. Every problem names
 * the instruction and its source line.
 */
import { CallKind, Class, JmpOp, LDDW, PseudoSource, describeInsn, invalidReason, isaRank, requiredIsa, slots, type Instruction, type SourceLocation } from '../isa/index.js';
import { atLeast, helperById, profileAllowsHelper, sectionDef, type AttachTypeName, type HelperName, type ProgTypeName, type TargetProfile } from '../kernel/index.js';
import { FitError, describeWhere } from './errors.js';
import { buildFlow } from './flow.js';
import { TAIL_CALL_HELPER } from './analysis.js';

/** One reason a program does not fit a profile. */
export interface FitProblem {
  /** Stable kind: FIT_TOO_BIG, FIT_ISA, FIT_LOOP, FIT_HELPER, FIT_CALLS, FIT_KFUNC, FIT_PROG_TYPE, FIT_INVALID. */
  readonly code: string;
  readonly message: string;
  /** Instruction index, when one instruction is to blame. */
  readonly index?: number;
  readonly source?: SourceLocation;
}

/** What the checker needs to know about a program. */
export interface CheckedProgram {
  readonly name: string;
  /** SEC name; decides the program type (and hook) for helper availability. */
  readonly section: string;
  readonly instructions: readonly Instruction[];
}

/** Program type and expected attach type a section implies (undefined for unknown sections). */
export function sectionTypes(section: string): { progType?: ProgTypeName; attachType?: AttachTypeName } {
  try {
    const d = sectionDef(section);
    return d.attachType ? { progType: d.progType, attachType: d.attachType } : { progType: d.progType };
  } catch {
    return {};
  }
}

const isHelperCall = (i: Instruction) => i.opcode === (Class.JMP | JmpOp.CALL) && i.src === CallKind.HELPER;
const isPseudoCall = (i: Instruction) => (i.opcode === (Class.JMP | JmpOp.CALL) && i.src === CallKind.PSEUDO_CALL) || (i.opcode === LDDW && i.src === PseudoSource.FUNC);
const isKfuncCall = (i: Instruction) => i.opcode === (Class.JMP | JmpOp.CALL) && i.src === CallKind.KFUNC;

/** Options of {@link checkAgainstProfile}. */
export interface CheckOptions {
  /** Skip the size limit (a splitter checks the pieces instead). */
  readonly skipSize?: boolean;
  /** Extra instruction slots the program will get when linked (subprograms it calls). */
  readonly extraSlots?: number;
}

/** Every problem that keeps `program` from loading on a kernel described by `profile`; empty when it fits. */
export function checkAgainstProfile(program: CheckedProgram, profile: TargetProfile, options: CheckOptions = {}): FitProblem[] {
  const problems: FitProblem[] = [];
  const insns = program.instructions;
  const at = (i: number) => {
    const src = insns[i]!.meta?.source;
    return src ? { index: i, source: src } : { index: i };
  };
  const { progType, attachType } = sectionTypes(program.section);
  if (progType && !profile.progTypes.includes(progType))
    problems.push({ code: 'FIT_PROG_TYPE', message: `program type ${progType} (section '${program.section}') is not available on target ${profile.name}` });
  const count = insns.reduce((n, i) => n + slots(i), 0) + (options.extraSlots ?? 0);
  if (!options.skipSize && count > profile.maxInsns)
    problems.push({ code: 'FIT_TOO_BIG', message: `${count} instruction slots, above the ${profile.maxInsns} target ${profile.name} allows` });
  const rank = isaRank(profile.isa);
  let pseudoCalls = -1;
  let tailCalls = -1;
  insns.forEach((insn, i) => {
    const bad = invalidReason(insn);
    if (bad) {
      problems.push({ code: 'FIT_INVALID', message: `invalid instruction ${describeInsn(insn, i)}: ${bad}`, ...at(i) });
      return;
    }
    const need = requiredIsa(insn);
    if (isaRank(need) > rank)
      problems.push({ code: 'FIT_ISA', message: `${describeInsn(insn, i)} needs ISA ${need}, target ${profile.name} has ${profile.isa}`, ...at(i) });
    if (isHelperCall(insn)) {
      const h = helperById(insn.imm);
      if (!h) problems.push({ code: 'FIT_HELPER', message: `call of unknown helper id ${insn.imm}`, ...at(i) });
      else if (!profile.helpers.includes(h.id))
        problems.push({ code: 'FIT_HELPER', message: `helper bpf_${h.name} (id ${h.id}) does not exist on target ${profile.name}`, ...at(i) });
      else if (progType && !profileAllowsHelper(profile, progType, h.name as HelperName, attachType))
        problems.push({ code: 'FIT_HELPER', message: `helper bpf_${h.name} is not available to ${progType} programs${attachType ? ` (${attachType})` : ''} on target ${profile.name}`, ...at(i) });
      if (insn.imm === TAIL_CALL_HELPER && tailCalls < 0) tailCalls = i;
    }
    if (isPseudoCall(insn)) {
      if (pseudoCalls < 0) pseudoCalls = i;
      if (!profile.bpfToBpfCalls) problems.push({ code: 'FIT_CALLS', message: `bpf-to-bpf call ${describeInsn(insn, i)}: target ${profile.name} has no bpf-to-bpf calls`, ...at(i) });
    }
    if (isKfuncCall(insn) && !atLeast(profile.kernel, '5.13'))
      problems.push({ code: 'FIT_KFUNC', message: `kfunc call ${describeInsn(insn, i)}: target ${profile.name} has no kfunc calls (5.13)`, ...at(i) });
  });
  if (pseudoCalls >= 0 && tailCalls >= 0 && !profile.tailCallsInSubprograms)
    problems.push({
      code: 'FIT_CALLS',
      message: `tail call at ${describeWhere(insns[tailCalls]!.meta?.source, tailCalls)} in a program with bpf-to-bpf calls: target ${profile.name} cannot mix them (5.10)`,
      ...at(pseudoCalls),
    });
  if (!profile.boundedLoops) {
    let flow;
    try {
      flow = buildFlow(program.name, insns);
    } catch (e) {
      if (e instanceof FitError) problems.push({ code: e.code, message: e.message, ...(e.index !== undefined ? at(e.index) : {}) });
      return problems;
    }
    for (const e of flow.backEdges)
      problems.push({
        code: 'FIT_LOOP',
        message: `backward jump ${describeInsn(insns[e.from]!, e.from)} to instruction #${e.to} (a loop): target ${profile.name} has no bounded loops (5.3)`,
        ...at(e.from),
      });
  }
  return problems;
}

/** Throws a FitError listing every problem when `program` does not fit `profile`. */
export function assertFitsProfile(program: CheckedProgram, profile: TargetProfile, options: CheckOptions = {}): void {
  const problems = checkAgainstProfile(program, profile, options);
  if (problems.length === 0) return;
  const first = problems[0]!;
  const lines = problems.map((p) => `  - ${p.message}${p.index !== undefined ? ` (at ${describeWhere(p.source, p.index)})` : ''}`);
  throw new FitError(first.code, program.name, `does not fit target ${profile.name}:\n${lines.join('\n')}`, first.index !== undefined ? { index: first.index, source: first.source } : undefined);
}
