/**
 * `tsbpf map list|dump|get|update|delete`: inspect and edit pinned maps. When a
 * map carries BTF, keys and values are shown and parsed as the objects its BTF
 * describes (JSON); otherwise as hex bytes. `--hex` forces bytes either way.
 */
import type { Command } from 'commander';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TsbpfError } from '../../dsl/errors.js';
import { flagNames } from '../../dsl/kernel/index.js';
import { BpfMap, RawCodec, btfCodecsForMap, type AnyCodec, type UpdateMode } from '../../loader/index.js';
import { allIds, objGet } from '../../loader/sys/bpf.js';
import { MapFlag } from '../../loader/sys/constants.js';
import { Fd } from '../../loader/sys/fd.js';
import { bpfObjectKind } from '../../loader/sys/fdinfo.js';
import { mapInfo, type MapInfo } from '../../loader/sys/info.js';
import { cliIo } from '../io.js';

function usage(message: string): TsbpfError {
  return new TsbpfError('CLI_USAGE', message);
}

/** Hex of bytes, space separated (`01 00 00 00`), like bpftool. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Bytes of a hex string (`01 00 00 00`, `0x01000000`, `01000000`); exactly `size` of them. */
export function parseHex(text: string, size: number, what: string): Uint8Array {
  const clean = text.trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw usage(`${what} ${JSON.stringify(text)} is not hex bytes (e.g. "01 00 00 00")`);
  const out = Uint8Array.from(clean.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
  if (out.length !== size) throw usage(`${what} must be ${size} bytes, got ${out.length}`);
  return out;
}

/** JSON with bigints as numbers when exact, else strings. */
export function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return hex(value);
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return value;
}

function show(value: unknown): string {
  return value instanceof Uint8Array ? hex(value) : JSON.stringify(toJson(value));
}

/** An opened pinned map with the codecs the CLI uses for it. */
interface Opened {
  map: BpfMap<AnyCodec, AnyCodec>;
  info: MapInfo;
  typed: boolean;
  keyType: string;
  valueType: string;
}

/** Opens a pinned map; keys/values through its BTF unless `hex`. Throws a usage error if the pin is not a map. */
function openMap(path: string, hexOnly: boolean, readOnly = false): Opened {
  const fd = new Fd(objGet(path, readOnly ? MapFlag.RDONLY : 0), `object pinned at ${path}`);
  const kind = bpfObjectKind(fd.value);
  if (kind !== 'map') {
    fd.close();
    throw usage(`${path} is a pinned ${kind === 'unknown' ? 'object' : kind}, not a map`);
  }
  const info = mapInfo(fd.value);
  const btf = hexOnly ? undefined : btfCodecsForMap(info);
  const key: AnyCodec | undefined = btf?.key?.size === info.keySize ? btf.key : undefined;
  const value: AnyCodec | undefined = btf?.value.size === info.valueSize ? btf.value : undefined;
  const map = BpfMap.fromFd(fd, { ...(key ? { key } : {}), ...(value ? { value } : {}) }) as BpfMap<AnyCodec, AnyCodec>;
  return { map, info, typed: Boolean(key || value), keyType: btf?.keyType ?? '', valueType: btf?.valueType ?? '' };
}

/** Whether `text` spells exactly `size` hex bytes (`01000000`, `01 00 00 00`, `0x01000000`). */
function isHexBytes(text: string, size: number): boolean {
  const clean = text.trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  return clean.length === size * 2 && /^[0-9a-f]*$/i.test(clean);
}

/**
 * Parses a key or value argument: hex bytes for raw codecs; for BTF-typed ones
 * JSON, or, when the text is not JSON but spells exactly the key/value size in
 * hex bytes (`01000000`, `"01 00 00 00"`), those bytes as they are.
 */
