/**
 * `tsbpf build MODULE.ts [-o OUT.o] [--target NAME|host|PROFILE.json] [--explain] [--json]`:
 * loads a TypeScript module directly (through tsx; no compile step for the user),
 * builds every program it exports for the target profile, fits each program to
 * the profile (checks, automatic tail-call splitting) and writes one ELF object.
 *
 * A module may export DSL program declarations (`program(...)`, built with the
 * DSL's `buildObject`), whole `ObjectSpec`s, or assembler-made programs as plain
 * `{ name, section, instructions }` values together with `{ name, type,
 * maxEntries, … }` map specs. Same module + same target ⇒ the same bytes.
 *
 * `--target host` uses `tsbpf-host-profile.json` in the current directory when
 * it exists (written by `tsbpf probe --profile`), else a profile derived from
 * `uname -r`; building never probes the kernel itself.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { TsbpfError } from '../../dsl/errors.js';
import { writeObject } from '../../dsl/elf/index.js';
import { fitObject, formatFitReports, type ProgramFitReport } from '../../dsl/fit/index.js';
import { hostProfile, profileByName, profileFromJson, profileNames, type TargetProfile } from '../../dsl/kernel/index.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../../dsl/object/index.js';
import { build, isMapDef, programsOf } from '../../dsl/program/index.js';
import type { Node } from '../../dsl/ir/index.js';
import { importWithTsx } from '../../dsl/compile/import-tsx.js';

/** Errors of `tsbpf build` itself (bad module, bad target). */
export class BuildError extends TsbpfError {}

/** File `--target host` reads when present (what `tsbpf probe --profile > FILE` writes). */
export const HOST_PROFILE_PATH = 'tsbpf-host-profile.json';

