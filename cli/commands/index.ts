/**
 * Every subcommand of `tsbpf`, in the order `--help` lists them. Command modules
 * pull in large parts of the toolchain (the DSL, ELF, BTF, the loader), so when
 * this process is the `tsbpf` CLI and its first argument names a subcommand,
 * only that subcommand's module is imported (`tsbpf probe` does not load or
 * compile the builder); `--help`, `help`, tests and embedders get all of them.
 */
import type { Command } from 'commander';
import { basename } from 'node:path';

/** A subcommand attaches itself to the root program. */
export type RegisterCommand = (program: Command) => void;

/** Each subcommand's module, imported on demand. Add one line per command. */
const loaders: Record<string, () => Promise<RegisterCommand>> = {
  asm: async () => (await import('./asm.js')).registerAsm,
  dump: async () => (await import('./dump.js')).registerDump,
  demo: async () => (await import('./demo.js')).registerDemo,
  probe: async () => (await import('./probe.js')).registerProbe,
  agent: async () => (await import('./agent.js')).registerAgent,
  attach: async () => (await import('./attach.js')).registerAttach,
  btf: async () => (await import('./btf.js')).registerBtf,
  map: async () => (await import('./map.js')).registerMap,
  prog: async () => (await import('./prog.js')).registerProg,
  load: async () => (await import('./load.js')).registerLoad,
  build: async () => (await import('./build.js')).registerBuild,
  lb: async () => (await import('./lb.js')).registerLb,
};

/**
 * The one subcommand this process needs, if it is the `tsbpf` executable (bin
 * script or its npm link) started as `tsbpf <command> …`; undefined otherwise.
 */
export function requestedCommand(argv: readonly string[] = process.argv): string | undefined {
  const script = basename(argv[1] ?? '');
  if (script !== 'tsbpf' && script !== 'tsbpf.js') return undefined;
  const first = argv[2];
  return first !== undefined && Object.hasOwn(loaders, first) ? first : undefined;
}

const only = requestedCommand();

/** The subcommands to register: the requested one, or all of them. */
export const commands: RegisterCommand[] = await Promise.all((only ? [only] : Object.keys(loaders)).map((name) => loaders[name]!()));
