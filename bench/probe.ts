/**
 * Benchmark: the full `tsbpf probe --json` against `bpftool -j feature probe
 * kernel`, in the same run, interleaved so every variant sees the same machine
 * load.
 *
 *   npm run build && npx tsx bench/probe.ts [runs=15]
 *
 * Variants, each timed as wall clock (median and min over the runs):
 * - `bpftool -j feature probe kernel` as a process;
 * - `node -e 0`: Node's own start, the floor of any Node CLI;
 * - `node bin/tsbpf.js probe --json --fresh` as a process, running the CLI
 *   bundle dist/bundle/tsbpf-cli.js (what an installed package runs) and asking
 *   the kernel everything, as bpftool does — the fair comparison for the first
 *   probe of a boot;
 * - the same without `--fresh`: the answers come from the boot cache
 *   (loader/probe/boot-cache.ts), what every later call in the boot pays;
 * - the `--fresh` CLI from the unbundled compiled modules (dist/cli/main.js),
 *   to show what the bundle saves;
 * - `probeKernel()` in this process: asking the kernel with helper workers on
 *   the other cores (default) and on one thread (`threads: 0`), and from the
 *   boot cache — what `tsbpf build --target host` or an agent embedding tsbpf
 *   pays.
 * The boot cache lives in a temporary directory of this run
 * ($TSBPF_PROBE_CACHE), written by the warm-up.
 * Also the CPU time (user + system, children's rusage from /proc/self/stat) of
 * both processes, and the machine's load average, which moves every number on a
 * shared 2-core machine: read the ratios together with it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { clearProbeCache, probeKernel } from '../loader/probe/index.js';

const runs = Number(process.argv[2] ?? 15);
const cacheDir = mkdtempSync(join(tmpdir(), 'tsbpf-bench-probe-'));
process.env.TSBPF_PROBE_CACHE = cacheDir;
process.on('exit', () => rmSync(cacheDir, { recursive: true, force: true }));
const root = join(import.meta.dirname, '..');
const bundle = join(root, 'dist', 'bundle', 'tsbpf-cli.js');
const compiledCli = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(bundle) || !existsSync(compiledCli))
  throw new Error('dist/ is missing: run `npm run build` first (the CLI is timed as installed, from the bundle)');

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const TICK_MS = 10; // USER_HZ = 100 on Linux

/** Waited-for children's user+system CPU so far, in ms (fields cutime, cstime of /proc/self/stat). */
function childrenCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
}

/** Runs a command to completion; returns wall and CPU time. */
function timeProcess(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): { wall: number; cpu: number } {
  const c0 = childrenCpu();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env, maxBuffer: 1 << 26 });
  const wall = ms(t0);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (status ${r.status}): ${r.stderr}`);
  return { wall, cpu: childrenCpu() - c0 };
}

const bpftool = () => timeProcess('bpftool', ['-j', 'feature', 'probe', 'kernel']);
const nodeStart = () => timeProcess(process.execPath, ['-e', '0']);
const cli = (...extra: string[]) => () => timeProcess(process.execPath, [join(root, 'bin', 'tsbpf.js'), 'probe', '--json', ...extra]);
// dist/cli/main.js run as `tsbpf probe --json` (argv[1] named tsbpf, so only the probe command loads).
const unbundledCli = () =>
  timeProcess(process.execPath, [
    '--input-type=module',
    '-e',
    `process.argv[1] = 'tsbpf'; const { main } = await import(${JSON.stringify(pathToFileURL(compiledCli).href)}); process.exitCode = (await main(process.argv)) ?? process.exitCode;`,
    'tsbpf',
    'probe',
    '--json',
    '--fresh',
  ]);

function inProcess(threads?: number, fromBootCache = false): { wall: number; cpu: number } {
  if (fromBootCache) clearProbeCache(); // forget this process's answers, keep the file
  const c = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const report = probeKernel({ fresh: !fromBootCache, threads });
  if (fromBootCache && !report.cache?.hit) throw new Error('the boot cache was not used');
  const wall = ms(t0);
  const d = process.cpuUsage(c);
  if (!report.helpers) throw new Error(`probe incomplete: ${report.notes?.join(' ') ?? ''}`);
  return { wall, cpu: (d.user + d.system) / 1000 };
}

const variants = {
  'bpftool -j feature probe kernel': bpftool,
  'node -e 0 (Node start)': nodeStart,
  'probe --json --fresh (bundle, process)': cli('--fresh'),
  'probe --json boot cache (bundle, process)': cli(),
  'probe --json --fresh (dist/cli, process)': unbundledCli,
  'probeKernel() in-process, workers': () => inProcess(),
  'probeKernel() in-process, 1 thread': () => inProcess(0),
  'probeKernel() in-process, boot cache': () => inProcess(undefined, true),
} as const;
type Name = keyof typeof variants;
const names = Object.keys(variants) as Name[];
const wall = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;
const cpu = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;

// Warm up every variant (page cache for vmlinux BTF and dist/, koffi).
for (const n of names) variants[n]();
const load0 = loadavg()[0]!;
for (let i = 0; i < runs; i++) {
  // Rotate the order each round so no variant always runs right after another.
  for (let k = 0; k < names.length; k++) {
    const n = names[(i + k) % names.length]!;
    const r = variants[n]();
    wall[n].push(r.wall);
    cpu[n].push(r.cpu);
  }
}
const load1 = loadavg()[0]!;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const min = (xs: number[]) => Math.min(...xs);
const probe = probeKernel();
const pairs = Object.values(probe.helpers ?? {}).reduce((n, hs) => n + Object.keys(hs).length, 0);

console.log(
  `${new Date().toISOString()} kernel ${probe.system?.kernel.release}, ${availableParallelism()} CPUs, ${runs} rotating runs, ` +
    `${pairs} (program type, helper) pairs, load average ${load0.toFixed(1)} before / ${load1.toFixed(1)} after`,
);
for (const n of names)
  console.log(
    `${n.padEnd(42)} wall median ${median(wall[n]).toFixed(0).padStart(5)} ms  min ${min(wall[n]).toFixed(0).padStart(5)} ms   ` +
      `CPU median ${median(cpu[n]).toFixed(0).padStart(5)} ms`,
  );
const base: Name = 'bpftool -j feature probe kernel';
for (const n of names.slice(1))
  console.log(
    `ratio ${n.padEnd(42)} / bpftool: ${(median(wall[n]) / median(wall[base])).toFixed(2)} (median wall), ` +
      `${(min(wall[n]) / min(wall[base])).toFixed(2)} (min wall)`,
  );
