/**
 * BTF-defined maps (the `.maps` convention of libbpf): a map is a global VAR of
 * an anonymous STRUCT whose members are 8-byte pointers. Integer attributes are
 * encoded in array lengths (`int (*max_entries)[N]` = PTR → ARRAY(int, N)),
 * `key`/`value` as pointers to the real types, and `values` (initial slots of a
 * prog array or map-in-map) as a trailing zero-length array of pointers to a
 * FUNC_PROTO or to the inner map's definition struct.
 */
import type { Btf, BtfBuilder, BtfMemberInput, BtfTypeId } from '../btf/index.js';
import { BpfMapType, nameOf, type MapTypeName } from '../kernel/index.js';
import { ObjectError } from '../object/errors.js';
import { type MapDefinition, type MapPinning, type TypeSpec } from '../object/spec.js';
import { mapTypeNumber, typeSize } from '../object/types.js';

/** Turns a TypeSpec into a type id of the builder being written. */
export type TypeResolver = (t: TypeSpec, what: string) => BtfTypeId;

/** The struct describing one map definition, and its byte size (without `values` slots). */
export interface MapStruct {
  readonly id: BtfTypeId;
  readonly size: number;
  /** Type ids of the key and value when given as types (what BPF_MAP_CREATE's btf_key/value_type_id take). */
  readonly keyType?: BtfTypeId;
  readonly valueType?: BtfTypeId;
}

const PIN_BY_NAME = 1;

/** Map types whose key and value must be given as sizes (the kernel rejects BTF for them). */
function sizesOnly(type: number): boolean {
  return type === BpfMapType.PROG_ARRAY || type === BpfMapType.PERF_EVENT_ARRAY || type === BpfMapType.CGROUP_ARRAY ||
    type === BpfMapType.ARRAY_OF_MAPS || type === BpfMapType.HASH_OF_MAPS || type === BpfMapType.DEVMAP || type === BpfMapType.DEVMAP_HASH ||
    type === BpfMapType.CPUMAP || type === BpfMapType.XSKMAP || type === BpfMapType.SOCKMAP || type === BpfMapType.SOCKHASH ||
    type === BpfMapType.STACK_TRACE || type === BpfMapType.REUSEPORT_SOCKARRAY;
}

/**
 * Adds the anonymous definition struct of `def` to `builder`. `withValues` adds
 * the trailing `values` member (for prog arrays and map-in-maps).
 */
export function encodeMapStruct(builder: BtfBuilder, def: MapDefinition, what: string, resolve: TypeResolver, btf: Btf | undefined, withValues: boolean): MapStruct {
  const type = mapTypeNumber(def, what);
  const int = builder.int('int', 4, 'signed');
  const members: BtfMemberInput[] = [];
  const add = (name: string, t: BtfTypeId) => members.push({ name, type: t, offset: members.length * 8 });
  const num = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ObjectError('OBJECT_INVALID', `${what}: ${name} ${v} is not a u32`);
    add(name, builder.ptr(builder.array(int, v)));
  };
  num('type', type);
  if (!Number.isInteger(def.maxEntries)) throw new ObjectError('OBJECT_INVALID', `${what}: maxEntries must be an integer`);
  num('max_entries', def.maxEntries);
  if (def.flags) num('map_flags', def.flags);
  const typeIds: { key?: BtfTypeId; value?: BtfTypeId } = {};
  const kv = (t: TypeSpec | undefined, field: 'key' | 'value') => {
    if (t === undefined) return;
    if (type === BpfMapType.PROG_ARRAY) num(`${field}_size`, 4);
    else if (typeof t === 'number' || sizesOnly(type)) num(`${field}_size`, typeSize(t, btf, `${what} ${field}`));
    else add(field, builder.ptr((typeIds[field] = resolve(t, `${what} ${field}`))));
  };
  kv(def.key ?? (type === BpfMapType.PROG_ARRAY ? 4 : undefined), 'key');
  kv(def.value ?? (type === BpfMapType.PROG_ARRAY ? 4 : undefined), 'value');
  if (def.pinning === 'byName') num('pinning', PIN_BY_NAME);
  else if (def.pinning !== undefined && def.pinning !== 'none') throw new ObjectError('OBJECT_INVALID', `${what}: unknown pinning '${String(def.pinning)}'`);
  if (def.numaNode !== undefined) num('numa_node', def.numaNode);
  if (def.mapExtra !== undefined || def.ifindex !== undefined)
    throw new ObjectError('OBJECT_UNSUPPORTED', `${what}: mapExtra and ifindex are not written to ELF objects; give them to BpfMap.create`);
  if (withValues || def.innerMap) {
    let target: BtfTypeId;
    if (def.innerMap) {
      if (def.innerMap.innerMap) throw new ObjectError('OBJECT_INVALID', `${what}: nested map-in-map inner definitions are not supported`);
      target = encodeMapStruct(builder, def.innerMap, `${what} inner map`, resolve, btf, false).id;
    } else if (type === BpfMapType.PROG_ARRAY) {
      target = builder.funcProto(int, [{ name: '', type: builder.ptr(0) }]);
    } else {
      throw new ObjectError('OBJECT_INVALID', `${what}: initial values need a PROG_ARRAY or a map-in-map with innerMap`);
    }
    add('values', builder.array(builder.ptr(target), 0));
  }
  // `values` is a flexible array member: it starts at the end and adds no size.
  const size = (members.length - (members[members.length - 1]!.name === 'values' ? 1 : 0)) * 8;
  return {
    id: builder.struct('', size, members),
    size,
    ...(typeIds.key !== undefined ? { keyType: typeIds.key } : {}),
    ...(typeIds.value !== undefined ? { valueType: typeIds.value } : {}),
  };
}

