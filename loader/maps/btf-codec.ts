/**
 * Codecs derived from a map's BTF key/value types, for maps opened without a
 * schema (pinned maps, the CLI): values decode to plain objects (structs by
 * member name, arrays, enums by enumerator name, char arrays as text, `__be*`
 * typedefs in network byte order) and encode back from the same shapes.
 */
import { decodeBtf, type Btf, type BtfType } from '../../dsl/btf/index.js';
import { LoaderError } from '../errors.js';
import { LoadedBtf } from '../sys/btf.js';
import type { Codec } from './codec.js';

/** A decoded BTF value: number/bigint/boolean/string, arrays and objects of those. */
export type BtfValue = number | bigint | boolean | string | BtfValue[] | { [name: string]: BtfValue };

/** `typeName`: the outermost name of the field's type (`__be16`), for messages. */
type Ctx = { btf: Btf; bigEndian: boolean; typeName?: string };

function typeOf(btf: Btf, id: number): BtfType {
  const t = btf.get(id);
  if (!t) throw new LoaderError('LOADER_BTF', `BTF type id ${id} does not exist`);
  return t;
}

function readUint(bytes: Uint8Array, off: number, size: number, bigEndian: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(bytes[bigEndian ? off + i : off + size - 1 - i]!);
  return v;
}

function writeUint(bytes: Uint8Array, off: number, size: number, v: bigint, bigEndian: boolean): void {
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++, x >>= 8n) bytes[bigEndian ? off + size - 1 - i : off + i] = Number(x & 0xffn);
}

function intOut(v: bigint, size: number): number | bigint {
  return size <= 4 ? Number(v) : v;
}

function isCharArrayElem(btf: Btf, id: number): boolean {
  let t = typeOf(btf, id);
  while (t.kind === 'typedef' || t.kind === 'const' || t.kind === 'volatile') t = typeOf(btf, t.type);
  return t.kind === 'int' && t.size === 1 && (t.encoding === 'char' || t.name === 'char');
}

function decodeAt(ctx: Ctx, id: number, bytes: Uint8Array, off: number): BtfValue {
  const t = typeOf(ctx.btf, id);
  switch (t.kind) {
    case 'int': {
      if (t.encoding === 'bool') return bytes[off] !== 0;
      const raw = readUint(bytes, off, t.size, ctx.bigEndian);
      const signed = t.encoding === 'signed';
      return intOut(signed ? BigInt.asIntN(t.size * 8, raw) : raw, t.size);
    }
    case 'enum':
    case 'enum64': {
      const raw = readUint(bytes, off, t.size, false);
      const v = t.signed ? BigInt.asIntN(t.size * 8, raw) : raw;
      const hit = (t.values as readonly { name: string; value: number | bigint }[]).find((e) => BigInt(e.value) === v);
      return hit ? hit.name : intOut(v, t.size);
    }
    case 'typedef':
      return decodeAt({ ...ctx, bigEndian: ctx.bigEndian || t.name.startsWith('__be') }, t.type, bytes, off);
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'type_tag':
      return decodeAt(ctx, t.type, bytes, off);
    case 'ptr':
      return readUint(bytes, off, 8, false);
    case 'array': {
      const size = ctx.btf.sizeOf(t.type);
      if (isCharArrayElem(ctx.btf, t.type)) {
        const s = bytes.subarray(off, off + t.nelems);
        const end = s.indexOf(0);
        return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
      }
      return Array.from({ length: t.nelems }, (_, i) => decodeAt(ctx, t.type, bytes, off + i * size));
    }
    case 'struct':
    case 'union': {
      const out: { [name: string]: BtfValue } = {};
      t.members.forEach((m, i) => {
        const name = m.name || `_${i}`;
        if (m.bitfieldSize) {
          const agg = readUint(bytes, off, t.size, false);
          out[name] = Number((agg >> BigInt(m.bitOffset)) & ((1n << BigInt(m.bitfieldSize)) - 1n));
        } else out[name] = decodeAt(ctx, m.type, bytes, off + m.bitOffset / 8);
      });
      return out;
    }
    default:
      return Array.from(bytes.subarray(off, off + ctx.btf.sizeOf(id)));
  }
}

