/**
 * Reading a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) from user space through its
 * mmap'ed pages, the way the kernel lays them out: a writable consumer page
 * (consumer position), then a read-only producer page (producer position)
 * followed by the data area mapped twice so records never wrap. Each record has
 * an 8-byte header: length with BUSY (bit 31) and DISCARD (bit 30) flags.
 */
import { BpfError, LoaderError } from '../errors.js';
import { Cmd } from '../sys/constants.js';
import { mmapFd, pageSize, type Mapping } from '../sys/ffi.js';
import type { BpfMap } from './map.js';

const BUSY = 0x8000_0000;
const DISCARD = 0x4000_0000;
const HEADER = 8;

/** A consumer of one ring buffer map. */
export class RingBuffer implements Disposable {
  readonly #consumer: Mapping;
  readonly #producer: Mapping;
  readonly #cons: DataView;
  readonly #prod: DataView;
  readonly #data: Uint8Array;
  readonly #mask: bigint;
  #closed = false;

  /** Maps `map` (a ringbuf) for reading. The map must stay open while this is in use. */
  constructor(map: Pick<BpfMap, 'fd' | 'type' | 'maxEntries' | 'name'>) {
    if (map.type !== 'RINGBUF') throw new LoaderError('LOADER_MAP_TYPE', `map "${map.name}" is a ${map.type} map, not a ringbuf`);
    const page = pageSize();
    const cons = mmapFd(map.fd, page, 0, true);
    if ('errno' in cons) throw new BpfError(Cmd.MAP_CREATE, cons.errno, {}, `mmap of ring buffer "${map.name}" consumer page failed (errno ${cons.errno})`);
    const prod = mmapFd(map.fd, page + 2 * map.maxEntries, page, false);
    if ('errno' in prod) {
      cons.unmap();
      throw new BpfError(Cmd.MAP_CREATE, prod.errno, {}, `mmap of ring buffer "${map.name}" data pages failed (errno ${prod.errno})`);
    }
    this.#consumer = cons;
    this.#producer = prod;
    this.#cons = new DataView(cons.bytes.buffer, cons.bytes.byteOffset, 8);
    this.#prod = new DataView(prod.bytes.buffer, prod.bytes.byteOffset, 8);
    this.#data = prod.bytes.subarray(page);
    this.#mask = BigInt(map.maxEntries - 1);
  }

  /** Bytes produced but not yet consumed. */
  get pending(): number {
    this.check();
    return Number(this.#prod.getBigUint64(0, true) - this.#cons.getBigUint64(0, true));
  }

  /**
   * Consumes every complete record available now, calling `onRecord` with a
   * view of each (valid only during the call); returns how many were seen.
   * Discarded records are skipped; a record still being written stops the scan.
   */
  consume(onRecord: (data: Uint8Array) => void): number {
    this.check();
    let cons = this.#cons.getBigUint64(0, true);
    let n = 0;
    for (;;) {
      const prod = this.#prod.getBigUint64(0, true);
      let progressed = false;
      while (cons < prod) {
        const at = Number(cons & this.#mask);
        const hdr = new DataView(this.#data.buffer, this.#data.byteOffset + at, HEADER);
        const len = hdr.getUint32(0, true);
        if (len & BUSY) {
          this.#cons.setBigUint64(0, cons, true);
          return n;
        }
        const size = len & ~(BUSY | DISCARD);
        cons += BigInt((size + HEADER + 7) & ~7);
        progressed = true;
        if (!(len & DISCARD)) {
          n++;
          onRecord(this.#data.subarray(at + HEADER, at + HEADER + size));
        }
        this.#cons.setBigUint64(0, cons, true);
      }
      if (!progressed) return n;
    }
  }

  /** Consumes and returns copies of every complete record available now. */
  read(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.consume((d) => out.push(d.slice()));
    return out;
  }

  private check(): void {
    if (this.#closed) throw new LoaderError('LOADER_CLOSED', 'ring buffer reader is closed');
  }

  /** Unmaps the pages (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#producer.unmap();
    this.#consumer.unmap();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
