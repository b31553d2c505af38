/**
 * BTF encoder: a {@link BtfSpec} (types in id order) to the `.BTF` wire format —
 * 24-byte header, type section, string section, little-endian.
 */
import { BtfError } from './errors.js';
import { BTF_HEADER_SIZE, BTF_KIND_NUMBER, BTF_MAGIC, BTF_MAX_TYPE, BTF_MAX_VLEN, BTF_VERSION } from './kinds.js';
import { Btf } from './graph.js';
import { BtfStringTable } from './strings.js';
import type { BtfSpec, BtfType } from './types.js';

const INT_ENCODING = { unsigned: 0, signed: 1, char: 2, bool: 4 } as const;
const LINKAGE = { static: 0, global: 1, extern: 2 } as const;

/** Options of {@link encodeBtf}. */
export interface EncodeBtfOptions {
  /**
   * String table to write into. Pass one shared with `.BTF.ext` encoding (see
   * `encodeBtfWithExt`) — its strings must be added before the BTF is encoded.
   */
  readonly strings?: BtfStringTable;
  /** For split BTF: finds strings already in the base string table. */
  readonly baseStrings?: (s: string) => number | undefined;
}

/** Size in bytes of a type's record (12-byte common part plus kind-specific data). */
export function btfTypeRecordSize(t: BtfType): number {
  switch (t.kind) {
    case 'int':
    case 'var':
    case 'decl_tag':
      return 16;
    case 'array':
      return 24;
    case 'struct':
    case 'union':
    case 'datasec':
      return 12 + 12 * (t.kind === 'datasec' ? t.vars.length : t.members.length);
    case 'enum':
      return 12 + 8 * t.values.length;
    case 'enum64':
      return 12 + 12 * t.values.length;
    case 'func_proto':
      return 12 + 8 * t.params.length;
    default:
      return 12;
  }
}

/**
 * Creates the string table a spec's encoding starts from: the spec's own
 * `strings` (a decoded blob's table, replayed in order so re-encoding is
 * byte-identical), else just the leading empty string.
 */
export function stringTableFor(spec: BtfSpec, baseStrings?: (s: string) => number | undefined): BtfStringTable {
  const table = new BtfStringTable(spec.firstStringOffset ?? 0, baseStrings);
  for (const s of spec.strings ?? []) table.append(s);
  return table;
}

