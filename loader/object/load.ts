/**
 * `loadObject(input, options)`: everything in a BPF object into the kernel, in
 * the order the kernel needs it —
 *
 * 1. the object's BTF (BPF_BTF_LOAD; sanitized for a target profile if one is
 *    given; if the kernel refuses it, the rest loads without BTF, as libbpf
 *    does, and `warnings` says so);
 * 2. maps: created, or reused from their pin (`pinning: 'byName'` →
 *    `<pinRoot>/<name>`) when type, key/value size, max entries and flags match;
 *    a mismatching pin is refused (`PinnedMapMismatchError`) or replaced;
 *    map-in-map slots filled from `values`;
 * 3. global data: one single-entry ARRAY per `.rodata*`/`.data*`/`.bss*`
 *    section holding the section bytes (`.rodata` created with RDONLY_PROG and
 *    frozen after it is written);
 * 4. programs: each entry function linked with the subprograms it calls, map
 *    and global references patched (lddw src 1 map fd / src 2 map value +
 *    offset), func/line info carried, loaded with the program type and
 *    expected attach type its section name implies;
 * 5. prog-array slots filled from `values` with the new programs.
 *
 * On any failure everything opened so far is closed and pins created by this
 * call are removed, so a failed load leaves nothing behind.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { btfTargetForKernel, decodeBtf, encodeBtfWithExt, sanitizeBtf, type BtfKind, type BtfTarget } from '../../dsl/btf/index.js';
import { readObject, layoutObject, type ObjectLayout } from '../../dsl/elf/index.js';
import { TsbpfError } from '../../dsl/errors.js';
import { sectionDef } from '../../dsl/kernel/sections.js';
import { parseKernelVersion } from '../../dsl/kernel/version.js';
import type { TargetProfile } from '../../dsl/kernel/profiles.js';
import type { MapDefinition, ObjectSpec } from '../../dsl/object/index.js';
import { BpfError } from '../errors.js';
import type { AnyCodec } from '../maps/codec.js';
import { BpfMap } from '../maps/map.js';
import type { MapBtf } from '../maps/spec.js';
import { Program } from '../programs/program.js';
import type { LineInfoRecord, MapFdRef } from '../programs/spec.js';
import { mapFreeze, mapUpdateElem } from '../sys/bpf.js';
import { LoadedBtf } from '../sys/btf.js';
import { MapFlag } from '../sys/constants.js';
import { LoadedObject, type MapOrigin } from './collection.js';
import { ObjectLoadError, PinnedMapMismatchError } from './errors.js';
import { linkProgram, prepareFunction, type LinkableFunction } from './link.js';
import { dataSections, objectMapDefinition, pinnedDifferences } from './maps.js';
import { globalMapName, objectNameFromPath, sanitizeKernelName } from './names.js';

/** Default root of `pinning: 'byName'` maps (libbpf's). */
export const DEFAULT_PIN_ROOT = '/sys/fs/bpf';

/** Options of {@link loadObject}. */
export interface LoadObjectOptions {
  /** Directory for maps pinned by name. Default `/sys/fs/bpf`. */
  readonly pinRoot?: string;
  /**
   * A pinned map whose shape differs from the object's definition: `'error'`
   * (default) throws `PinnedMapMismatchError`; `'replace'` unpins it and pins
   * a new map there (programs still using the old map keep it).
   */
  readonly onMismatch?: 'error' | 'replace';
  /** Target kernel profile: BTF is sanitized for its BTF kinds; no BTF/func info where it has none. */
  readonly profile?: TargetProfile;
  /** `false` loads without BTF at all (no func/line info, maps without BTF types). */
  readonly btf?: boolean;
  /** Object name used for global-data map names. Default: the file name up to its first dot, else `obj`. */
  readonly objectName?: string;
  /** Verifier log level for every program (default: no log unless a load fails). */
  readonly logLevel?: number;
  /** Initial verifier log size. */
  readonly logSize?: number;
}

/** Closeables and pins of a load in progress, undone together on failure. */
class Undo {
  readonly #closers: (() => void)[] = [];
  readonly #pins: string[] = [];
  own<T extends { close(): void }>(x: T): T {
    this.#closers.push(() => x.close());
    return x;
  }
  pinned(path: string): void {
    this.#pins.push(path);
  }
  run(): void {
    for (const c of this.#closers.reverse()) {
      try {
        c();
      } catch {
        // Keep undoing the rest.
      }
    }
    for (const p of this.#pins) rmSync(p, { force: true });
  }
}

/** Parses the input into a spec (and the object name it implies). */
function toSpec(input: ObjectSpec | Uint8Array | string, options: LoadObjectOptions): { spec: ObjectSpec; name: string } {
  if (typeof input === 'string') {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(input));
    } catch (e) {
      throw new ObjectLoadError('LOADER_OBJECT_FILE', `cannot read object file ${input}: ${(e as Error).message}`, { cause: e });
    }
    return { spec: readObject(bytes), name: options.objectName ?? objectNameFromPath(input) };
  }
  if (input instanceof Uint8Array) return { spec: readObject(input), name: options.objectName ?? 'obj' };
  return { spec: input, name: options.objectName ?? 'obj' };
}

