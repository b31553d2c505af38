/**
 * `fitObject`: the whole-object step of `tsbpf build`. Every program (with the
 * subprograms it calls) is checked against the target profile; a program over the
 * instruction limit is split into tail-called pieces, adding the generated
 * PROG_ARRAY and scratch maps to the object. Pure: same object + profile ⇒ same
 * result.
 */
import { CallKind, Class, JmpOp, LDDW, PseudoSource, slots, type Instruction } from '../isa/index.js';
import { BpfFunc, type TargetProfile } from '../kernel/index.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../object/index.js';
import { assertFitsProfile } from './check.js';
import { FitError } from './errors.js';
import { buildFlow } from './flow.js';
import { tighten } from './tighten.js';
import { splitProgram, type SplitOptions, type SplitReport } from './split.js';

/** What fitting did to one program (shown by `--explain`). */
export interface ProgramFitReport {
  readonly program: string;
  readonly section: string;
  readonly target: string;
  /**
   * Instruction slots (8-byte units) of the program with the subprograms it
   * calls: what the kernel's `insn_cnt`, its 4,096 / 1,000,000 limit and
   * `bpf_prog_info.xlated_prog_len / 8` count. An `lddw` is one instruction but
   * two slots. Same value as {@link slots}.
   */
  readonly insns: number;
  /** Instruction slots (the kernel's unit; equals {@link insns}). */
  readonly slots: number;
  /** Instructions (an `lddw` counts once), as `dump` lists them. */
  readonly instructions: number;
  /** The target's limit, in slots. */
  readonly limit: number;
  /** Real loops (backward jumps) left in the code. */
  readonly loops: number;
  /** Loops lowered to `bpf_loop` helper calls (program and subprograms). */
  readonly bpfLoops: number;
  /** Subprograms linked into it. */
  readonly subprograms: readonly string[];
  /** The split (one piece when it fits as is). */
  readonly split: SplitReport;
}

/** Options of {@link fitObject}. */
export interface FitOptions {
  /** Per-program split options (e.g. the fall-through return value). */
  readonly split?: (program: ProgramSpec) => SplitOptions | undefined;
  /** Run the size peepholes of {@link tighten} first (default true). */
  readonly tighten?: boolean;
}

const callName = (i: Instruction): string | undefined => {
  const isCall = (i.opcode === (Class.JMP | JmpOp.CALL) && i.src === CallKind.PSEUDO_CALL) || (i.opcode === LDDW && i.src === PseudoSource.FUNC);
  return isCall && i.meta?.ref?.kind === 'call' ? i.meta.ref.name : undefined;
};

const countSlots = (insns: readonly Instruction[]) => insns.reduce((n, i) => n + slots(i), 0);

/** Fits every program of `spec` to `profile`; throws FitError when one cannot be made to fit. */
export function fitObject(input: ObjectSpec, profile: TargetProfile, options: FitOptions = {}): { spec: ObjectSpec; reports: ProgramFitReport[] } {
  const spec = options.tighten === false ? input : tightenObject(input, profile);
  const subs = new Map((spec.subprograms ?? []).map((s) => [s.name, s]));
  const programs: ProgramSpec[] = [];
  const maps: MapSpec[] = [...(spec.maps ?? [])];
  const taken = new Set<string>([...maps.map((m) => m.name), ...spec.programs.map((p) => p.name)]);
  const reports: ProgramFitReport[] = [];
  for (const program of spec.programs) {
    // Subprograms reachable from the program, in first-call order.
    const reach: string[] = [];
    const visit = (insns: readonly Instruction[]) => {
      for (const i of insns) {
        const n = callName(i);
        if (n && subs.has(n) && !reach.includes(n)) {
          reach.push(n);
          visit(subs.get(n)!.instructions);
        }
      }
    };
    visit(program.instructions);
    const extra = reach.reduce((n, s) => n + countSlots(subs.get(s)!.instructions), 0);
    assertFitsProfile(program, profile, { skipSize: true });
    for (const s of reach) assertFitsProfile({ name: s, section: program.section, instructions: subs.get(s)!.instructions }, profile, { skipSize: true });
    const own = countSlots(program.instructions);
    const limit = profile.maxInsns;
    const loops = buildFlow(program.name, program.instructions).backEdges.length + reach.reduce((n, s) => n + buildFlow(s, subs.get(s)!.instructions).backEdges.length, 0);
    let mapPrefix = program.name.slice(0, 8);
    for (let k = 1; taken.has(`${mapPrefix}_fjmp`) || taken.has(`${mapPrefix}_fscr`); k++) mapPrefix = `${program.name.slice(0, 6)}${k}`;
    const user = options.split?.(program) ?? {};
    if (own + extra > limit && extra > 0)
      throw new FitError('FIT_NEEDS_INLINE', program.name, `${own + extra} instruction slots with its subprograms (${reach.join(', ')}), above the ${limit} target ${profile.name} allows; splitting needs the subprograms inlined`);
    const r = splitProgram(program, profile, { mapPrefix, ...user });
    for (const p of r.programs) {
      // Safety net: whatever the split produced must itself fit (size, ISA, loops, helpers).
      if (r.programs.length > 1) assertFitsProfile(p, profile, { extraSlots: 0 });
      if (p.name !== program.name && taken.has(p.name)) throw new FitError('FIT_NAME_CLASH', program.name, `split piece name '${p.name}' is already used in the object`);
      taken.add(p.name);
    }
    for (const m of r.maps) taken.add(m.name);
    programs.push(...r.programs);
    maps.push(...r.maps);
    const isBpfLoop = (i: Instruction) => i.opcode === (Class.JMP | JmpOp.CALL) && i.src === CallKind.HELPER && i.imm === BpfFunc.loop;
    const bpfLoops = [program.instructions, ...reach.map((s) => subs.get(s)!.instructions)].reduce((n, l) => n + l.filter(isBpfLoop).length, 0);
    const instructions = program.instructions.length + reach.reduce((n, s) => n + subs.get(s)!.instructions.length, 0);
    reports.push({ program: program.name, section: program.section, target: profile.name, insns: own + extra, slots: own + extra, instructions, limit, loops, bpfLoops, subprograms: reach, split: r.report });
  }
  const out: ObjectSpec = { ...spec, programs, ...(maps.length ? { maps } : {}) };
  return { spec: out, reports };
}

