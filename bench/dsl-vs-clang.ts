/**
 * Generated code size: five programs written both in the DSL
 * (examples/packet-counter.ts, connect4.ts, csum-rewrite.ts, and the branchy
 * datapath twins bench/twins/tc-dnat.ts — a tc DNAT with conntrack — and
 * bench/twins/snat-ports.ts — an SNAT port search loop) and in C
 * (bench/dsl-vs-clang.c). Reports our instruction count (as `tsbpf build
 * --target 6.1` emits it, ISA v3) next to `clang-19 -O2 -g -target bpf -mcpu=v3`'s (-g only adds BTF)
 * and the ratio; the goal is ≤ 1.0×. A size claim, not a timing one, so
 * test/build/size-vs-clang.test.ts checks the same numbers.
 *
 *   npx tsx bench/dsl-vs-clang.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, importModule } from '../dsl/compile/index.js';
import { readObject } from '../dsl/elf/index.js';
import { slots } from '../dsl/isa/index.js';
import { profileByName } from '../dsl/kernel/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..');

/** The compared programs: example module, program name (same in C). */
export const COMPARED = [
  { module: 'packet-counter', program: 'count_packets' },
  { module: 'connect4', program: 'sock4_connect' },
  { module: 'csum-rewrite', program: 'csum_rewrite' },
  { module: 'twins/tc-dnat', program: 'tc_dnat' },
  { module: 'twins/snat-ports', program: 'snat_ports' },
] as const;

/** One row of the comparison. */
export interface SizeRow {
  readonly program: string;
  readonly ours: number;
  readonly clang: number;
  readonly ratio: number;
}

/** Builds both sides and counts instruction slots per program. */
export async function compareSizes(): Promise<SizeRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-size-'));
  try {
    const obj = join(dir, 'c.o');
    execFileSync('clang-19', ['-O2', '-g', '-target', 'bpf', '-mcpu=v3', '-I/usr/include/x86_64-linux-gnu', '-c', join(here, 'dsl-vs-clang.c'), '-o', obj]);
    const c = readObject(new Uint8Array(readFileSync(obj)));
    const profile = profileByName('6.1');
    const rows: SizeRow[] = [];
    for (const { module, program } of COMPARED) {
      const file = module.startsWith('twins/') ? join(here, `${module}.ts`) : join(root, 'examples', `${module}.ts`);
      const built = compile(await importModule(file), { target: profile, what: module });
      const count = (insns: readonly { opcode: number }[]) => insns.reduce((n, i) => n + slots(i as never), 0);
      const ours = count(built.object.programs.find((p) => p.name === program)!.instructions);
      const theirs = count(c.programs.find((p) => p.name === program)!.instructions);
      rows.push({ program, ours, clang: theirs, ratio: ours / theirs });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await compareSizes();
  const w = Math.max(...rows.map((r) => r.program.length), 7);
  console.log(`${'program'.padEnd(w)}  tsbpf  clang-19 -O2  ratio`);
  for (const r of rows) console.log(`${r.program.padEnd(w)}  ${String(r.ours).padStart(5)}  ${String(r.clang).padStart(12)}  ${r.ratio.toFixed(2)}×`);
  const worst = Math.max(...rows.map((r) => r.ratio));
  console.log(`worst ratio ${worst.toFixed(2)}× (goal ≤ 1.00×)`);
}
