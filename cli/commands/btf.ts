/**
 * `tsbpf btf dump FILE [--type NAME] [--raw] [--json] [--funcs] [--base FILE]`:
 * print the BTF of a raw blob (`/sys/kernel/btf/vmlinux`, `/sys/kernel/btf/<module>`)
 * or of an ELF object's `.BTF` section as C declarations (default), as the
 * bpftool-style raw listing (`--raw`), or as the JSON type graph (`--json`).
 * Module BTF under /sys/kernel/btf is split BTF: vmlinux is used as its base
 * automatically.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { readInputFile } from '../files.js';
import { basename, dirname } from 'node:path';
import { readElf } from '../../dsl/elf/file/index.js';
import {
  BtfError, decodeBtf, decodeBtfExt, formatBtfC, formatBtfRaw, formatBtfRawType, hasCoreRelos,
} from '../../dsl/btf/index.js';
import type { Btf, BtfExt, BtfTypeId } from '../../dsl/btf/index.js';
import { cliIo } from '../io.js';

/** Options of {@link btfDump}. */
export interface BtfDumpOptions {
  readonly type?: string;
  readonly raw?: boolean;
  readonly json?: boolean;
  readonly funcs?: boolean;
  /** Base BTF file for split BTF. */
  readonly base?: string;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** Reads `.BTF` (and `.BTF.ext`) from an ELF object, or the whole file as a raw blob. */
export function loadBtfFile(file: string, baseFile?: string): { btf: Btf; ext?: BtfExt } {
  const bytes = readInputFile(file, 'BTF file');
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) {
    const elf = readElf(bytes);
    const btfSec = elf.sections.find((s) => s.name === '.BTF');
    if (!btfSec) throw new BtfError('BTF_NOT_FOUND', `${file}: ELF object has no .BTF section`);
    const btf = decodeWithHint(btfSec.data, file, baseOf(file, baseFile));
    const extSec = elf.sections.find((s) => s.name === '.BTF.ext');
    return extSec ? { btf, ext: decodeBtfExt(extSec.data, btf) } : { btf };
  }
  return { btf: decodeWithHint(bytes, file, baseOf(file, baseFile)) };
}

/** decodeBtf, with a hint when a blob that fails without a base looks like split BTF. */
function decodeWithHint(bytes: Uint8Array, file: string, base: { base?: Btf }): Btf {
  try {
    return decodeBtf(bytes, base);
  } catch (e) {
    if (!base.base && e instanceof BtfError && (e.code === 'BTF_BAD_STRING' || e.code === 'BTF_BAD_TYPE_ID'))
      throw new BtfError(e.code, `${file}: ${e.message} (if this is split BTF, e.g. a kernel module's, give its base with --base FILE)`);
    throw e;
  }
}

/** Base graph for split BTF: `--base`, or vmlinux for a module blob under /sys/kernel/btf. */
function baseOf(file: string, baseFile?: string): { base?: Btf } {
  if (baseFile) return { base: decodeBtf(readInputFile(baseFile, 'base BTF file')) };
  const vmlinux = '/sys/kernel/btf/vmlinux';
  if (dirname(file) === '/sys/kernel/btf' && basename(file) !== 'vmlinux' && existsSync(vmlinux)) {
    return { base: decodeBtf(new Uint8Array(readFileSync(vmlinux))) };
  }
  return {};
}

/** The text `tsbpf btf dump` prints. */
export function btfDump(file: string, opts: BtfDumpOptions = {}): string {
  const { btf, ext } = loadBtfFile(file, opts.base);
  const ids = opts.type !== undefined ? btf.idsByName(opts.type) : undefined;
  if (ids && ids.length === 0) throw new BtfError('BTF_NOT_FOUND', `no type named '${opts.type}' in ${file}`);
  if (opts.json) return `${JSON.stringify(jsonOf(btf, ids), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
  let out: string;
  if (opts.raw) {
    out = ids ? ids.map((id) => formatBtfRawType(btf, id, btf.get(id)!).join('\n')).join('\n') + '\n' : formatBtfRaw(btf);
  } else {
    out = formatBtfC(btf, { ...(opts.type !== undefined ? { type: opts.type } : {}), ...(opts.funcs ? { functions: true } : {}) });
  }
  if (ext && !ids) out += extSummary(btf, ext);
  return out;
}

function jsonOf(btf: Btf, ids?: BtfTypeId[]): unknown {
  const list = ids ?? [...btf.entries()].map((e) => e.id);
  return { firstId: btf.firstId, types: list.map((id) => ({ id, ...btf.get(id)! })) };
}

/** A comment block summarising .BTF.ext, so CO-RE relocations are never silently ignored. */
function extSummary(btf: Btf, ext: BtfExt): string {
  const lines = ['', '/* .BTF.ext:'];
  for (const s of ext.funcInfo) lines.push(` *   func_info ${s.section}: ${s.records.map((r) => `${btf.get(r.typeId)?.name ?? r.typeId}@${r.insnOff / 8}`).join(', ')}`);
  for (const s of ext.lineInfo) lines.push(` *   line_info ${s.section}: ${s.records.length} records`);
  if (hasCoreRelos(ext)) {
    for (const s of ext.coreRelos) {
      lines.push(` *   CO-RE relocations present in ${s.section}: ${s.records.map((r) => `${r.kindName}(${btf.get(r.typeId)?.name || r.typeId}, ${r.accessStr})@${r.insnOff / 8}`).join(', ')}`);
    }
  }
  lines.push(' */', '');
  return lines.join('\n');
}

/** Registers `tsbpf btf dump`. */
export function registerBtf(program: Command): void {
  const btf = program.command('btf').description('inspect BTF type information');
  btf
    .command('dump')
    .description('print the BTF of FILE (a raw BTF blob such as /sys/kernel/btf/vmlinux, or an ELF object) as C declarations')
    .argument('<file>', 'raw BTF blob or ELF object')
    .option('--type <name>', 'only this type (and, in C output, what it depends on)')
    .option('--raw', 'bpftool-style raw listing ([id] KIND \'name\' …)')
    .option('--json', 'the decoded type graph as JSON')
    .option('--funcs', 'C output: also declare functions and variables')
    .option('--base <file>', 'base BTF for split BTF (default: vmlinux for /sys/kernel/btf/<module>)')
    .action((file: string, opts: BtfDumpOptions) => {
      cliIo().stdout.write(btfDump(file, opts));
    });
}