/** The BTF capabilities a target profile claims. */
function btfTarget(profile: TargetProfile): BtfTarget {
  const [major, minor] = parseKernelVersion(profile.kernel);
  const byVersion = btfTargetForKernel(major, minor);
  return { ...byVersion, btfKinds: profile.btfKinds.map((k) => k.toLowerCase() as BtfKind) };
}

function kernelAtLeast(profile: TargetProfile, major: number, minor: number): boolean {
  const [a, b] = parseKernelVersion(profile.kernel);
  return a > major || (a === major && b >= minor);
}

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n >>> 0]).buffer);

/** Loads an object (spec, ELF bytes, or ELF file path); see the module comment. */
export function loadObject(input: ObjectSpec | Uint8Array | string, options: LoadObjectOptions = {}): LoadedObject {
  const { spec, name } = toSpec(input, options);
  let layout: ObjectLayout;
  try {
    layout = layoutObject(spec);
  } catch (e) {
    if (e instanceof TsbpfError) throw e;
    throw new ObjectLoadError('LOADER_OBJECT_INVALID', `object "${name}": ${(e as Error).message}`, { cause: e });
  }
  const undo = new Undo();
  try {
    return loadLaidOut(spec, layout, name, options, undo);
  } catch (e) {
    undo.run();
    throw e;
  }
}

function loadBtf(layout: ObjectLayout, options: LoadObjectOptions, warnings: string[], undo: Undo): LoadedBtf | undefined {
  const profile = options.profile;
  if (options.btf === false || (profile && !profile.btf)) return undefined;
  let blob = layout.btf;
  if (profile) {
    const sanitized = sanitizeBtf(layout.btfGraph, btfTarget(profile));
    if (sanitized.replaced.size) {
      blob = encodeBtfWithExt(sanitized.spec, layout.ext).btf;
      warnings.push(`BTF sanitized for kernel ${profile.kernel} (${[...sanitized.replaced].map(([k, n]) => `${n}× ${k}`).join(', ')})`);
    }
  }
  const reader = decodeBtf(blob).stringReader;
  try {
    return undo.own(LoadedBtf.load(blob, { strings: (s: string) => reader?.find(s) }));
  } catch (e) {
    if (!(e instanceof BpfError) || e.errno === 'EPERM') throw e;
    warnings.push(`the kernel rejected the object's BTF (${e.message}); loaded without BTF: no func/line info, maps without BTF key/value types`);
    return undefined;
  }
}

/** Creates a map; if the kernel refuses the BTF types, creates it without them (as libbpf does). */
function createMap(spec: MapDefinition, btf: MapBtf | undefined, warnings: string[]): BpfMap<AnyCodec, AnyCodec> {
  try {
    return BpfMap.create(spec, btf ? { btf } : {}) as BpfMap<AnyCodec, AnyCodec>;
  } catch (e) {
    if (!btf || !(e instanceof BpfError) || e.errno === 'EPERM') throw e;
    const map = BpfMap.create(spec) as BpfMap<AnyCodec, AnyCodec>;
    warnings.push(`map "${spec.name}": the kernel refused its BTF key/value types (${e.errno}); created without them`);
    return map;
  }
}