/** Encodes `spec` as a `.BTF` blob. */
export function encodeBtf(spec: BtfSpec, options: EncodeBtfOptions = {}): Uint8Array {
  // A decoded split graph knows its base: reuse the base's strings as the original did.
  const baseReader = spec instanceof Btf ? spec.base?.stringReader : undefined;
  const baseStrings = options.baseStrings ?? (baseReader ? (s: string) => baseReader.find(s) : undefined);
  const strings = options.strings ?? stringTableFor(spec, baseStrings);
  const firstId = spec.firstId ?? 1;
  const lastId = firstId + spec.types.length - 1;
  if (lastId > BTF_MAX_TYPE) throw new BtfError('BTF_TOO_LARGE', `${spec.types.length} types exceed the kernel limit of ${BTF_MAX_TYPE} ids`);

  let typeLen = 0;
  for (const t of spec.types) typeLen += btfTypeRecordSize(t);
  const types = new Uint8Array(typeLen);
  const dv = new DataView(types.buffer);
  let at = 0;
  const u32 = (v: number, what: string, id: number): void => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new BtfError('BTF_BAD_TYPE', `type [${id}]: ${what} ${v} is not a u32`);
    }
    dv.setUint32(at, v, true);
    at += 4;
  };
  const ref = (v: number, what: string, id: number): void => {
    if (!Number.isInteger(v) || v < 0 || v > lastId) {
      throw new BtfError('BTF_BAD_TYPE_ID', `type [${id}]: ${what} refers to type id ${v}, but the last id is ${lastId}`);
    }
    dv.setUint32(at, v, true);
    at += 4;
  };
  const head = (t: BtfType, id: number, vlen: number, kflag: boolean, sizeOrType: number, isRef: boolean): void => {
    if (vlen > BTF_MAX_VLEN) throw new BtfError('BTF_TOO_LARGE', `type [${id}] ${t.kind} '${t.name}': ${vlen} entries exceed ${BTF_MAX_VLEN}`);
    u32(strings.add(t.name), 'name offset', id);
    dv.setUint32(at, ((kflag ? 1 : 0) << 31) | (BTF_KIND_NUMBER[t.kind] << 24) | vlen, true);
    at += 4;
    if (isRef) ref(sizeOrType, 'type', id);
    else u32(sizeOrType, 'size', id);
  };

  for (let i = 0; i < spec.types.length; i++) {
    const t = spec.types[i]!;
    const id = firstId + i;
    switch (t.kind) {
      case 'int': {
        head(t, id, 0, false, t.size, false);
        const enc = INT_ENCODING[t.encoding];
        if (enc === undefined) throw new BtfError('BTF_BAD_TYPE', `type [${id}] int '${t.name}': unknown encoding ${String(t.encoding)}`);
        if (!(t.bits >= 0 && t.bits <= 255 && t.offset >= 0 && t.offset <= 255)) {
          throw new BtfError('BTF_BAD_TYPE', `type [${id}] int '${t.name}': bits ${t.bits} / offset ${t.offset} out of range`);
        }
        u32(((enc << 24) | (t.offset << 16) | t.bits) >>> 0, 'int data', id);
        break;
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
        head(t, id, 0, false, t.type, true);
        break;
      case 'type_tag':
        head(t, id, 0, t.attribute, t.type, true);
        break;
      case 'array':
        head(t, id, 0, false, 0, false);
        ref(t.type, 'element type', id);
        ref(t.indexType, 'index type', id);
        u32(t.nelems, 'nelems', id);
        break;
      case 'struct':
      case 'union': {
        const kflag = t.members.some((m) => m.bitfieldSize !== 0);
        head(t, id, t.members.length, kflag, t.size, false);
        for (const m of t.members) {
          u32(strings.add(m.name), 'member name offset', id);
          ref(m.type, `member '${m.name}'`, id);
          if (kflag) {
            if (!(m.bitOffset >= 0 && m.bitOffset < 1 << 24 && m.bitfieldSize >= 0 && m.bitfieldSize < 256)) {
              throw new BtfError('BTF_BAD_TYPE', `type [${id}] ${t.kind} '${t.name}': member '${m.name}' bit offset ${m.bitOffset} / bitfield size ${m.bitfieldSize} do not fit`);
            }
            u32(((m.bitfieldSize << 24) | m.bitOffset) >>> 0, 'member offset', id);
          } else u32(m.bitOffset, `member '${m.name}' bit offset`, id);
        }
        break;
      }
      case 'enum':
        head(t, id, t.values.length, t.signed, t.size, false);
        for (const v of t.values) {
          u32(strings.add(v.name), 'enumerator name offset', id);
          if (!Number.isInteger(v.value) || v.value < -0x80000000 || v.value > 0xffffffff) {
            throw new BtfError('BTF_BAD_TYPE', `type [${id}] enum '${t.name}': value ${v.value} of '${v.name}' does not fit 32 bits`);
          }
          dv.setUint32(at, v.value >>> 0, true);
          at += 4;
        }
        break;
      case 'enum64':
        head(t, id, t.values.length, t.signed, t.size, false);
        for (const v of t.values) {
          u32(strings.add(v.name), 'enumerator name offset', id);
          if (typeof v.value !== 'bigint' || v.value < -(1n << 63n) || v.value >= 1n << 64n) {
            throw new BtfError('BTF_BAD_TYPE', `type [${id}] enum64 '${t.name}': value ${String(v.value)} of '${v.name}' does not fit 64 bits`);
          }
          const bits = BigInt.asUintN(64, v.value);
          dv.setUint32(at, Number(bits & 0xffffffffn), true);
          dv.setUint32(at + 4, Number(bits >> 32n), true);
          at += 8;
        }
        break;
      case 'fwd':
        head(t, id, 0, t.fwdKind === 'union', 0, false);
        break;
      case 'func': {
        const linkage = LINKAGE[t.linkage];
        if (linkage === undefined) throw new BtfError('BTF_BAD_TYPE', `type [${id}] func '${t.name}': unknown linkage ${String(t.linkage)}`);
        head(t, id, linkage, false, t.type, true);
        break;
      }
      case 'func_proto':
        head(t, id, t.params.length, false, t.returnType, true);
        for (const p of t.params) {
          u32(strings.add(p.name), 'parameter name offset', id);
          ref(p.type, `parameter '${p.name}'`, id);
        }
        break;
      case 'var': {
        head(t, id, 0, false, t.type, true);
        const linkage = LINKAGE[t.linkage];
        if (linkage === undefined) throw new BtfError('BTF_BAD_TYPE', `type [${id}] var '${t.name}': unknown linkage ${String(t.linkage)}`);
        u32(linkage, 'linkage', id);
        break;
      }
      case 'datasec':
        head(t, id, t.vars.length, false, t.size, false);
        for (const v of t.vars) {
          ref(v.type, 'variable', id);
          u32(v.offset, 'variable offset', id);
          u32(v.size, 'variable size', id);
        }
        break;
      case 'float':
        head(t, id, 0, false, t.size, false);
        break;
      case 'decl_tag':
        head(t, id, 0, t.attribute, t.type, true);
        if (!Number.isInteger(t.componentIdx) || t.componentIdx < -1 || t.componentIdx > 0x7fffffff) {
          throw new BtfError('BTF_BAD_TYPE', `type [${id}] decl_tag '${t.name}': component index ${t.componentIdx} out of range`);
        }
        dv.setInt32(at, t.componentIdx, true);
        at += 4;
        break;
      default:
        throw new BtfError('BTF_BAD_KIND', `type [${id}]: unknown kind ${String((t as { kind: unknown }).kind)}`);
    }
  }

  const str = strings.bytes();
  const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + str.length);
  const hv = new DataView(out.buffer);
  hv.setUint16(0, BTF_MAGIC, true);
  hv.setUint8(2, BTF_VERSION);
  hv.setUint8(3, 0);
  hv.setUint32(4, BTF_HEADER_SIZE, true);
  hv.setUint32(8, 0, true);
  hv.setUint32(12, typeLen, true);
  hv.setUint32(16, typeLen, true);
  hv.setUint32(20, str.length, true);
  out.set(types, BTF_HEADER_SIZE);
  out.set(str, BTF_HEADER_SIZE + typeLen);
  return out;
}