/** JSON-ish text of a user value for messages, cut short. */
function shown(v: unknown): string {
  const text = typeof v === 'bigint' ? String(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/**
 * The integer a user value stands for, refused unless it fits `bits` bits
 * (`signed` or not): no wrap-around, no fractions, no precision lost above
 * 2^53 (write those as strings or bigints). Text is accepted as a `0x` hex
 * literal (JSON has none), and in decimal only for 64-bit fields, the ones the
 * CLI prints as strings when they exceed 2^53.
 */
function toInt(v: unknown, what: string, bits: number, signed: boolean, typeName: string): bigint {
  let x: bigint;
  if (typeof v === 'bigint') x = v;
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new LoaderError('LOADER_VALUE', `${what}: expected an integer for ${typeName}, got ${v}`);
    if (!Number.isSafeInteger(v)) throw new LoaderError('LOADER_VALUE', `${what}: ${v} is beyond 2^53 and may have lost precision; write it as a string`);
    x = BigInt(v);
  } else if (typeof v === 'string' && (/^-?0x[0-9a-f]+$/i.test(v.trim()) || (bits > 32 && /^-?\d+$/.test(v.trim())))) {
    const t = v.trim();
    x = t.startsWith('-') ? -BigInt(t.slice(1)) : BigInt(t);
  } else {
    throw new LoaderError('LOADER_VALUE', `${what}: expected an integer for ${typeName}, got ${typeof v === 'string' ? 'the string ' : ''}${shown(v)}`);
  }
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  if (x < min || x > max) throw new LoaderError('LOADER_RANGE', `${what}: ${x} does not fit in ${typeName} (${min} to ${max})`);
  return x;
}

/** Whether type `id` is, through typedefs and modifiers, a signed int or signed enum. */
function isSignedInt(btf: Btf, id: number): boolean {
  const t = btf.get(btf.resolve(id));
  return (t?.kind === 'int' && t.encoding === 'signed') || ((t?.kind === 'enum' || t?.kind === 'enum64') && t.signed);
}

function encodeAt(ctx: Ctx, id: number, bytes: Uint8Array, off: number, v: unknown, what: string): void {
  if (v === undefined) return;
  const t = typeOf(ctx.btf, id);
  switch (t.kind) {
    case 'int': {
      if (t.encoding === 'bool') {
        if (v !== true && v !== false && v !== 0 && v !== 1) throw new LoaderError('LOADER_VALUE', `${what}: expected true or false, got ${shown(v)}`);
        writeUint(bytes, off, t.size, v === true || v === 1 ? 1n : 0n, false);
        return;
      }
      writeUint(bytes, off, t.size, toInt(v, what, t.size * 8, t.encoding === 'signed', ctx.typeName ?? t.name), ctx.bigEndian);
      return;
    }
    case 'enum':
    case 'enum64': {
      const values = t.values as readonly { name: string; value: number | bigint }[];
      const named = typeof v === 'string' ? values.find((e) => e.name === v) : undefined;
      if (typeof v === 'string' && !named && !/^-?\d/.test(v.trim()))
        throw new LoaderError('LOADER_VALUE', `${what}: enum ${t.name || '(anonymous)'} has no enumerator ${shown(v)}${values.length ? ` (one of ${values.slice(0, 8).map((e) => e.name).join(', ')}${values.length > 8 ? ', …' : ''})` : ''}`);
      writeUint(bytes, off, t.size, named ? BigInt(named.value) : toInt(v, what, t.size * 8, t.signed, ctx.typeName ?? `enum ${t.name || '(anonymous)'}`), false);
      return;
    }
    case 'typedef':
      encodeAt({ ...ctx, bigEndian: ctx.bigEndian || t.name.startsWith('__be'), typeName: ctx.typeName ?? t.name }, t.type, bytes, off, v, what);
      return;
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'type_tag':
      encodeAt(ctx, t.type, bytes, off, v, what);
      return;
    case 'ptr':
      writeUint(bytes, off, 8, toInt(v, what, 64, false, 'a pointer'), false);
      return;
    case 'array': {
      const size = ctx.btf.sizeOf(t.type);
      if (typeof v === 'string' && isCharArrayElem(ctx.btf, t.type)) {
        const enc = new TextEncoder().encode(v);
        if (enc.length > t.nelems) throw new LoaderError('LOADER_VALUE', `${what}: ${enc.length} bytes do not fit in char[${t.nelems}]`);
        bytes.set(enc, off);
        return;
      }
      if (!Array.isArray(v) || v.length > t.nelems) throw new LoaderError('LOADER_VALUE', `${what}: expected an array of at most ${t.nelems} elements, got ${shown(v)}`);
      v.forEach((x, i) => encodeAt({ ...ctx, typeName: undefined }, t.type, bytes, off + i * size, x, `${what}[${i}]`));
      return;
    }
    case 'struct':
    case 'union': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new LoaderError('LOADER_VALUE', `${what}: expected an object with fields of ${t.kind} ${t.name || '(anonymous)'}, got ${shown(v)}`);
      const known = new Set(t.members.map((m, i) => m.name || `_${i}`));
      for (const k of Object.keys(v)) if (!known.has(k)) throw new LoaderError('LOADER_VALUE', `${what}: ${t.kind} ${t.name || '(anonymous)'} has no field '${k}'`);
      t.members.forEach((m, i) => {
        const name = m.name || `_${i}`;
        const x = (v as Record<string, unknown>)[name];
        if (x === undefined) return;
        if (m.bitfieldSize) {
          const agg = readUint(bytes, off, t.size, false);
          const mask = ((1n << BigInt(m.bitfieldSize)) - 1n) << BigInt(m.bitOffset);
          const signed = isSignedInt(ctx.btf, m.type);
          const field = BigInt.asUintN(m.bitfieldSize, toInt(x, `${what}.${name}`, m.bitfieldSize, signed, `a ${m.bitfieldSize}-bit ${signed ? 'signed ' : ''}bitfield`));
          writeUint(bytes, off, t.size, (agg & ~mask) | ((field << BigInt(m.bitOffset)) & mask), false);
        } else encodeAt({ ...ctx, typeName: undefined }, m.type, bytes, off + m.bitOffset / 8, x, `${what}.${name}`);
      });
      return;
    }
    default:
      throw new LoaderError('LOADER_VALUE', `${what}: cannot encode BTF kind ${t.kind}`);
  }
}

