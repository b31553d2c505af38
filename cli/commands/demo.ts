/**
 * `tsbpf demo`: assemble the bundled example (examples/hello.s) into a temporary
 * object and dump it — what `npm start` runs until the real main job exists.
 */
import type { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsbpfError } from '../../dsl/errors.js';
import { assemble, parse } from '../../dsl/isa/index.js';
import { readElf } from '../../dsl/elf/file/index.js';
import { objectFromInstructions } from '../../dsl/elf/index.js';
import { dumpObject } from './dump.js';
import { cliIo } from '../io.js';

/** Path of the bundled example: <root>/examples/hello.s seen from cli/commands/, dist/cli/commands/ or the dist/ bundle. */
function examplePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = ['..', '../..', '../../..'].map((up) => join(here, up, 'examples', 'hello.s'));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new TsbpfError('CLI_DEMO', `the bundled example is missing (looked for ${candidates.join(', ')})`);
  return found;
}

/** Registers `tsbpf demo`. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('assemble the bundled example (examples/hello.s) to a temporary object and disassemble it')
    .action(() => {
      const src = examplePath();
      const insns = assemble(parse(readFileSync(src, 'utf8'), { file: 'examples/hello.s' }));
      const dir = mkdtempSync(join(tmpdir(), 'tsbpf-demo-'));
      try {
        const obj = join(dir, 'hello.o');
        writeFileSync(obj, objectFromInstructions(insns, { section: 'xdp', symbol: 'hello' }));
        cliIo().stdout.write(`# assembled examples/hello.s (${insns.length} instructions) into ${obj}\n`);
        cliIo().stdout.write(dumpObject(readElf(readFileSync(obj)), obj));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
}
