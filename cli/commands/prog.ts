/**
 * `tsbpf prog run PINNED|FILE --data HEX|@file`: run a program once (or
 * `--repeat N` times) in the kernel with BPF_PROG_TEST_RUN and print its return
 * value, the data it left and the time it took. FILE is an ELF object (a
 * self-contained program: no maps or globals — load those with `tsbpf load`)
 * or raw instruction bytes (`--type`, default socket_filter).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { TsbpfError } from '../../dsl/errors.js';
import { readObject } from '../../dsl/elf/index.js';
import type { Instruction } from '../../dsl/isa/index.js';
import { sectionDef } from '../../dsl/kernel/sections.js';
import { Program, type ProgramSpec } from '../../loader/index.js';
import { objGet } from '../../loader/sys/bpf.js';
import { AttachType, ProgType, type AttachTypeName, type ProgTypeName } from '../../loader/sys/constants.js';
import { Fd } from '../../loader/sys/fd.js';
import { bpfObjectKind } from '../../loader/sys/fdinfo.js';
import { hex, parseHex } from './map.js';
import { cliIo } from '../io.js';

function usage(message: string): TsbpfError {
  return new TsbpfError('CLI_USAGE', message);
}

/** Bytes from `HEX` or `@file`. */
export function readBytesArg(arg: string, what: string): Uint8Array {
  if (arg.startsWith('@')) {
    try {
      return new Uint8Array(readFileSync(arg.slice(1)));
    } catch (e) {
      throw usage(`${what}: cannot read ${arg.slice(1)}: ${(e as Error).message}`);
    }
  }
  const clean = arg.trim().replace(/^0x/i, '').replace(/[\s:]/g, '');
  return parseHex(clean, clean.length / 2, what);
}

function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** The spec (and license) of one program of an ELF object that needs nothing but itself (and its subprograms). */
export function specFromObject(bytes: Uint8Array, name?: string): { spec: ProgramSpec; license: string } {
  const obj = readObject(bytes);
  const progs = name ? obj.programs.filter((p) => p.name === name) : obj.programs;
  if (progs.length === 0) throw usage(name ? `no program named '${name}' (have: ${obj.programs.map((p) => p.name).join(', ') || 'none'})` : 'the object has no programs');
  if (progs.length > 1) throw usage(`the object has ${progs.length} programs; choose one with --prog (${progs.map((p) => p.name).join(', ')})`);
  if (obj.maps?.length || obj.globals?.length)
    throw usage('the object uses maps or global variables; load it with `tsbpf load --pin DIR` and run the pinned program');
  const prog = progs[0]!;
  sectionDef(prog.section); // an unknown section is an error here, before anything loads
  const insns: Instruction[] = [...prog.instructions];
  for (const sub of obj.subprograms ?? []) {
    const [first, ...rest] = sub.instructions;
    if (!first) continue;
    insns.push({ ...first, meta: { ...first.meta, labels: [...(first.meta?.labels ?? []), sub.name] } }, ...rest);
  }
  return { spec: { name: prog.name.slice(0, 15), section: prog.section, instructions: insns }, license: obj.license };
}

/** Opens a pinned program, or loads one from FILE. */
export function openProgram(target: string, opts: { type?: string; prog?: string; attachType?: string }): Program {
  let fd: Fd | undefined;
  try {
    fd = new Fd(objGet(target), `object pinned at ${target}`);
  } catch {
    fd = undefined; // not a pin: a file
  }
  if (fd) {
    const kind = bpfObjectKind(fd.value);
    if (kind !== 'prog') {
      fd.close();
      throw usage(`${target} is a pinned ${kind === 'unknown' ? 'object' : kind}, not a program`);
    }
    return Program.fromFd(fd);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(target));
  } catch (e) {
    throw usage(`${target}: neither a pinned program nor a readable file (${(e as Error).message})`);
  }
  if (isElf(bytes)) {
    const { spec, license } = specFromObject(bytes, opts.prog);
    return Program.load(spec, { license });
  }
  // Types as bpftool spells them (`sched_cls`) or as the UAPI does (`SCHED_CLS`).
  const type = (opts.type ?? 'socket_filter').toUpperCase() as ProgTypeName;
  if (ProgType[type] === undefined) throw usage(`unknown program type '${type}' (e.g. socket_filter, sched_cls, xdp)`);
  const attach = opts.attachType?.toUpperCase() as AttachTypeName | undefined;
  // Raw bytes have no section: the type (and attach type) given is the program's.
  return Program.load({ name: 'tsbpf_run', section: '', instructions: [], type, ...(attach ? { expectedAttachType: attach } : {}) }, { bytes });
}

/** Registers `tsbpf prog …`. */
export function registerProg(program: Command): void {
  const prog = program.command('prog').description('run BPF programs in the kernel (BPF_PROG_TEST_RUN)');
  prog
    .command('run')
    .description('run a pinned program or a program file on input data and print its return value')
    .argument('<target>', 'pinned program path, ELF object, or raw instruction bytes')
    .option('--data <hex|@file>', 'input packet/data (hex bytes or @file)')
    .option('--ctx <hex|@file>', 'input context struct (hex bytes or @file)')
    .option('--repeat <n>', 'run N times; the duration is the average', '1')
    .option('--type <type>', 'program type for raw instruction files', 'socket_filter')
    .option('--prog <name>', 'which program of an ELF object')
    .option('--attach-type <type>', 'expected attach type for raw instruction files')
    .option('--json', 'print JSON')
    .action((target: string, opts: { data?: string; ctx?: string; repeat: string; type?: string; prog?: string; attachType?: string; json?: boolean }) => {
      const repeat = Number(opts.repeat);
      if (!Number.isInteger(repeat) || repeat < 1) throw usage(`--repeat must be a positive integer, got ${JSON.stringify(opts.repeat)}`);
      if (opts.attachType && AttachType[opts.attachType.toUpperCase() as AttachTypeName] === undefined) throw usage(`unknown attach type '${opts.attachType}'`);
      const data = opts.data === undefined ? undefined : readBytesArg(opts.data, '--data');
      const ctx = opts.ctx === undefined ? undefined : readBytesArg(opts.ctx, '--ctx');
      using p = openProgram(target, {
        ...(opts.type ? { type: opts.type } : {}),
        ...(opts.prog ? { prog: opts.prog } : {}),
        ...(opts.attachType ? { attachType: opts.attachType } : {}),
      });
      const r = p.run({ ...(data ? { data } : {}), ...(ctx ? { ctx } : {}), repeat });
      const info = p.info();
      if (opts.json) {
        cliIo().stdout.write(
          `${JSON.stringify({ program: { id: info.id, name: info.name, type: info.typeName.toLowerCase() }, retval: r.retval, duration: r.duration, repeat, data: hex(r.data), ...(r.ctx ? { ctx: hex(r.ctx) } : {}) })}\n`,
        );
        return;
      }
      const lines = [`retval ${r.retval} (0x${r.retval.toString(16)})`, `duration ${r.duration} ns${repeat > 1 ? ` (average of ${repeat})` : ''}`];
      if (data) lines.push(`data out (${r.data.length} bytes)${r.data.length === data.length && r.data.every((b, i) => b === data[i]) ? ', unchanged' : ''}: ${hex(r.data)}`);
      if (r.ctx) lines.push(`ctx out: ${hex(r.ctx)}`);
      cliIo().stdout.write(`${lines.join('\n')}\n`);
    });
}