export function parseArg(codec: AnyCodec, text: string, what: string): unknown {
  if (codec instanceof RawCodec) return parseHex(text, codec.size, what);
  try {
    return JSON.parse(text);
  } catch {
    if (isHexBytes(text, codec.size)) return parseHex(text, codec.size, what);
    // A bare word (enumerator name) is passed through as a string; the codec decides.
    return text;
  }
}

function describeMap(info: MapInfo): Record<string, unknown> {
  return {
    id: info.id,
    name: info.name,
    type: info.typeName.toLowerCase(), // as bpftool prints it
    keySize: info.keySize,
    valueSize: info.valueSize,
    maxEntries: info.maxEntries,
    flags: flagNames(MapFlag, info.flags),
    btfId: info.btfId || undefined,
  };
}

function* pinnedFiles(dir: string): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* pinnedFiles(p);
    else yield p;
  }
}

/** Lists maps pinned under `dir` (or every map in the kernel). */
export function listMaps(opts: { dir?: string; all?: boolean }): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (opts.all) {
    for (const id of allIds('map')) {
      try {
        using m = BpfMap.fromId(id);
        out.push(describeMap(m.info()));
      } catch {
        // freed between listing and opening
      }
    }
    return out;
  }
  for (const path of pinnedFiles(opts.dir ?? '/sys/fs/bpf')) {
    let fd: Fd;
    try {
      fd = new Fd(objGet(path), path);
    } catch {
      continue;
    }
    try {
      if (bpfObjectKind(fd.value) === 'map') out.push({ path, ...describeMap(mapInfo(fd.value)) });
    } finally {
      fd.close();
    }
  }
  return out;
}

/** Entries of a pinned map, formatted (JSON-ready). */
export function dumpMap(path: string, hexOnly: boolean): { map: Record<string, unknown>; entries: Record<string, unknown>[] } {
  const o = openMap(path, hexOnly, true);
  try {
    const entries: Record<string, unknown>[] = [];
    for (const [k, v] of o.map.entries()) {
      entries.push(o.map.perCpu ? { key: toJson(k), values: toJson(v) } : { key: toJson(k), value: toJson(v) });
    }
    return { map: { path, ...describeMap(o.info), ...(o.typed ? { keyType: o.keyType, valueType: o.valueType } : {}) }, entries };
  } finally {
    o.map.close();
  }
}

function printEntries(entries: Record<string, unknown>[]): string {
  const fmt = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  return entries
    .map((e) => ('values' in e ? `key: ${fmt(e.key)}\n${(e.values as unknown[]).map((v, cpu) => `  cpu${cpu}: ${fmt(v)}`).join('\n')}` : `key: ${fmt(e.key)}  value: ${fmt(e.value)}`))
    .join('\n');
}

