/**
 * Shape check of an ObjectSpec that came from outside the type system (a
 * module's export, JSON, a JavaScript caller): every field the object layer
 * reads has the type it expects, so a malformed spec is one typed error naming
 * the field instead of a TypeError deep inside fitting or the ELF writer.
 */
import { ObjectError } from '../object/errors.js';
import type { ObjectSpec } from '../object/index.js';

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function bad(what: string, message: string): never {
  throw new ObjectError('OBJECT_INVALID', `${what}: ${message}`);
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

function checkInstructions(where: string, list: unknown): void {
  if (!Array.isArray(list)) bad(where, `instructions must be an array of instructions, got ${kind(list)}`);
  list.forEach((insn: unknown, i) => {
    if (!isObject(insn)) bad(where, `instruction ${i} must be an object, got ${kind(insn)}`);
    for (const f of ['opcode', 'dst', 'src', 'off', 'imm'] as const) {
      if (!Number.isInteger(insn[f])) bad(where, `instruction ${i}: ${f} must be an integer, got ${kind(insn[f])}`);
    }
  });
}

function checkNamed(where: string, x: unknown, fields: readonly string[]): asserts x is Record<string, unknown> {
  if (!isObject(x)) bad(where, `must be an object, got ${kind(x)}`);
  for (const f of fields) if (typeof x[f] !== 'string') bad(where, `${f} must be a string, got ${kind(x[f])}`);
}

function checkList(what: string, spec: Record<string, unknown>, field: string, each: (x: unknown, where: string) => void, required = false): void {
  const list = spec[field];
  if (list === undefined && !required) return;
  if (!Array.isArray(list)) bad(what, `${field} must be an array, got ${kind(list)}`);
  list.forEach((x: unknown, i) => each(x, `${what}: ${field}[${i}]${isObject(x) && typeof x.name === 'string' ? ` '${x.name}'` : ''}`));
}

/** Throws `OBJECT_INVALID` naming the first field of `spec` that does not have an ObjectSpec's shape. */
export function assertObjectSpecShape(spec: unknown, what = 'object spec'): asserts spec is ObjectSpec {
  if (!isObject(spec)) bad(what, `must be an object, got ${kind(spec)}`);
  if (typeof spec.license !== 'string') bad(what, `license must be a string, got ${kind(spec.license)}`);
  checkList(what, spec, 'programs', (p, where) => {
    checkNamed(where, p, ['name', 'section']);
    checkInstructions(where, p.instructions);
  }, true);
  checkList(what, spec, 'subprograms', (p, where) => {
    checkNamed(where, p, ['name']);
    checkInstructions(where, p.instructions);
  });
  checkList(what, spec, 'maps', (m, where) => {
    checkNamed(where, m, ['name']);
    if (typeof m.type !== 'string' && !Number.isInteger(m.type)) bad(where, `type must be a map type name or number, got ${kind(m.type)}`);
    if (!Number.isInteger(m.maxEntries)) bad(where, `maxEntries must be an integer, got ${kind(m.maxEntries)}`);
  });
  checkList(what, spec, 'globals', (g, where) => checkNamed(where, g, ['name', 'section']));
  checkList(what, spec, 'kfuncs', (k, where) => checkNamed(where, k, ['name']));
}