/** A profile from a `--target` value: a profile name, `host`, or a profile JSON file. */
export function resolveTarget(target: string, cwd: string = process.cwd()): TargetProfile {
  if (target === 'host') {
    const file = resolve(cwd, HOST_PROFILE_PATH);
    return existsSync(file) ? profileFromJson(readFileSync(file, 'utf8')) : hostProfile();
  }
  if (profileNames().includes(target)) return profileByName(target);
  if (target.endsWith('.json') || existsSync(resolve(cwd, target))) {
    let text: string;
    try {
      text = readFileSync(resolve(cwd, target), 'utf8');
    } catch (e) {
      throw new BuildError('BUILD_TARGET', `cannot read target profile ${target}: ${(e as Error).message}`);
    }
    return profileFromJson(text);
  }
  throw new BuildError('BUILD_TARGET', `unknown target '${target}'; use one of ${profileNames().join(', ')}, host, or a profile JSON file`);
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isObjectSpec = (x: unknown): x is ObjectSpec => isObject(x) && Array.isArray(x.programs) && typeof x.license === 'string';
const isProgramSpec = (x: unknown): x is ProgramSpec =>
  isObject(x) && typeof x.name === 'string' && typeof x.section === 'string' && Array.isArray(x.instructions);
const isMapSpec = (x: unknown): x is MapSpec =>
  isObject(x) && !isMapDef(x) && typeof x.name === 'string' && 'type' in x && typeof x.maxEntries === 'number' && !('instructions' in x);

/**
 * The unfitted object a module describes for `profile`: its DSL programs built
 * with the size check relaxed (splitting comes after), plus any exported object
 * specs, programs and maps, in export order.
 */
export function objectFromModule(ns: Record<string, unknown>, profile: TargetProfile, what = 'module', sourceLoops?: Record<string, number>): ObjectSpec {
  const parts: ObjectSpec[] = [];
  const values = Object.keys(ns)
    .sort((a, b) => (a === 'default' ? 1 : b === 'default' ? -1 : 0))
    .map((k) => ns[k]);
  if (programsOf(ns).length) {
    // Lowering refuses programs over the limit; fitting splits them instead.
    const relaxed: TargetProfile = { ...profile, maxInsns: Math.max(profile.maxInsns, 1 << 30) };
    const result = build(ns, { target: relaxed });
    parts.push(result.object);
    if (sourceLoops) for (const p of result.object.programs) sourceLoops[p.name] = countLoops(result.ir.get(p.name)?.body ?? []);
  }
  const programs: ProgramSpec[] = [];
  const maps: MapSpec[] = [];
  for (const v of values) {
    if (isObjectSpec(v)) parts.push(v);
    else if (isProgramSpec(v)) programs.push(v);
    else if (isMapSpec(v)) maps.push(v);
  }
  if (programs.length) parts.push({ license: typeof ns.license === 'string' ? ns.license : 'GPL', programs, ...(maps.length ? { maps } : {}) });
  else if (maps.length) parts.push({ license: 'GPL', programs: [], maps });
  if (parts.length === 0 || parts.every((p) => p.programs.length === 0))
    throw new BuildError('BUILD_EMPTY', `${what} exports no programs (DSL program declarations, ObjectSpecs or { name, section, instructions } values)`);
  return mergeObjects(parts, what);
}

/** `loop()` nodes in an IR body (nested ones included). */
function countLoops(body: readonly Node[]): number {
  let n = 0;
  for (const node of body) {
    if (node.op === 'loop') n += 1 + countLoops(node.body);
    else if (node.op === 'if') n += countLoops(node.then) + countLoops(node.else);
  }
  return n;
}

/** Concatenates object specs; names must not clash (the same map object exported twice counts once). */
function mergeObjects(parts: ObjectSpec[], what: string): ObjectSpec {
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

/** Imports a TypeScript (or JavaScript) module through tsx. */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new BuildError('BUILD_MODULE', `module ${path} does not exist`);
  try {
    return await importWithTsx(abs);
  } catch (e) {
    if (e instanceof TsbpfError) throw e;
    throw new BuildError('BUILD_MODULE', `cannot load ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Result of building a module. */
export interface BuiltModule {
  readonly profile: TargetProfile;
  /** The fitted object (split programs and generated maps included). */
  readonly object: ObjectSpec;
  readonly elf: Uint8Array;
  readonly reports: readonly ProgramFitReport[];
  /** `loop()` calls per DSL program (unrolled when the profile has no bounded loops). */
  readonly sourceLoops: Readonly<Record<string, number>>;
}

/** Builds a loaded module namespace for a target: DSL build, fit, ELF. */
export function buildNamespace(ns: Record<string, unknown>, profile: TargetProfile, what = 'module'): BuiltModule {
  const sourceLoops: Record<string, number> = {};
  const raw = objectFromModule(ns, profile, what, sourceLoops);
  const { spec, reports } = fitObject(raw, profile);
  return { profile, object: spec, elf: writeObject(spec), reports, sourceLoops };
}

/** Loads `path` and builds it for `target` (a name, `host`, a JSON file, or a profile). */
export async function buildModule(path: string, target: string | TargetProfile = 'latest'): Promise<BuiltModule> {
  const profile = typeof target === 'string' ? resolveTarget(target) : target;
  return buildNamespace(await importModule(path), profile, path);
}

/** Options of the command. */
interface BuildCliOptions {
  readonly output?: string;
  readonly target: string;
  readonly explain?: boolean;
  readonly json?: boolean;
  /** false with --no-typecheck. */
  readonly typecheck?: boolean;
}

/** Registers `tsbpf build`. */
export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('build the BPF programs a TypeScript module exports into an ELF object for a target kernel')
    .argument('<module>', 'TypeScript module exporting programs (DSL declarations, ObjectSpecs or assembler programs)')
    .option('-o, --output <file>', 'object file to write (default: MODULE name with .o, in the current directory)')
    .option('-t, --target <target>', `target kernel: ${profileNames().join(', ')}, host, or a profile JSON file`, 'latest')
    .option('--explain', 'print per program: target, instruction count vs limit, loops, split report')
    .option('--json', 'print the build report as JSON')
    .option('--no-typecheck', 'skip type-checking the module with the TypeScript compiler')
    .action(async (module: string, opts: BuildCliOptions) => {
      if (opts.typecheck !== false) await (await import('../typecheck.js')).typecheckModule(module);
      const built = await buildModule(module, opts.target);
      const out = opts.output ?? `${basename(module, extname(module))}.o`;
      writeFileSync(out, built.elf);
      if (opts.json) {
        const programs = built.reports.map((r) => ({ ...r, sourceLoops: built.sourceLoops[r.program] ?? 0, loopsUnrolled: !built.profile.boundedLoops }));
        const report = { module, output: out, target: built.profile.name, bytes: built.elf.length, programs };
        process.stdout.write(`${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
      } else if (opts.explain) {
        process.stdout.write(`${formatFitReports(built.reports, { loops: built.sourceLoops, unrolled: !built.profile.boundedLoops })}\nwrote ${out} (${built.elf.length} bytes)\n`);
      } else {
        const pieces = built.object.programs.length;
        process.stdout.write(`wrote ${out}: ${built.reports.length} program(s)${pieces !== built.reports.length ? ` in ${pieces} pieces` : ''} for target ${built.profile.name}\n`);
      }
    });
}
