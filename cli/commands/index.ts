/** Every subcommand of `tsbpf`, in the order `--help` lists them. */
import type { Command } from 'commander';
import { registerAsm } from './asm.js';
import { registerDump } from './dump.js';
import { registerDemo } from './demo.js';
import { registerProbe } from './probe.js';
import { registerAttach } from './attach.js';
import { registerBtf } from './btf.js';
import { registerMap } from './map.js';
import { registerProg } from './prog.js';
import { registerLoad } from './load.js';
import { registerBuild } from './build.js';

/** A subcommand attaches itself to the root program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerAsm, registerDump, registerDemo, registerProbe, registerAttach, registerBtf, registerMap, registerProg, registerLoad, registerBuild];
