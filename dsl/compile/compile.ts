/**
 * `compile`: the one build pipeline — DSL build → lowering → fitting to the
 * target (profile checks, size peepholes, tail-call splitting when a program is
 * over the limit) → ELF. `tsbpf build`, the bench and the tests all go through it.
 * Pure and deterministic: same input + same profile ⇒ byte-identical ELF.
 */
import { writeObject } from '../elf/index.js';
import { FitError, fitObject, type FitOptions, type ProgramFitReport } from '../fit/index.js';
import type { TargetProfile } from '../kernel/index.js';
import type { ObjectSpec } from '../object/index.js';
import { objectFromInput, type InputOptions } from './input.js';
import { resolveTarget } from './target.js';

/** Options of {@link compile}. */
export interface CompileOptions extends InputOptions, FitOptions {
  /** Target: a profile, a profile name (`'4.19'`, `'latest'`…), `host`, or a profile JSON file. Default `latest`. */
  readonly target?: string | TargetProfile;
  /** Directory `host` and relative profile files are looked up in (default: the working directory). */
  readonly cwd?: string;
  /** Name of the input in error messages (e.g. the module path). */
  readonly what?: string;
}

/** What {@link compile} produced. */
export interface CompileResult {
  readonly profile: TargetProfile;
  /** The fitted object (split programs and generated maps included), what `elf` serialises. */
  readonly object: ObjectSpec;
  readonly elf: Uint8Array;
  /** Per entry program: instruction count vs limit, loops, subprograms, split. */
  readonly reports: readonly ProgramFitReport[];
  /** `loop()` calls per DSL program (unrolled when the profile has no bounded loops). */
  readonly sourceLoops: Readonly<Record<string, number>>;
}

/**
 * Compiles `input` for a target: a module namespace (`import * as m`), a list of,
 * or one, DSL program declaration(s), or ObjectSpec(s) / assembler program specs
 * (`{ name, section, instructions }`) with map specs. Throws a typed error
 * (DslError, FitError, BuildError, ObjectError) naming what does not fit.
 */
export function compile(input: unknown, options: CompileOptions = {}): CompileResult {
  const { target = 'latest', cwd, what, split, tighten, ...build } = options;
  const profile = resolveTarget(target, cwd);
  const fit = { ...(split ? { split } : {}), ...(tighten !== undefined ? { tighten } : {}) };
  let raw = objectFromInput(input, profile, build, what);
  let fitted;
  try {
    fitted = fitObject(raw.object, profile, fit);
  } catch (e) {
    // A program too big for the target that makes bpf-to-bpf calls can only be
    // split once its calls are inlined: build the same source again that way.
    if (!(e instanceof FitError && e.code === 'FIT_NEEDS_INLINE') || build.inline !== undefined) throw e;
    raw = objectFromInput(input, profile, { ...build, inline: true }, what);
    fitted = fitObject(raw.object, profile, fit);
  }
  const { spec, reports } = fitted;
  return { profile, object: spec, elf: writeObject(spec), reports, sourceLoops: raw.sourceLoops };
}
