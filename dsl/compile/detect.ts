/**
 * Recognising the plain-data inputs of the pipeline by shape: whole object specs,
 * assembler-made programs (`{ name, section, instructions }`) and map specs
 * (`{ name, type, maxEntries, … }`), as a module exports them.
 */
import type { MapSpec, ObjectSpec, ProgramSpec } from '../object/index.js';
import { isMapDef } from '../program/index.js';

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

/** Whether `x` is an {@link ObjectSpec} (has `programs` and a `license`). */
export function isObjectSpec(x: unknown): x is ObjectSpec {
  return isRecord(x) && Array.isArray(x.programs) && typeof x.license === 'string';
}

/** Whether `x` is a {@link ProgramSpec} (`name`, `section` and an `instructions` array). */
export function isProgramSpec(x: unknown): x is ProgramSpec {
  return isRecord(x) && typeof x.name === 'string' && typeof x.section === 'string' && Array.isArray(x.instructions);
}

/** Whether `x` is a {@link MapSpec} (not a DSL map declaration, which the DSL build collects itself). */
export function isMapSpec(x: unknown): x is MapSpec {
  return isRecord(x) && !isMapDef(x) && typeof x.name === 'string' && 'type' in x && typeof x.maxEntries === 'number' && !('instructions' in x);
}
