/** Concatenating object specs into one (what a module exporting several parts describes). */
import type { MapSpec, ObjectSpec, ProgramSpec } from '../object/index.js';
import { BuildError } from './errors.js';

/**
 * Concatenates object specs in order; names must not clash (the same map or
 * program object given twice counts once). At most one part may carry its own BTF.
 * `what` names the input in errors.
 */
export function mergeObjects(parts: readonly ObjectSpec[], what: string): ObjectSpec {
  if (parts.length === 1) return parts[0]!;
  const withBtf = parts.filter((p) => p.btf);
  if (withBtf.length > 1) throw new BuildError('BUILD_MERGE', `${what}: more than one exported object carries its own BTF; export one object`);
  const seen = new Map<string, unknown>();
  const add = <T extends { name: string }>(kind: string, list: readonly T[] | undefined, out: T[]) => {
    for (const x of list ?? []) {
      const prev = seen.get(`${kind}:${x.name}`);
      if (prev === x) continue;
      if (prev !== undefined) throw new BuildError('BUILD_MERGE', `${what}: two different ${kind}s are named '${x.name}'`);
      seen.set(`${kind}:${x.name}`, x);
      out.push(x);
    }
  };
  const programs: ProgramSpec[] = [];
  const maps: MapSpec[] = [];
  const subprograms: NonNullable<ObjectSpec['subprograms']>[number][] = [];
  const globals: NonNullable<ObjectSpec['globals']>[number][] = [];
  for (const p of parts) {
    add('program', p.programs, programs);
    add('map', p.maps, maps);
    add('subprogram', p.subprograms, subprograms);
    add('global', p.globals, globals);
  }
  const btf = withBtf[0]?.btf;
  return {
    license: parts[0]!.license,
    programs,
    ...(maps.length ? { maps } : {}),
    ...(subprograms.length ? { subprograms } : {}),
    ...(globals.length ? { globals } : {}),
    ...(btf ? { btf } : {}),
  };
}
