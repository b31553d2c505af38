/**
 * Maps of an object: the definition the loader creates for each map, the
 * global-data maps (`.rodata`/`.data`/`.bss` as one-entry arrays), and the
 * pinned-map reuse check (type, key/value size, max entries and flags compared
 * with what BPF_OBJ_GET_INFO_BY_FD reports).
 */
import type { Btf, BtfTypeId } from '../../dsl/btf/index.js';
import { dataSectionKind } from '../../dsl/elf/index.js';
import { mapTypeNumber, typeSize, type GlobalSpec, type MapDefinition } from '../../dsl/object/index.js';
import { defaultFlags } from '../maps/kinds.js';
import { MapFlag, mapTypeName, type MapTypeName } from '../sys/constants.js';
import type { MapInfo } from '../sys/info.js';
import { ObjectLoadError, type PinnedMapDifference } from './errors.js';

/**
 * The definition the loader creates for an object's map: the same spec, with its
 * type resolved to a name and key/value types reduced to their sizes (object
 * maps are raw bytes to user space; their BTF types go to the kernel as ids).
 */
export function objectMapDefinition(def: MapDefinition, name: string | undefined, objectBtf: Btf | undefined): MapDefinition {
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
    ...(def.key !== undefined ? { key: typeSize(def.key, objectBtf, `${what} key`) } : {}),
    ...(def.value !== undefined ? { value: typeSize(def.value, objectBtf, `${what} value`) } : {}),
    maxEntries: def.maxEntries,
    ...(def.flags !== undefined ? { flags: def.flags } : {}),
    ...(def.numaNode !== undefined ? { numaNode: def.numaNode } : {}),
    ...(def.innerMap ? { innerMap: objectMapDefinition(def.innerMap, undefined, objectBtf) } : {}),
  };
}

/** Flags a map created from `def` ends up with (defaults and NUMA_NODE included). */
export function effectiveFlags(def: MapDefinition): number {
  let flags = def.flags ?? defaultFlags(typeof def.type === 'number' ? mapTypeName(def.type) : def.type);
  if (def.numaNode !== undefined) flags |= MapFlag.NUMA_NODE;
  return flags;
}

/**
 * Fields in which the open map `map` (a pinned one) differs from `def` (as
 * {@link objectMapDefinition} gives it: sizes, not schemas). Key and value sizes
 * the definition leaves to the loader's defaults are not compared.
 */
export function pinnedDifferences(map: { info(): MapInfo }, def: MapDefinition): PinnedMapDifference[] {
  const info = map.info();
  const out: PinnedMapDifference[] = [];
  const type = typeof def.type === 'number' ? mapTypeName(def.type) : def.type;
  if (mapTypeName(info.type) !== type) out.push({ field: 'type', pinned: mapTypeName(info.type), spec: type });
  if (typeof def.key === 'number' && info.keySize !== def.key) out.push({ field: 'key_size', pinned: info.keySize, spec: def.key });
  if (typeof def.value === 'number' && info.valueSize !== def.value) out.push({ field: 'value_size', pinned: info.valueSize, spec: def.value });
  if (info.maxEntries !== def.maxEntries) out.push({ field: 'max_entries', pinned: info.maxEntries, spec: def.maxEntries });
  // RDONLY/WRONLY describe how an fd was opened, not the map.
  const mask = ~(MapFlag.RDONLY | MapFlag.WRONLY);
  const want = effectiveFlags(def);
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
