/**
 * BTF decoder: a `.BTF` blob (from an object file or `/sys/kernel/btf/*`) to a
 * {@link Btf} graph. Every field is validated against the blob's bounds and the
 * UAPI rules, so malformed input gives a {@link BtfError}, never a crash; time
 * is linear in the blob size (each type consumes at least 12 bytes).
 */
import { assertGraphAcyclic } from './cycles.js';
import { BtfError } from './errors.js';
import { BTF_KIND_BY_NUMBER, BTF_MAGIC, BTF_VERSION } from './kinds.js';
import { Btf } from './graph.js';
import { BtfStringReader } from './strings.js';
import type {
  BtfEnum64Value, BtfEnumValue, BtfFuncLinkage, BtfIntEncoding, BtfMember, BtfParam, BtfType, BtfVarSecinfo,
} from './types.js';

/** Options of {@link decodeBtf}. */
export interface DecodeBtfOptions {
  /** Base graph for split BTF (e.g. vmlinux under a module's BTF). */
  readonly base?: Btf;
}

/** Parsed `.BTF` header. */
export interface BtfHeader {
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly typeOff: number;
  readonly typeLen: number;
  readonly strOff: number;
  readonly strLen: number;
}

const LINKAGES: readonly BtfFuncLinkage[] = ['static', 'global', 'extern'];

