/** ELF string tables: NUL-separated names addressed by byte offset. */
import { ElfError } from './errors.js';

const utf8 = new TextEncoder();
const utf8dec = new TextDecoder('utf-8', { fatal: false });

/** Reads the NUL-terminated string at `offset` of a string table; ElfError when out of bounds or unterminated. */
export function readString(table: Uint8Array, offset: number, what = 'string'): string {
  if (!Number.isInteger(offset) || offset < 0 || offset >= table.length) {
    if (offset === 0 && table.length === 0) return '';
    throw new ElfError('ELF_STRING', `${what}: offset ${offset} is outside its string table (${table.length} bytes)`);
  }
  const end = table.indexOf(0, offset);
  if (end < 0) throw new ElfError('ELF_STRING', `${what}: string at offset ${offset} is not NUL-terminated`);
  return utf8dec.decode(table.subarray(offset, end));
}

/** Builds a string table; identical names share one entry, offset 0 is the empty string. */
export class StringTableBuilder {
  readonly #offsets = new Map<string, number>([['', 0]]);
  readonly #chunks: Uint8Array[] = [new Uint8Array(1)];
  #size = 1;

  /** Adds `name` (once) and returns its offset. */
  add(name: string): number {
    const known = this.#offsets.get(name);
    if (known !== undefined) return known;
    if (name.includes('\0')) throw new ElfError('ELF_MODEL', `name ${JSON.stringify(name)} contains a NUL byte`);
    const bytes = utf8.encode(name);
    const offset = this.#size;
    this.#chunks.push(bytes, new Uint8Array(1));
    this.#size += bytes.length + 1;
    this.#offsets.set(name, offset);
    return offset;
  }

  /** The table's bytes. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