/** A codec for BTF type `id` of `btf` (size from BTF). */
export function btfCodec(btf: Btf, id: number, what = 'value'): Codec<BtfValue, unknown> {
  const size = btf.sizeOf(id);
  return {
    size,
    decode: (bytes) => decodeAt({ btf, bigEndian: false }, id, bytes, 0),
    encode: (value) => {
      // Bytes of exactly the size are the value itself (what `tsbpf map … 01000000` passes).
      if (value instanceof Uint8Array) {
        if (value.length !== size) throw new LoaderError('LOADER_SIZE', `${what} must be ${size} bytes, got ${value.length}`);
        return value;
      }
      const out = new Uint8Array(size);
      encodeAt({ btf, bigEndian: false }, id, out, 0, value, what);
      return out;
    },
  };
}

/** Name of BTF type `id` as C would spell it (`struct lb4_key`, `__u32`). */
export function btfTypeName(btf: Btf, id: number): string {
  const t = btf.get(id);
  if (!t) return `type ${id}`;
  if (t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum' || t.kind === 'enum64') return `${t.kind === 'enum64' ? 'enum' : t.kind} ${t.name || '(anonymous)'}`;
  return t.name || t.kind;
}

/**
 * Key and value codecs from a map's BTF (by the map's `btfId`, `btfKeyTypeId`,
 * `btfValueTypeId`), or undefined when the map has none.
 */
export function btfCodecsForMap(info: { btfId: number; btfKeyTypeId: number; btfValueTypeId: number }): { key?: Codec<BtfValue, unknown>; value: Codec<BtfValue, unknown>; keyType: string; valueType: string } | undefined {
  if (!info.btfId || !info.btfValueTypeId) return undefined;
  using handle = LoadedBtf.fromId(info.btfId);
  const btf = decodeBtf(handle.info({ data: true }).data!);
  return {
    ...(info.btfKeyTypeId ? { key: btfCodec(btf, info.btfKeyTypeId, 'key') } : {}),
    value: btfCodec(btf, info.btfValueTypeId, 'value'),
    keyType: info.btfKeyTypeId ? btfTypeName(btf, info.btfKeyTypeId) : '',
    valueType: btfTypeName(btf, info.btfValueTypeId),
  };
}
