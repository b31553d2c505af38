/**
 * `tsbpf load FILE.o [--pin DIR] [--pin-maps DIR] [--json]`: loads every map and
 * program of an ELF object (ours or clang's) and prints what was created. The
 * programs and maps are released when the command exits unless pinned: `--pin`
 * pins each program at DIR/<name> and each map not pinned by name next to them
 * (the kernel empties a prog array once nothing in user space refers to it, so
 * tail calls would stop working if only the programs were pinned); maps declared with `pinning: byName` are pinned under `--pin-maps` (default
 * /sys/fs/bpf) and reused from there on the next load when they still match.
 */
import type { Command } from 'commander';
import { mkdirSync, rmSync } from 'node:fs';
import { existingAncestor, filesystemOf } from '../../loader/sys/bpffs.js';
import { TsbpfError } from '../../dsl/errors.js';
import { loadObject, type LoadedMapReport, type LoadedProgramReport } from '../../loader/object/index.js';
import { cliIo } from '../io.js';

function usage(message: string): TsbpfError {
  return new TsbpfError('CLI_USAGE', message);
}

// Type names are printed lower-case, as bpftool prints them.
function formatProgram(p: LoadedProgramReport): string {
  const attach = p.expectedAttachType ? ` (${p.expectedAttachType.toLowerCase()})` : '';
  return `  ${p.name}: ${p.type.toLowerCase()}${attach} id ${p.id} slots ${p.insns} tag ${p.tag}${p.pinnedPath ? ` pinned at ${p.pinnedPath}` : ''}`;
}

function formatMap(m: LoadedMapReport): string {
  const kernel = m.kernelName !== m.name ? ` ("${m.kernelName}")` : '';
  return `  ${m.name}${kernel}: ${m.type.toLowerCase()} id ${m.id} key ${m.keySize}B value ${m.valueSize}B max_entries ${m.maxEntries} ${m.origin}${m.pinnedPath ? `, pinned at ${m.pinnedPath}` : ''}`;
}

/** Registers `tsbpf load`. */
export function registerLoad(program: Command): void {
  program
    .command('load')
    .description('load an ELF object (maps, global data, programs) into the kernel and print what was created')
    .argument('<file>', 'BPF ELF object (clang -target bpf, or tsbpf build)')
    .option('--pin <dir>', 'pin every program and map at DIR/<name> (on bpffs) so they outlive this command')
    .option('--pin-maps <dir>', 'directory of maps pinned by name (default /sys/fs/bpf)')
    .option('--on-mismatch <mode>', "a pinned map that does not match: 'error' or 'replace'", 'error')
    .option('--json', 'print JSON')
    .action((file: string, opts: { pin?: string; pinMaps?: string; onMismatch: string; json?: boolean }) => {
      if (opts.onMismatch !== 'error' && opts.onMismatch !== 'replace') throw usage(`--on-mismatch must be 'error' or 'replace', got '${opts.onMismatch}'`);
      // Both directories are checked (bpffs) and created before anything is loaded; on failure what was created goes.
      const dirs = new PinDirs();
      try {
        if (opts.pin) dirs.prepare('--pin', opts.pin);
        if (opts.pinMaps) dirs.prepare('--pin-maps', opts.pinMaps);
        using obj = loadObject(file, { ...(opts.pinMaps ? { pinRoot: opts.pinMaps } : {}), onMismatch: opts.onMismatch });
        if (opts.pin) {
          const done: string[] = [];
          try {
            for (const path of obj.pinPrograms(opts.pin).values()) done.push(path);
            for (const path of obj.pinMaps(opts.pin).values()) done.push(path);
          } catch (e) {
            for (const path of done) rmSync(path, { force: true });
            throw e;
          }
        }
        printLoaded(obj, opts);
      } catch (e) {
        dirs.removeCreated();
        throw e;
      }
    });
}

/** Pin directories a command makes sure of: on bpffs, created if missing, and removed again if the command fails. */
class PinDirs {
  private readonly created: string[] = [];

  /** Checks that `dir` is (or would be created) on bpffs, then creates it. */
  prepare(option: string, dir: string): void {
    const fs = filesystemOf(dir);
    if (!fs.bpffs)
      throw new TsbpfError('CLI_NOT_BPFFS', `${option} ${dir}: not on bpffs (${existingAncestor(dir)} is on ${fs.name}); pins can only live on a BPF filesystem: use a directory under /sys/fs/bpf or mount one (mount -t bpf bpf DIR)`);
    try {
      const first = mkdirSync(dir, { recursive: true });
      if (first) this.created.push(first);
    } catch (e) {
      throw usage(`${option}: cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  /** Removes the directories this command created, with anything it pinned in them. */
  removeCreated(): void {
    for (const dir of this.created.reverse()) {
      try {
        rmSync(dir, { recursive: true });
      } catch {
        // Not empty or already gone: leave it.
      }
    }
  }
}

type Loaded = ReturnType<typeof loadObject>;

/** Prints what `tsbpf load` created (text or JSON). */
function printLoaded(obj: Loaded, opts: { pin?: string; json?: boolean }): void {
  const report = obj.describe();
  const pinned = opts.pin !== undefined || report.maps.some((m) => m.pinnedPath);
  if (opts.json) {
    const programs = report.programs.map((p) => ({ ...p, type: p.type.toLowerCase(), ...(p.expectedAttachType ? { expectedAttachType: p.expectedAttachType.toLowerCase() } : {}) }));
    const maps = report.maps.map((m) => ({ ...m, type: m.type.toLowerCase() }));
    cliIo().stdout.write(`${JSON.stringify({ object: obj.name, programs, maps, warnings: obj.warnings, released: !opts.pin })}\n`);
    return;
  }
  const lines = [`object ${obj.name}`, `programs (${report.programs.length}):`, ...report.programs.map(formatProgram), `maps (${report.maps.length}):`, ...report.maps.map(formatMap)];
  for (const w of obj.warnings) lines.push(`warning: ${w}`);
  if (!opts.pin)
    lines.push(
      pinned
        ? 'note: the programs are released when this command exits (use --pin DIR to keep them); maps pinned by name stay'
        : 'note: nothing was pinned, so everything is released when this command exits (use --pin DIR to keep it)',
    );
  cliIo().stdout.write(`${lines.join('\n')}\n`);
}
