/**
 * Benchmark: the full `tsbpf probe` against `bpftool feature probe kernel`, in
 * the same run, alternating so both see the same machine load.
 *
 *   npx tsx bench/probe.ts [runs=7]
 *
 * Reports, per tool, the median and min wall time and the bpf() call count, and
 * the ratios. "in-process" is `probeKernel()` in this process (what a build with
 * `--target host` or an agent pays); "CLI" is `node bin/tsbpf.js probe --json`
 * as a fresh process (adds Node + TypeScript loading).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { clearProbeCache, probeKernel } from '../loader/probe/index.js';

const runs = Number(process.argv[2] ?? 7);
const root = join(import.meta.dirname, '..');
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function timeBpftool(): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bpftool', ['feature', 'probe', 'kernel'], { stdio: ['ignore', 'ignore', 'ignore'] });
  if (r.status !== 0) throw new Error(`bpftool feature probe kernel failed (status ${r.status})`);
  return ms(t0);
}

function timeInProcess(): number {
  clearProbeCache();
  const t0 = process.hrtime.bigint();
  const report = probeKernel();
  const t = ms(t0);
  if (!report.helpers) throw new Error(`probe incomplete: ${report.notes?.join(' ') ?? ''}`);
  return t;
}

function timeCli(): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(root, 'bin', 'tsbpf.js'), 'probe', '--json'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`tsbpf probe failed (status ${r.status})`);
  return ms(t0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const min = (xs: number[]) => Math.min(...xs);

/** CPU time (user + system, ms) of one bpftool run, from its rusage. */
function bpftoolCpu(): number {
  const out = execFileSync('sh', ['-c', 'bpftool feature probe kernel >/dev/null; cat /proc/$$/stat >/dev/null; times'], { encoding: 'utf8' });
  // `times` prints shell and children user/system times: second line is the children's.
  const line = out.trim().split('\n').pop() ?? '';
  const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return (secs[0]! + secs[1]!) * 1000;
}

/** CPU time (user + system, ms) of one in-process probe. */
function ourCpu(): number {
  clearProbeCache();
  const c = process.cpuUsage();
  probeKernel();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
}

// Warm up both (page cache for vmlinux BTF, module loading).
timeBpftool();
timeInProcess();
const bpftool: number[] = [];
const ours: number[] = [];
const cli: number[] = [];
for (let i = 0; i < runs; i++) {
  if (i % 2 === 0) {
    bpftool.push(timeBpftool());
    ours.push(timeInProcess());
  } else {
    ours.push(timeInProcess());
    bpftool.push(timeBpftool());
  }
  cli.push(timeCli());
}
const probe = probeKernel();
const pairs = Object.values(probe.helpers ?? {}).reduce((n, hs) => n + Object.keys(hs).length, 0);
const cpuTheirs = [bpftoolCpu(), bpftoolCpu(), bpftoolCpu()];
const cpuOurs = [ourCpu(), ourCpu(), ourCpu()];

const row = (name: string, xs: number[]) => `${name.padEnd(32)} median ${median(xs).toFixed(1).padStart(7)} ms   min ${min(xs).toFixed(1).padStart(7)} ms`;
console.log(`kernel ${probe.system?.kernel.release}, ${runs} alternating runs, ${pairs} (program type, helper) pairs probed by tsbpf, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(row('bpftool feature probe kernel', bpftool));
console.log(row('tsbpf probeKernel() in-process', ours));
console.log(row('tsbpf probe --json (new process)', cli));
console.log(`ratio in-process / bpftool: ${(median(ours) / median(bpftool)).toFixed(2)} (median), ${(min(ours) / min(bpftool)).toFixed(2)} (min)`);
console.log(`CPU time (user+sys): bpftool min ${min(cpuTheirs).toFixed(0)} ms, tsbpf in-process min ${min(cpuOurs).toFixed(0)} ms`);
console.log(`ratio CLI / bpftool:        ${(median(cli) / median(bpftool)).toFixed(2)} (median), ${(min(cli) / min(bpftool)).toFixed(2)} (min)`);