/** A map definition decoded from BTF, with what the reader could not keep. */
export interface DecodedMapStruct {
  readonly def: MapDefinition;
  /** Whether the struct ends with a `values` member. */
  readonly hasValues: boolean;
  /** Byte size of the struct. */
  readonly size: number;
  readonly ignored: readonly string[];
}

/** Decodes the definition struct at `id` (following typedefs/modifiers) of map `what`. */
export function decodeMapStruct(btf: Btf, id: BtfTypeId, what: string, depth = 0): DecodedMapStruct {
  const sid = btf.resolve(id);
  const st = btf.get(sid);
  if (!st || st.kind !== 'struct') throw new ObjectError('OBJECT_MALFORMED', `map '${what}': BTF type ${id} is not a struct`);
  const ignored: string[] = [];
  const arrayLen = (mid: BtfTypeId, name: string): number => {
    const p = btf.get(btf.resolve(mid));
    const a = p?.kind === 'ptr' ? btf.get(btf.resolve(p.type)) : undefined;
    if (!a || a.kind !== 'array') throw new ObjectError('OBJECT_MALFORMED', `map '${what}': member '${name}' is not a pointer to an array`);
    return a.nelems;
  };
  const pointee = (mid: BtfTypeId, name: string): BtfTypeId => {
    const p = btf.get(btf.resolve(mid));
    if (!p || p.kind !== 'ptr') throw new ObjectError('OBJECT_MALFORMED', `map '${what}': member '${name}' is not a pointer`);
    return p.type;
  };
  let type: number | undefined;
  let maxEntries = 0;
  let flags: number | undefined;
  let key: TypeSpec | undefined;
  let value: TypeSpec | undefined;
  let pinning: MapPinning | undefined;
  let numaNode: number | undefined;
  let innerMap: MapDefinition | undefined;
  let hasValues = false;
  st.members.forEach((m, i) => {
    switch (m.name) {
      case 'type': type = arrayLen(m.type, m.name); break;
      case 'max_entries': maxEntries = arrayLen(m.type, m.name); break;
      case 'map_flags': flags = arrayLen(m.type, m.name); break;
      case 'key_size': key ??= arrayLen(m.type, m.name); break;
      case 'value_size': value ??= arrayLen(m.type, m.name); break;
      case 'key': key = { btfType: pointee(m.type, m.name) }; break;
      case 'value': value = { btfType: pointee(m.type, m.name) }; break;
      case 'numa_node': numaNode = arrayLen(m.type, m.name); break;
      case 'pinning': {
        const v = arrayLen(m.type, m.name);
        if (v === 0) pinning = 'none';
        else if (v === PIN_BY_NAME) pinning = 'byName';
        else throw new ObjectError('OBJECT_UNSUPPORTED', `map '${what}': pinning ${v} is not supported (0 none, 1 by name)`);
        break;
      }
      case 'values': {
        if (i !== st.members.length - 1) throw new ObjectError('OBJECT_MALFORMED', `map '${what}': 'values' must be the last member`);
        const arr = btf.get(btf.resolve(m.type));
        if (!arr || arr.kind !== 'array' || arr.nelems !== 0) throw new ObjectError('OBJECT_MALFORMED', `map '${what}': 'values' is not a zero-length array`);
        const p = btf.get(btf.resolve(arr.type));
        if (!p || p.kind !== 'ptr') throw new ObjectError('OBJECT_MALFORMED', `map '${what}': 'values' elements are not pointers`);
        const target = btf.get(btf.resolve(p.type));
        if (target?.kind === 'struct') {
          if (depth > 0) throw new ObjectError('OBJECT_UNSUPPORTED', `map '${what}': nested map-in-map definitions are not supported`);
          innerMap = decodeMapStruct(btf, p.type, `${what}.values`, depth + 1).def;
        } else if (target?.kind !== 'func_proto') {
          throw new ObjectError('OBJECT_MALFORMED', `map '${what}': 'values' must point to a FUNC_PROTO or a map definition`);
        }
        hasValues = true;
        break;
      }
      default:
        ignored.push(`member '${m.name}'`);
    }
  });
  if (type === undefined) throw new ObjectError('OBJECT_MALFORMED', `map '${what}': no 'type' member`);
  const typeName: MapTypeName | number = nameOf(BpfMapType, type) ?? type;
  const def: MapDefinition = {
    type: typeName,
    ...(key !== undefined ? { key } : {}),
    ...(value !== undefined ? { value } : {}),
    maxEntries,
    ...(flags !== undefined ? { flags } : {}),
    ...(pinning !== undefined ? { pinning } : {}),
    ...(numaNode !== undefined ? { numaNode } : {}),
    ...(innerMap !== undefined ? { innerMap } : {}),
  };
  return { def, hasValues, size: st.size, ignored };
}