/** Registers `tsbpf map …`. */
export function registerMap(program: Command): void {
  const map = program.command('map').description('inspect and edit pinned BPF maps (BTF-aware)');

  map
    .command('list')
    .description('list maps pinned under DIR (default /sys/fs/bpf), or every map with --all')
    .argument('[dir]', 'bpffs directory to search')
    .option('--all', 'every map in the kernel, pinned or not')
    .option('--json', 'print JSON')
    .action((dir: string | undefined, opts: { all?: boolean; json?: boolean }) => {
      const maps = listMaps({ ...(dir ? { dir } : {}), ...(opts.all ? { all: true } : {}) });
      if (opts.json) cliIo().stdout.write(`${JSON.stringify(maps)}\n`);
      else
        for (const m of maps)
          cliIo().stdout.write(
            `${m.path ? `${String(m.path)}: ` : ''}id ${String(m.id)} ${String(m.type)} "${String(m.name)}" key ${String(m.keySize)}B value ${String(m.valueSize)}B max_entries ${String(m.maxEntries)}${(m.flags as string[]).length ? ` flags ${(m.flags as string[]).join('|')}` : ''}\n`,
          );
    });

  map
    .command('dump')
    .description('print every entry of a pinned map')
    .argument('<pin>', 'path of the pinned map')
    .option('--hex', 'show keys and values as bytes even when the map has BTF')
    .option('--json', 'print JSON')
    .action((pin: string, opts: { hex?: boolean; json?: boolean }) => {
      const d = dumpMap(pin, Boolean(opts.hex));
      if (opts.json) cliIo().stdout.write(`${JSON.stringify(d)}\n`);
      else cliIo().stdout.write(`${printEntries(d.entries)}${d.entries.length ? '\n' : ''}${d.entries.length} entr${d.entries.length === 1 ? 'y' : 'ies'}\n`);
    });

  map
    .command('get')
    .description('look up one key (JSON when the map has BTF, else hex bytes)')
    .argument('<pin>', 'path of the pinned map')
    .argument('<key>', 'key: JSON (BTF maps) or hex bytes')
    .option('--hex', 'key and value as bytes even when the map has BTF')
    .option('--json', 'print JSON')
    .action((pin: string, keyText: string, opts: { hex?: boolean; json?: boolean }) => {
      const o = openMap(pin, Boolean(opts.hex), true);
      try {
        const key = parseArg(o.map.key, keyText, 'key');
        const value = o.map.get(key);
        if (value === undefined) throw new TsbpfError('CLI_NOT_FOUND', `key ${keyText} not found in ${pin}`);
        if (opts.json) cliIo().stdout.write(`${JSON.stringify(o.map.perCpu ? { key: toJson(key), values: toJson(value) } : { key: toJson(key), value: toJson(value) })}\n`);
        else if (o.map.perCpu) cliIo().stdout.write(`${(value as unknown[]).map((v, cpu) => `cpu${cpu}: ${show(v)}`).join('\n')}\n`);
        else cliIo().stdout.write(`${show(value)}\n`);
      } finally {
        o.map.close();
      }
    });

  map
    .command('update')
    .description('write one entry (create or replace unless --noexist/--exist)')
    .argument('<pin>', 'path of the pinned map')
    .argument('<key>', 'key: JSON (BTF maps) or hex bytes')
    .argument('<value>', 'value: JSON (BTF maps) or hex bytes; per-CPU maps get it on every CPU')
    .option('--noexist', 'fail if the key exists')
    .option('--exist', 'fail if the key does not exist')
    .option('--hex', 'key and value as bytes even when the map has BTF')
    .option('--json', 'print JSON')
    .action((pin: string, keyText: string, valueText: string, opts: { noexist?: boolean; exist?: boolean; hex?: boolean; json?: boolean }) => {
      if (opts.noexist && opts.exist) throw usage('--noexist and --exist exclude each other');
      const mode: UpdateMode = opts.noexist ? 'noexist' : opts.exist ? 'exist' : 'any';
      const o = openMap(pin, Boolean(opts.hex));
      try {
        const key = parseArg(o.map.key, keyText, 'key');
        const value = parseArg(o.map.value, valueText, 'value');
        o.map.set(key, value, mode);
        cliIo().stdout.write(opts.json ? `${JSON.stringify({ updated: true, key: toJson(key), value: toJson(value) })}\n` : `updated ${pin}\n`);
      } finally {
        o.map.close();
      }
    });

  map
    .command('delete')
    .description('delete one key')
    .argument('<pin>', 'path of the pinned map')
    .argument('<key>', 'key: JSON (BTF maps) or hex bytes')
    .option('--hex', 'key as bytes even when the map has BTF')
    .option('--json', 'print JSON')
    .action((pin: string, keyText: string, opts: { hex?: boolean; json?: boolean }) => {
      const o = openMap(pin, Boolean(opts.hex));
      try {
        const key = parseArg(o.map.key, keyText, 'key');
        if (!o.map.delete(key)) throw new TsbpfError('CLI_NOT_FOUND', `key ${keyText} not found in ${pin}`);
        cliIo().stdout.write(opts.json ? `${JSON.stringify({ deleted: true, key: toJson(key) })}\n` : `deleted from ${pin}\n`);
      } finally {
        o.map.close();
      }
    });
}
