/**
 * How map keys and values cross between JavaScript and bytes. A codec is the
 * structural subset of a dsl/types `Schema` (`size`, `encode`, `decode`), so any
 * schema can be passed straight in; without one, keys and values are raw bytes.
 */
import { LoaderError } from '../errors.js';

/** Converts one fixed-size key or value. `In` is what writes accept, `Out` what reads return. */
export interface Codec<Out = unknown, In = Out> {
  readonly size: number;
  encode(value: In): Uint8Array;
  decode(bytes: Uint8Array): Out;
}

/** Any codec. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCodec = Codec<any, any>;
/** What a codec's `decode` returns. */
export type OutputOf<C> = C extends Codec<infer O, infer _I> ? O : never;
/** What a codec's `encode` accepts. */
export type InputOf<C> = C extends { encode(value: infer I): Uint8Array } ? I : never;

/** Bytes given to a raw codec: exact-size bytes, or an integer written little-endian. */
export type RawInput = Uint8Array | number | bigint;

/** The default codec: bytes in, bytes out; integers accepted for convenience (host byte order). */
export class RawCodec implements Codec<Uint8Array, RawInput> {
  constructor(
    readonly size: number,
    readonly what = 'value',
  ) {}

  encode(value: RawInput): Uint8Array {
    if (value instanceof Uint8Array) {
      if (value.length !== this.size) throw new LoaderError('LOADER_SIZE', `${this.what} must be ${this.size} bytes, got ${value.length}`);
      return value;
    }
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new LoaderError('LOADER_TYPE', `${this.what} must be bytes or an integer, got ${value}${Number.isInteger(value) ? ' (beyond 2^53: pass a bigint)' : ''}`);
      return intBytes(BigInt(value), this.size, this.what);
    }
    if (typeof value === 'bigint') return intBytes(value, this.size, this.what);
    throw new LoaderError('LOADER_TYPE', `${this.what} must be a Uint8Array or an integer`);
  }

  decode(bytes: Uint8Array): Uint8Array {
    return bytes.slice();
  }
}

function intBytes(v: bigint, size: number, what: string): Uint8Array {
  if (size === 0 || size > 8) throw new LoaderError('LOADER_TYPE', `an integer cannot be used as a ${size}-byte ${what}; pass bytes`);
  const bits = BigInt(size * 8);
  if (v < -(1n << (bits - 1n)) || v >= 1n << bits) throw new LoaderError('LOADER_RANGE', `${v} does not fit in a ${size}-byte ${what}`);
  const out = new Uint8Array(size);
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}

/** Something that owns a kernel object fd: a map, program or socket wrapper. */
export interface HasFd {
  readonly fd: number;
}

/**
 * Values of fd-holding maps (prog array, map-in-map, sockmap/sockhash): writes
 * take an fd (or an object with `.fd`), reads return the object's kernel id (u32),
 * or the socket cookie (u64, as bigint) for 8-byte sockmap values.
 */
export class FdValueCodec implements Codec<number | bigint, number | HasFd> {
  constructor(readonly size: number) {}

  encode(value: number | HasFd): Uint8Array {
    const fd = typeof value === 'number' ? value : value?.fd;
    if (!Number.isInteger(fd) || fd < 0) throw new LoaderError('LOADER_TYPE', 'this map stores file descriptors: pass an fd or an object with .fd');
    return intBytes(BigInt(fd), this.size, 'fd value');
  }

  decode(bytes: Uint8Array): number | bigint {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return bytes.length >= 8 ? dv.getBigUint64(0, true) : dv.getUint32(0, true);
  }
}
