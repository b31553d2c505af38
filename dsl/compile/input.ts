/**
 * The unfitted object an input describes: DSL program declarations built for the
 * profile (oversize programs allowed — fitting splits them), plus object specs,
 * assembler programs and map specs given as plain data, merged in order.
 */
import type { Node } from '../ir/index.js';
import type { TargetProfile } from '../kernel/index.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../object/index.js';
import { build, programsOf, type BuildOptions } from '../program/index.js';
import { isMapSpec, isObjectSpec, isProgramSpec } from './detect.js';
import { BuildError } from './errors.js';
import { mergeObjects } from './merge.js';
import { assertObjectSpecShape } from '../elf/spec-shape.js';

/** The raw object of an input and what the DSL build saw of it. */
export interface InputObject {
  /** Merged, not yet fitted (DSL programs may exceed the profile's instruction limit). */
  readonly object: ObjectSpec;
  /** `loop()` calls per DSL program (nested ones included). */
  readonly sourceLoops: Readonly<Record<string, number>>;
}

/** Options of {@link objectFromInput}: the DSL build's, minus the target. */
export type InputOptions = Omit<BuildOptions, 'target' | 'skipSizeCheck'>;

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isSingle = (x: unknown) => programsOf(x).length === 1 && !Array.isArray(x) && (x as { kind?: unknown }).kind === 'program';

/** The values an input lists: an array's items, one declaration or spec, or a module namespace's exports (`default` last). */
function valuesOf(input: unknown): unknown[] {
  if (Array.isArray(input)) return input;
  if (isSingle(input) || isObjectSpec(input) || isProgramSpec(input)) return [input];
  if (!isRecord(input)) return [];
  return Object.keys(input)
    .sort((a, b) => (a === 'default' ? 1 : b === 'default' ? -1 : 0))
    .map((k) => input[k]);
}

/**
 * Builds the unfitted object of `input` for `profile`. `input` is a module
 * namespace (`import * as m`), a list of, or one, DSL program declaration(s),
 * ObjectSpec(s), assembler program specs and map specs. `what` names it in errors.
 */
export function objectFromInput(input: unknown, profile: TargetProfile, options: InputOptions = {}, what = 'input'): InputObject {
  const parts: ObjectSpec[] = [];
  const sourceLoops: Record<string, number> = {};
  if (programsOf(input).length) {
    const result = build(input, { ...options, target: profile, skipSizeCheck: true });
    parts.push(result.object);
    for (const p of result.object.programs) sourceLoops[p.name] = countLoops(result.ir.get(p.name)?.body ?? []);
  }
  const programs: ProgramSpec[] = [];
  const maps: MapSpec[] = [];
  for (const v of valuesOf(input)) {
    if (isObjectSpec(v)) parts.push((assertObjectSpecShape(v, `${what}: exported object`), v));
    else if (isProgramSpec(v)) programs.push(v);
    else if (isMapSpec(v)) maps.push(v);
  }
  const nsLicense = !Array.isArray(input) && isRecord(input) && typeof input.license === 'string' ? input.license : undefined;
  const license = options.license ?? nsLicense ?? 'GPL';
  if (programs.length) parts.push({ license, programs, ...(maps.length ? { maps } : {}) });
  else if (maps.length) parts.push({ license, programs: [], maps });
  if (parts.length === 0 || parts.every((p) => p.programs.length === 0))
    throw new BuildError('BUILD_EMPTY', `${what} exports no programs (DSL program declarations, ObjectSpecs or { name, section, instructions } values)`);
  return { object: mergeObjects(parts, what), sourceLoops };
}

/** `loop()` nodes in an IR body (nested ones included). */
export function countLoops(body: readonly Node[]): number {
  let n = 0;
  for (const node of body) {
    if (node.op === 'loop') n += 1 + countLoops(node.body);
    else if (node.op === 'if') n += countLoops(node.then) + countLoops(node.else);
  }
  return n;
}