function loadLaidOut(spec: ObjectSpec, layout: ObjectLayout, name: string, options: LoadObjectOptions, undo: Undo): LoadedObject {
  const warnings: string[] = [];
  const btf = loadBtf(layout, options, warnings, undo);
  const withInfo = btf !== undefined && (options.profile?.funcInfo ?? true);
  const pinRoot = options.pinRoot ?? DEFAULT_PIN_ROOT;
  const onMismatch = options.onMismatch ?? 'error';

  // ---- maps ----------------------------------------------------------------------------------
  const maps = new Map<string, BpfMap<AnyCodec, AnyCodec>>();
  const origins = new Map<string, MapOrigin>();
  for (const m of spec.maps ?? []) {
    const ids = layout.maps.get(m.name);
    const mapBtf: MapBtf | undefined = btf && ids?.keyType !== undefined && ids.valueType !== undefined ? { fd: btf, keyTypeId: ids.keyType, valueTypeId: ids.valueType } : undefined;
    const lspec = objectMapDefinition(m, m.name, spec.btf);
    if (m.pinning !== 'byName') {
      maps.set(m.name, undo.own(createMap(lspec, mapBtf, warnings)));
      origins.set(m.name, 'created');
      continue;
    }
    const path = join(pinRoot, m.name);
    let pinned: BpfMap<AnyCodec, AnyCodec> | undefined;
    try {
      pinned = undo.own(BpfMap.fromPin(path, { name: m.name }));
    } catch (e) {
      if (!(e instanceof BpfError && e.errno === 'ENOENT')) throw e;
    }
    let origin: MapOrigin = 'created';
    if (pinned) {
      const differences = pinnedDifferences(pinned, lspec);
      if (differences.length === 0) {
        maps.set(m.name, pinned);
        origins.set(m.name, 'reused');
        continue;
      }
      if (onMismatch !== 'replace') throw new PinnedMapMismatchError(m.name, path, differences);
      pinned.close();
      rmSync(path, { force: true });
      origin = 'replaced';
    }
    const map = undo.own(createMap(lspec, mapBtf, warnings));
    map.pin(path);
    undo.pinned(path);
    maps.set(m.name, map);
    origins.set(m.name, origin);
  }
  // Map-in-map slots (only in maps created now: a reused map keeps its contents).
  for (const m of spec.maps ?? []) {
    if (!m.innerMap || !m.values?.length || origins.get(m.name) === 'reused') continue;
    const outer = maps.get(m.name)!;
    m.values.forEach((inner, slot) => {
      if (inner === null || inner === undefined) return;
      const target = maps.get(inner);
      if (!target) throw new ObjectLoadError('LOADER_OBJECT_INVALID', `map '${m.name}' slot ${slot}: no map named '${inner}' in this object`);
      mapUpdateElem(outer.fd, u32(slot), u32(target.fd), 0, { subject: `setting slot ${slot} of map "${m.name}" to map "${inner}"` });
    });
  }

  // ---- global data -----------------------------------------------------------------------------
  const globals: Record<string, { map: MapFdRef; offset: number }> = {};
  const mmapable = !options.profile || kernelAtLeast(options.profile, 5, 5);
  const data = dataSections(layout.datasecs, layout.btfGraph, spec.globals ?? []);
  if (data.length && options.profile && !options.profile.globalData)
    throw new ObjectLoadError(
      'LOADER_OBJECT_UNSUPPORTED',
      `object "${name}" has global data (${data.map((d) => d.section).join(', ')}), which kernel ${options.profile.kernel} (profile ${options.profile.name}) cannot load: it needs 5.2`,
    );
  for (const d of data) {
    const map = undo.own(
      createMap(
        {
          type: 'ARRAY',
          name: globalMapName(sanitizeKernelName(name), d.section),
          key: 4,
          value: d.bytes.length,
          maxEntries: 1,
          // MMAPABLE (5.5+) as libbpf sets it, so user space may mmap the globals.
          flags: (d.kind === 'rodata' ? MapFlag.RDONLY_PROG : 0) | (mmapable ? MapFlag.MMAPABLE : 0),
        },
        btf ? { fd: btf, keyTypeId: 0, valueTypeId: d.datasec } : undefined,
        warnings,
      ),
    );
    if (d.kind !== 'bss') mapUpdateElem(map.fd, u32(0), d.bytes, 0, { subject: `initialising ${d.section}` });
    if (d.kind === 'rodata') mapFreeze(map.fd, { subject: `freezing ${d.section}` });
    maps.set(d.section, map);
    origins.set(d.section, 'created');
    globals[d.section] = { map, offset: 0 };
    for (const [variable, offset] of d.offsets) globals[variable] = { map, offset };
  }

  // ---- programs ---------------------------------------------------------------------------------
  const placed = new Map(layout.functions.map((f) => [f.name, f]));
  const subprograms = new Map<string, LinkableFunction>();
  for (const s of spec.subprograms ?? []) subprograms.set(s.name, prepareFunction(s.name, '.text', placed.get(s.name)!.offset, s.instructions));
  const mapRefs = new Map<string, MapFdRef>(maps);
  const programs = new Map<string, Program>();
  const sections = new Map<string, string>();
  for (const p of spec.programs) {
    if (p.type === undefined) {
      try {
        sectionDef(p.section);
      } catch (e) {
        throw new ObjectLoadError('LOADER_OBJECT_SECTION', `program '${p.name}': ${(e as Error).message}`, { cause: e });
      }
    }
    const linked = linkProgram(prepareFunction(p.name, p.section, placed.get(p.name)!.offset, p.instructions), subprograms, withInfo ? layout.ext : undefined);
    const program = undo.own(
      Program.load(
        { ...p, instructions: linked.insns },
        {
          maps: mapRefs,
          globals,
          license: spec.license,
          ...(spec.kernelVersion !== undefined ? { kernVersion: spec.kernelVersion } : {}),
          ...(withInfo && btf ? { btf, funcInfo: linked.funcInfo, lineInfo: linked.lineInfo as LineInfoRecord[] } : {}),
          ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
          ...(options.logSize !== undefined ? { logSize: options.logSize } : {}),
        },
      ),
    );
    programs.set(p.name, program);
    sections.set(p.name, p.section);
  }

  // ---- prog arrays -------------------------------------------------------------------------------
  for (const m of spec.maps ?? []) {
    if (m.innerMap || !m.values?.length) continue;
    const array = maps.get(m.name)!;
    m.values.forEach((progName, slot) => {
      if (progName === null || progName === undefined) return;
      const prog = programs.get(progName);
      if (!prog) throw new ObjectLoadError('LOADER_OBJECT_INVALID', `map '${m.name}' slot ${slot}: no program named '${progName}' in this object`);
      mapUpdateElem(array.fd, u32(slot), u32(prog.fd), 0, { subject: `setting slot ${slot} of prog array "${m.name}" to program "${progName}"` });
    });
  }

  return new LoadedObject({ name, maps, mapOrigins: origins, programs, sections, btf, warnings });
}