/** Reads and checks the header of a `.BTF` blob. */
export function decodeBtfHeader(bytes: Uint8Array): BtfHeader {
  if (bytes.length < 8) throw new BtfError('BTF_TRUNCATED', `BTF blob of ${bytes.length} bytes is shorter than its header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint16(0, true);
  if (magic !== BTF_MAGIC) {
    const hint = magic === 0x9feb ? ' (big-endian BTF is not supported)' : '';
    throw new BtfError('BTF_BAD_MAGIC', `bad BTF magic 0x${magic.toString(16)}, expected 0xeb9f${hint}`);
  }
  const version = dv.getUint8(2);
  if (version !== BTF_VERSION) throw new BtfError('BTF_BAD_VERSION', `unsupported BTF version ${version}`);
  const flags = dv.getUint8(3);
  const hdrLen = dv.getUint32(4, true);
  if (hdrLen < 24) throw new BtfError('BTF_BAD_HEADER', `BTF header length ${hdrLen} is below 24`);
  if (hdrLen > bytes.length) throw new BtfError('BTF_TRUNCATED', `BTF header length ${hdrLen} is past the blob end (${bytes.length} bytes)`);
  // A longer header (future fields) is fine only if the extra bytes are zero, as the kernel requires.
  for (let i = 24; i < hdrLen; i++) {
    if (bytes[i] !== 0) throw new BtfError('BTF_BAD_HEADER', `unknown non-zero BTF header byte at offset ${i}`);
  }
  const typeOff = dv.getUint32(8, true);
  const typeLen = dv.getUint32(12, true);
  const strOff = dv.getUint32(16, true);
  const strLen = dv.getUint32(20, true);
  const body = bytes.length - hdrLen;
  if (typeOff + typeLen > body) throw new BtfError('BTF_TRUNCATED', `BTF type section [${typeOff}, +${typeLen}) is past the blob end (${body} bytes after the header)`);
  if (strOff + strLen > body) throw new BtfError('BTF_TRUNCATED', `BTF string section [${strOff}, +${strLen}) is past the blob end (${body} bytes after the header)`);
  if (typeOff % 4 !== 0) throw new BtfError('BTF_BAD_HEADER', `BTF type section offset ${typeOff} is not 4-byte aligned`);
  if (typeLen % 4 !== 0) throw new BtfError('BTF_BAD_HEADER', `BTF type section length ${typeLen} is not a multiple of 4`);
  if (typeOff < strOff ? typeOff + typeLen > strOff : strOff + strLen > typeOff) {
    throw new BtfError('BTF_BAD_HEADER', 'BTF type and string sections overlap');
  }
  return { version, flags, hdrLen, typeOff, typeLen, strOff, strLen };
}

/** Decodes a `.BTF` blob into a type graph (pass `base` for split BTF). */
export function decodeBtf(bytes: Uint8Array, options: DecodeBtfOptions = {}): Btf {
  const h = decodeBtfHeader(bytes);
  const base = options.base;
  const strStart = h.hdrLen + h.strOff;
  const strBytes = bytes.subarray(strStart, strStart + h.strLen);
  if (strBytes.length > 0 && strBytes[strBytes.length - 1] !== 0) {
    throw new BtfError('BTF_BAD_STRING', 'BTF string section does not end with a NUL byte');
  }
  if (!base && strBytes.length > 0 && strBytes[0] !== 0) {
    throw new BtfError('BTF_BAD_STRING', 'BTF string section does not start with the empty string');
  }
  const baseReader = base?.stringReader;
  if (base && !baseReader) throw new BtfError('BTF_BAD_HEADER', 'split BTF needs a decoded base (with its string table)');
  const strings = new BtfStringReader(strBytes, baseReader?.end ?? 0, baseReader);
  const name = (off: number, id: number): string => {
    try {
      return strings.at(off);
    } catch (e) {
      if (e instanceof BtfError) throw new BtfError(e.code, `type [${id}]: ${e.message}`);
      throw e;
    }
  };

  const dv = new DataView(bytes.buffer, bytes.byteOffset + h.hdrLen + h.typeOff, h.typeLen);
  const end = h.typeLen;
  const firstId = base ? base.nextId : 1;
  const types: BtfType[] = [];
  let at = 0;
  const need = (n: number, id: number, what: string): void => {
    if (at + n > end) throw new BtfError('BTF_TRUNCATED', `type [${id}] ${what}: record runs past the type section end (${end} bytes)`);
  };

  while (at < end) {
    const id = firstId + types.length;
    need(12, id, 'header');
    const nameOff = dv.getUint32(at, true);
    const info = dv.getUint32(at + 4, true);
    const sizeOrType = dv.getUint32(at + 8, true);
    at += 12;
    const kindNo = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const kind = BTF_KIND_BY_NUMBER[kindNo];
    if (!kind) throw new BtfError('BTF_BAD_KIND', `type [${id}]: unknown kind ${kindNo}`);
    if ((info & 0x60ff0000) !== 0) throw new BtfError('BTF_BAD_INFO', `type [${id}] ${kind}: reserved info bits set (0x${info.toString(16)})`);
    const n = name(nameOff, id);
    let t: BtfType;
    switch (kind) {
      case 'int': {
        if (vlen !== 0) badInfo(id, kind, n, `vlen ${vlen} must be 0`);
        if (kflag) badInfo(id, kind, n, 'kind_flag must be 0');
        need(4, id, kind);
        const data = dv.getUint32(at, true);
        at += 4;
        if ((data & 0xf0000000) !== 0) throw new BtfError('BTF_BAD_INFO', `type [${id}] int '${n}': reserved int bits set`);
        const encBits = (data >>> 24) & 0xf;
        const encoding: BtfIntEncoding | undefined =
          encBits === 0 ? 'unsigned' : encBits === 1 ? 'signed' : encBits === 2 ? 'char' : encBits === 4 ? 'bool' : undefined;
        if (!encoding) throw new BtfError('BTF_BAD_INFO', `type [${id}] int '${n}': invalid encoding 0x${encBits.toString(16)}`);
        t = { kind, name: n, size: sizeOrType, encoding, bits: data & 0xff, offset: (data >>> 16) & 0xff };
        if ((data & 0xff00) !== 0) throw new BtfError('BTF_BAD_INFO', `type [${id}] int '${n}': reserved int bits set`);
        break;
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
        if (vlen !== 0) badInfo(id, kind, n, `vlen ${vlen} must be 0`);
        if (kflag) badInfo(id, kind, n, 'kind_flag must be 0');
        t = { kind, name: n, type: sizeOrType };
        break;
      case 'type_tag':
        if (vlen !== 0) badInfo(id, kind, n, `vlen ${vlen} must be 0`);
        t = { kind, name: n, type: sizeOrType, attribute: kflag };
        break;
      case 'array':
        if (vlen !== 0) badInfo(id, kind, n, `vlen ${vlen} must be 0`);
        if (kflag) badInfo(id, kind, n, 'kind_flag must be 0');
        need(12, id, kind);
        if (sizeOrType !== 0) throw new BtfError('BTF_BAD_INFO', `type [${id}] array: size field must be 0`);
        t = { kind, name: n, type: dv.getUint32(at, true), indexType: dv.getUint32(at + 4, true), nelems: dv.getUint32(at + 8, true) };
        at += 12;
        break;
      case 'struct':
      case 'union': {
        need(12 * vlen, id, kind);
        const members: BtfMember[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const off = dv.getUint32(at + 8, true);
          members[i] = Object.freeze({
            name: name(dv.getUint32(at, true), id),
            type: dv.getUint32(at + 4, true),
            bitOffset: kflag ? off & 0xffffff : off,
            bitfieldSize: kflag ? off >>> 24 : 0,
          });
          at += 12;
        }
        t = { kind, name: n, size: sizeOrType, members: Object.freeze(members) };
        break;
      }
      case 'enum': {
        need(8 * vlen, id, kind);
        const values: BtfEnumValue[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          values[i] = Object.freeze({
            name: name(dv.getUint32(at, true), id),
            value: kflag ? dv.getInt32(at + 4, true) : dv.getUint32(at + 4, true),
          });
          at += 8;
        }
        t = { kind, name: n, size: sizeOrType, signed: kflag, values: Object.freeze(values) };
        break;
      }
      case 'enum64': {
        need(12 * vlen, id, kind);
        const values: BtfEnum64Value[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const bits = (BigInt(dv.getUint32(at + 8, true)) << 32n) | BigInt(dv.getUint32(at + 4, true));
          values[i] = Object.freeze({ name: name(dv.getUint32(at, true), id), value: kflag ? BigInt.asIntN(64, bits) : bits });
          at += 12;
        }
        t = { kind, name: n, size: sizeOrType, signed: kflag, values: Object.freeze(values) };
        break;
      }
      case 'fwd':
        if (vlen !== 0) badInfo(id, kind, n, `vlen ${vlen} must be 0`);
        if (sizeOrType !== 0) throw new BtfError('BTF_BAD_INFO', `type [${id}] fwd '${n}': type field must be 0`);
        t = { kind, name: n, fwdKind: kflag ? 'union' : 'struct' };
        break;
      case 'func': {
        if (kflag) badInfo(id, kind, n, 'kind_flag must be 0');
        const linkage = LINKAGES[vlen];
        if (!linkage) throw new BtfError('BTF_BAD_INFO', `type [${id}] func '${n}': unknown linkage ${vlen}`);
        t = { kind, name: n, type: sizeOrType, linkage };
        break;
      }
      case 'func_proto': {
        if (kflag) badInfo(id, kind, n, 'kind_flag must be 0');
        need(8 * vlen, id, kind);
        const params: BtfParam[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          params[i] = Object.freeze({ name: name(dv.getUint32(at, true), id), type: dv.getUint32(at + 4, true) });
          at += 8;
        }
        t = { kind, name: n, returnType: sizeOrType, params: Object.freeze(params) };
        break;
      }
      case 'var': {
        if (vlen !== 0) badInfo(id, kind, n, `vlen ${vlen} must be 0`);
        if (kflag) badInfo(id, kind, n, 'kind_flag must be 0');
        need(4, id, kind);
        const linkage = LINKAGES[dv.getUint32(at, true)];
        if (!linkage) throw new BtfError('BTF_BAD_INFO', `type [${id}] var '${n}': unknown linkage ${dv.getUint32(at, true)}`);
        at += 4;
        t = { kind, name: n, type: sizeOrType, linkage };
        break;
      }
      case 'datasec': {
        if (kflag) badInfo(id, kind, n, 'kind_flag must be 0');
        need(12 * vlen, id, kind);
        const vars: BtfVarSecinfo[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          vars[i] = Object.freeze({ type: dv.getUint32(at, true), offset: dv.getUint32(at + 4, true), size: dv.getUint32(at + 8, true) });
          at += 12;
        }
        t = { kind, name: n, size: sizeOrType, vars: Object.freeze(vars) };
        break;
      }
      case 'float':
        if (vlen !== 0) badInfo(id, kind, n, `vlen ${vlen} must be 0`);
        if (kflag) badInfo(id, kind, n, 'kind_flag must be 0');
        t = { kind, name: n, size: sizeOrType };
        break;
      case 'decl_tag':
        if (vlen !== 0) badInfo(id, kind, n, `vlen ${vlen} must be 0`);
        need(4, id, kind);
        t = { kind, name: n, type: sizeOrType, componentIdx: dv.getInt32(at, true), attribute: kflag };
        at += 4;
        if (t.componentIdx < -1) throw new BtfError('BTF_BAD_INFO', `type [${id}] decl_tag '${n}': component index ${t.componentIdx} is below -1`);
        break;
    }
    types.push(Object.freeze(t));
  }

  checkReferences(types, firstId);
  const frozen = Object.freeze(types);
  assertGraphAcyclic({ types: frozen, firstId });
  return new Btf(frozen, base, strings);
}

function badInfo(id: number, kind: string, name: string, what: string): never {
  throw new BtfError('BTF_BAD_INFO', `type [${id}] ${kind} '${name}': ${what}`);
}

/** Every referenced id must exist; catches corrupted blobs early with the referring type named. */
function checkReferences(types: readonly BtfType[], firstId: number): void {
  const limit = firstId + types.length;
  const bad = (id: number, t: BtfType, ref: number, what: string): never => {
    throw new BtfError('BTF_BAD_TYPE_ID', `type [${id}] ${t.kind} '${t.name}': ${what} refers to missing type id ${ref} (last id is ${limit - 1})`);
  };
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    const id = firstId + i;
    switch (t.kind) {
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
      case 'func':
      case 'var':
      case 'decl_tag':
        if (t.type >= limit) bad(id, t, t.type, 'type');
        break;
      case 'array':
        if (t.type >= limit) bad(id, t, t.type, 'element type');
        if (t.indexType >= limit) bad(id, t, t.indexType, 'index type');
        break;
      case 'struct':
      case 'union':
        for (const m of t.members) if (m.type >= limit) bad(id, t, m.type, `member '${m.name}'`);
        break;
      case 'func_proto':
        if (t.returnType >= limit) bad(id, t, t.returnType, 'return type');
        for (const p of t.params) if (p.type >= limit) bad(id, t, p.type, `parameter '${p.name}'`);
        break;
      case 'datasec':
        for (const v of t.vars) if (v.type >= limit) bad(id, t, v.type, 'variable');
        break;
      default:
        break;
    }
  }
}
