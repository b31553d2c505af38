/**
 * Maps of an object: the loader-level MapSpec for each definition, the
 * global-data maps (`.rodata`/`.data`/`.bss` as one-entry arrays), and the
 * pinned-map reuse check (type, key/value size, max entries and flags compared
 * with what BPF_OBJ_GET_INFO_BY_FD reports).
 */
import type { Btf, BtfTypeId } from '../../dsl/btf/index.js';
import { dataSectionKind } from '../../dsl/elf/index.js';
import { mapTypeNumber, typeSize, type GlobalSpec, type MapDefinition } from '../../dsl/object/index.js';
import { defaultFlags } from '../maps/kinds.js';
import type { MapBtf, MapSpec } from '../maps/spec.js';
import { MapFlag, mapTypeName, type MapTypeName } from '../sys/constants.js';
import type { MapInfo } from '../sys/info.js';
import { ObjectLoadError, type PinnedMapDifference } from './errors.js';

/** The loader MapSpec of an object's map definition (inner templates included, without BTF). */
export function loaderMapSpec(def: MapDefinition, name: string | undefined, objectBtf: Btf | undefined, btf?: MapBtf): MapSpec {
  const what = `map '${name ?? '(inner)'}'`;
  let type: MapTypeName;
  try {
    type = mapTypeName(mapTypeNumber(def, what));
  } catch (e) {
    throw new ObjectLoadError('LOADER_OBJECT_INVALID', (e as Error).message, { cause: e });
  }
  return {
    type,
    ...(name !== undefined ? { name } : {}),
    ...(def.key !== undefined ? { keySize: typeSize(def.key, objectBtf, `${what} key`) } : {}),
    ...(def.value !== undefined ? { valueSize: typeSize(def.value, objectBtf, `${what} value`) } : {}),
    maxEntries: def.maxEntries,
    ...(def.flags !== undefined ? { flags: def.flags } : {}),
    ...(def.numaNode !== undefined ? { numaNode: def.numaNode } : {}),
    ...(def.innerMap ? { innerMap: loaderMapSpec(def.innerMap, undefined, objectBtf) } : {}),
    ...(btf ? { btf } : {}),
  };
}

/** Flags a map created from `spec` ends up with (defaults and NUMA_NODE included). */
export function effectiveFlags(spec: MapSpec): number {
  let flags = spec.flags ?? defaultFlags(spec.type);
  if (spec.numaNode !== undefined) flags |= MapFlag.NUMA_NODE;
  return flags;
}

/**
 * Fields in which the open map `map` (a pinned one) differs from `spec`. Key
 * and value sizes the spec leaves to the loader's defaults are not compared.
 */
export function pinnedDifferences(map: { info(): MapInfo }, spec: MapSpec): PinnedMapDifference[] {
  const info = map.info();
  const out: PinnedMapDifference[] = [];
  if (mapTypeName(info.type) !== spec.type) out.push({ field: 'type', pinned: mapTypeName(info.type), spec: spec.type });
  if (spec.keySize !== undefined && info.keySize !== spec.keySize) out.push({ field: 'key_size', pinned: info.keySize, spec: spec.keySize });
  if (spec.valueSize !== undefined && info.valueSize !== spec.valueSize) out.push({ field: 'value_size', pinned: info.valueSize, spec: spec.valueSize });
  if (info.maxEntries !== spec.maxEntries) out.push({ field: 'max_entries', pinned: info.maxEntries, spec: spec.maxEntries });
  // RDONLY/WRONLY describe how an fd was opened, not the map.
  const mask = ~(MapFlag.RDONLY | MapFlag.WRONLY);
  const want = effectiveFlags(spec);
  if ((info.flags & mask) !== (want & mask)) out.push({ field: 'map_flags', pinned: `0x${info.flags.toString(16)}`, spec: `0x${want.toString(16)}` });
  return out;
}

/** A global-data section to turn into a map. */
export interface DataSection {
  readonly section: string;
  readonly kind: 'rodata' | 'data' | 'bss';
  /** Initial value (the whole section). */
  readonly bytes: Uint8Array;
  /** Its DATASEC type id in the object's BTF. */
  readonly datasec: BtfTypeId;
  /** Variable name → byte offset in the section. */
  readonly offsets: ReadonlyMap<string, number>;
}

/** The global-data sections of a laid-out object, read from its DATASECs. */
export function dataSections(datasecs: ReadonlyMap<string, BtfTypeId>, graph: Btf, globals: readonly GlobalSpec[]): DataSection[] {
  const byName = new Map(globals.map((g) => [g.name, g]));
  const out: DataSection[] = [];
  for (const [section, id] of datasecs) {
    const kind = dataSectionKind(section);
    const t = graph.get(id);
    if (!kind || t?.kind !== 'datasec' || t.size === 0) continue;
    const bytes = new Uint8Array(t.size);
    const offsets = new Map<string, number>();
    for (const v of t.vars) {
      const name = graph.get(v.type)?.name;
      if (!name) continue;
      offsets.set(name, v.offset);
      const init = byName.get(name)?.init;
      if (init) bytes.set(init.subarray(0, v.size), v.offset);
    }
    out.push({ section, kind, bytes, datasec: id, offsets });
  }
  return out;
}
