/** Every subcommand of `tsbpf`, in the order `--help` lists them. */
import type { Command } from 'commander';

/** A subcommand attaches itself to the root program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [];
