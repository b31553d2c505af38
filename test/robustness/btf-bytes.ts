/**
 * Raw BTF blobs written byte by byte (not through tsbpf's encoder, so the
 * decoder is tested against input the encoder would never produce): cycles,
 * very deep chains, and splicing extra types into an object's `.BTF`.
 */

/** One raw type record: name, kind number, vlen/kflag-free info, size-or-type, trailing u32 words. */
export interface RawType {
  readonly name: string;
  readonly kind: number;
  readonly sizeOrType: number;
  readonly vlen?: number;
  readonly extra?: readonly number[];
}

/** BTF kind numbers used here. */
export const K = { INT: 1, PTR: 2, STRUCT: 4, TYPEDEF: 8, VOLATILE: 9, CONST: 10 } as const;

/** `int` of 4 bytes, signed. */
export const int32: RawType = { name: 'int', kind: K.INT, sizeOrType: 4, extra: [(1 << 24) | 32] };

/** A complete `.BTF` blob of `types` (ids from 1). */
export function btfBlob(types: readonly RawType[]): Uint8Array {
  return splice(emptyBlob(), types);
}

function emptyBlob(): Uint8Array {
  const b = new Uint8Array(24 + 1);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, 0xeb9f, true);
  dv.setUint8(2, 1);
  dv.setUint32(4, 24, true);
  dv.setUint32(16, 0, true); // str_off
  dv.setUint32(20, 1, true); // str_len: just ""
  return b;
}

/** `blob` with `types` appended after its own types (their ids continue the blob's). */
export function splice(blob: Uint8Array, types: readonly RawType[]): Uint8Array {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const hdr = dv.getUint32(4, true);
  const typeOff = dv.getUint32(8, true);
  const typeLen = dv.getUint32(12, true);
  const strOff = dv.getUint32(16, true);
  const strLen = dv.getUint32(20, true);
  const oldTypes = blob.subarray(hdr + typeOff, hdr + typeOff + typeLen);
  const strings: number[] = [...blob.subarray(hdr + strOff, hdr + strOff + strLen)];
  const words: number[] = [];
  for (const t of types) {
    const nameOff = t.name === '' ? 0 : strings.length;
    if (t.name !== '') strings.push(...new TextEncoder().encode(t.name), 0);
    words.push(nameOff, ((t.kind & 0x1f) << 24) | (t.vlen ?? 0), t.sizeOrType, ...(t.extra ?? []));
  }
  const newTypes = new Uint8Array(words.length * 4);
  const ndv = new DataView(newTypes.buffer);
  words.forEach((w, i) => ndv.setUint32(i * 4, w >>> 0, true));
  const out = new Uint8Array(24 + oldTypes.length + newTypes.length + strings.length);
  const odv = new DataView(out.buffer);
  out.set(blob.subarray(0, 24));
  odv.setUint32(4, 24, true);
  odv.setUint32(8, 0, true);
  odv.setUint32(12, oldTypes.length + newTypes.length, true);
  odv.setUint32(16, oldTypes.length + newTypes.length, true);
  odv.setUint32(20, strings.length, true);
  out.set(oldTypes, 24);
  out.set(newTypes, 24 + oldTypes.length);
  out.set(strings, 24 + oldTypes.length + newTypes.length);
  return out;
}

/** Number of types in a blob. */
export function typeCount(blob: Uint8Array): number {
  let n = 0;
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const start = 24 + dv.getUint32(8, true);
  const end = start + dv.getUint32(12, true);
  const extraWords = (kind: number, vlen: number): number =>
    kind === 1 ? 1 : kind === 3 ? 3 : kind === 4 || kind === 5 ? 3 * vlen : kind === 6 ? 2 * vlen : kind === 13 ? 2 * vlen : kind === 14 ? 1 : kind === 15 ? 3 * vlen : kind === 17 ? 1 : kind === 19 ? 3 * vlen : 0;
  for (let at = start; at < end; n++) {
    const info = dv.getUint32(at + 4, true);
    at += 12 + 4 * extraWords((info >>> 24) & 0x1f, info & 0xffff);
  }
  return n;
}

/** `count` typedefs t0 … t{count-1}, each naming the previous one, t0 naming `first`. */
export function typedefChain(count: number, firstId: number, first: number): RawType[] {
  return Array.from({ length: count }, (_, i) => ({ name: `t${i}`, kind: K.TYPEDEF, sizeOrType: i === 0 ? first : firstId + i - 1 }));
}
