/**
 * A BTF blob loaded into the kernel (BPF_BTF_LOAD): owns the fd that maps
 * (`btf_fd`) and programs (`prog_btf_fd`) refer to. Keeps the string lookup of
 * the blob it came from, so line info given as text can be turned into the
 * string offsets the kernel wants.
 */
import { BpfError } from '../errors.js';
import { BtfLoadAttr } from './attr.js';
import { btfLoad, getFdById } from './bpf.js';
import { Cmd } from './constants.js';
import { errnoName } from './errno.js';
import { Fd } from './fd.js';
import { btfInfo, type BtfInfo } from './info.js';
import { cString } from './layout.js';

/** Finds a string's offset in the BTF string section. */
export type StringLookup = (s: string) => number | undefined;

/** Options of `LoadedBtf.load`. */
export interface BtfLoadOptions {
  /** String lookup of the encoded blob (e.g. `BtfStringTable.get.bind(table)`), for line info given as text. */
  readonly strings?: StringLookup | { get(s: string): number | undefined };
  /** Initial log size if the load fails and is retried with a log. */
  readonly logSize?: number;
}

const MAX_LOG = 1 << 26;

/** A loaded BTF object. */
export class LoadedBtf implements Disposable {
  readonly #fd: Fd;
  /** String offsets of the blob, when known. */
  readonly strings: StringLookup | undefined;

  private constructor(fd: Fd, strings?: StringLookup) {
    this.#fd = fd;
    this.strings = strings;
  }

  /**
   * Loads `blob` (a `.BTF` section: header, types, strings). Loads without a log
   * first; on failure reloads with one and throws a `BpfError` quoting the
   * kernel's BTF verifier message.
   */
  static load(blob: Uint8Array, opts: BtfLoadOptions = {}): LoadedBtf {
    const strings = typeof opts.strings === 'function' ? opts.strings : opts.strings ? (s: string) => (opts.strings as { get(s: string): number | undefined }).get(s) : undefined;
    const first = btfLoad(blob);
    if (first.ok) return new LoadedBtf(new Fd(first.ret, 'BTF'), strings);
    if (errnoName(first.errno) === 'EPERM') throw new BpfError(Cmd.BTF_LOAD, first.errno);
    let size = Math.max(opts.logSize ?? 1 << 16, 1024);
    for (;;) {
      const buf = new Uint8Array(size);
      const r = btfLoad(blob, { buf, level: 1 });
      if (r.ok) return new LoadedBtf(new Fd(r.ret, 'BTF'), strings); // flaky first failure; fine now
      const trueSize = BtfLoadAttr.get(r.attr, 'btf_log_true_size');
      if (errnoName(r.errno) === 'ENOSPC' && size < MAX_LOG) {
        size = Math.min(MAX_LOG, trueSize > size ? trueSize : size * 4);
        continue;
      }
      const log = cString(buf).trim();
      const last = log.split('\n').filter(Boolean).slice(-2).join(' / ');
      throw new BpfError(Cmd.BTF_LOAD, r.errno, {}, `BPF_BTF_LOAD failed: ${errnoName(r.errno)}: the kernel rejected the BTF${last ? `: ${last}` : ''}`);
    }
  }

  /** Opens a kernel BTF object by id (e.g. a map's or program's `btfId`). */
  static fromId(id: number): LoadedBtf {
    return new LoadedBtf(new Fd(getFdById('btf', id), `BTF id ${id}`));
  }

  /** The fd number (throws once closed). */
  get fd(): number {
    return this.#fd.value;
  }

  /** What the kernel reports (id, size; the raw bytes with `{ data: true }`). */
  info(opts: { data?: boolean } = {}): BtfInfo {
    return btfInfo(this.fd, opts);
  }

  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