/** The object with {@link tighten} applied to every program and subprogram (unchanged ones keep their identity). */
export function tightenObject(spec: ObjectSpec, profile: TargetProfile): ObjectSpec {
  const programs = spec.programs.map((p) => {
    const insns = tighten(p.name, p.instructions, profile.isa);
    return insns === p.instructions ? p : { ...p, instructions: insns };
  });
  const subprograms = spec.subprograms?.map((p) => {
    const insns = tighten(p.name, p.instructions, profile.isa);
    return insns === p.instructions ? p : { ...p, instructions: insns };
  });
  return { ...spec, programs, ...(subprograms ? { subprograms } : {}) };
}

/** Human-readable `--explain` text for fit reports. */
export function formatFitReports(reports: readonly ProgramFitReport[], source?: { readonly loops: Readonly<Record<string, number>>; readonly unrolled: boolean }): string {
  const lines: string[] = [];
  for (const r of reports) {
    const s = r.split;
    lines.push(`program ${r.program} (section ${r.section}) — target ${r.target}`);
    const lddw = r.insns !== r.instructions ? `, ${r.insns - r.instructions} lddw counting 2` : '';
    lines.push(`  instructions: ${r.instructions} in ${r.insns} slots${lddw} (limit ${r.limit} slots)${r.subprograms.length ? `, with subprograms ${r.subprograms.join(', ')}` : ''}`);
    const inSource = source?.loops[r.program];
    const origin = inSource ? `; ${inSource} loop() in the source, ${source!.unrolled ? 'unrolled' : 'kept as bounded loops'}` : '';
    lines.push(`  loops: ${r.loops} real (backward jumps)${r.bpfLoops ? `, ${r.bpfLoops} bpf_loop call${r.bpfLoops > 1 ? 's' : ''}` : ''}${origin}`);
    if (s.pieces.length === 1) {
      lines.push('  split: no (fits in one program)');
      continue;
    }
    const via = s.carrier === 'cb' ? 'skb->cb' : `per-CPU ${s.scratchMap} (${s.scratchValueSize} bytes)`;
    lines.push(`  split: ${s.pieces.length} pieces chained by tail calls through ${s.progArray}; values carried in ${via}; a failed tail call returns ${s.defaultReturn}`);
    s.pieces.forEach((p, k) => lines.push(`    piece ${k}: ${p.name} — ${p.insns} slots (original #${p.start}..#${p.end - 1})`));
    for (const c of s.cuts) {
      const where = c.source ? `${c.source.file}:${c.source.line}:${c.source.column}` : `instruction #${c.resumeAt}`;
      lines.push(`    resume ${c.id} → piece ${c.piece} at #${c.resumeAt} (${where}): ${c.carried.length ? c.carried.join(', ') : 'nothing carried'}`);
    }
  }
  return lines.join('\n');
}
