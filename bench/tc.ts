/**
 * Benchmark of the tc datapath (issue 11 item 5), three parts:
 * 1. ns/packet of each ClusterIP and NodePort path (programs/tc/clusterip.ts,
 *    nodeport.ts, as tsbpf builds them) against clang-19 -O2 builds of C twins
 *    (bench/tc/clusterip.c, nodeport.c), loaded side by side, filled with the
 *    same map contents and run on the same crafted frames with
 *    BPF_PROG_TEST_RUN, interleaved; ratios (goal ≤ 1.05×). Both sides must
 *    give the same return code, byte-identical frames and the same map state,
 *    or the bench fails;
 * 2. request/response throughput through NodePort to a remote backend, tsbpf
 *    vs iptables DNAT + MASQUERADE, in one namespace topology
 *    (bench/tc/nodeport-throughput.ts);
 * 3. p50/p99 connection latency through the tc ClusterIP path (socket LB off)
 *    at 1 and 10,000 services vs direct (bench/tc/latency.ts; goal p50 ≤ 1.10×).
 *
 *   npm run bench:tc                  # full run, results in bench/results/tc.{json,md,svg}
 *   npm run bench:tc -- --quick       # few rounds, results in a temp dir (CI)
 *   options: --out DIR  --rounds R  --runs N (single runs per round and side)
 *
 * Needs root, clang-19, ip and iptables-nft-restore (or -legacy-restore). Namespaces, rules and
 * programs exist only for the run and are removed at its end.
 */
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, positiveInt, runMain, writeResults } from './cli.js';
import { createNodeNs } from '../test/tc/nodeport-env.js';
import { CLUSTERIP_SCENARIOS, fillServices } from './tc/clusterip-scenarios.js';
import { measureScenario, timerFloorNs, type MeasureSettings, type RunOn, type Scenario, type ScenarioResult } from './tc/measure.js';
import { TcAct } from '../dsl/kernel/index.js';
import { program } from '../dsl/program/index.js';
import { loadObject } from '../loader/object/index.js';
import { compareMix } from './tc/insn-classes.js';
import { runLatency } from './tc/latency.js';
import { fillNodePort, NODEPORT_SCENARIOS, runInNode } from './tc/nodeport-scenarios.js';
import { runNodePortThroughput } from './tc/nodeport-throughput.js';
import { reportMarkdown, reportSvg, type ProgramSize, type TcBenchReport } from './tc/report.js';
import { compile } from '../dsl/compile/index.js';
import * as clusterip from '../programs/tc/clusterip.js';
import { nodePortSpec } from '../test/tc/nodeport-env.js';
import { CLANG_ARGS, clangObject, loadClusterIpTwins, loadNodePortTwins, PROFILE, type Side, type Twins } from './tc/twins.js';

const load = () => loadavg().map((x) => Number(x.toFixed(2)));

function sizeOf(side: Side, program: string): ProgramSize {
  const info = side.obj.program(program).info();
  return { xlatedInsns: info.xlatedSize / 8, jitedBytes: info.jitedSize, verifiedInsns: info.verifiedInsns };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:tc needs root (bpf() and BPF_PROG_TEST_RUN)');
  const quick = process.argv.includes('--quick');
  const settings: MeasureSettings & TcBenchReport['settings'] = {
    rounds: positiveInt('rounds', quick ? 3 : 21, 1000),
    runs: positiveInt('runs', quick ? 200 : 3000, 1_000_000),
    extraServices: quick ? 100 : 1000,
    profile: PROFILE,
    clang: CLANG_ARGS.join(' '),
  };
  const out = arg('out') ?? (quick ? join(tmpdir(), 'tsbpf-bench-tc-quick') : join(import.meta.dirname, 'results'));
  const started = Date.now();
  const loadavgStart = load();
  const results: ScenarioResult[] = [];
  const sizes: TcBenchReport['sizes'] = [];
  const measureAll = (twins: Twins, scenarios: readonly Scenario[], run: RunOn, programs: string[]) => {
    for (const s of scenarios) {
      const r = measureScenario(twins.sides, s, settings, run);
      process.stderr.write(`${s.id}: tsbpf ${r.tsbpf.nsPerPacket.toFixed(1)} ns, clang ${r.clang.nsPerPacket.toFixed(1)} ns, ×${r.ratio.toFixed(3)}\n`);
      results.push(r);
    }
    for (const program of programs) sizes.push({ program, tsbpf: sizeOf(twins.sides[0], program), clang: sizeOf(twins.sides[1], program) });
  };
  // The timer cost of one test run, on an empty program.
  const empty = loadObject(compile([program('tc', 'tc_empty', (b) => b.return(TcAct.OK))], { target: PROFILE }).object);
  let timerFloor: number;
  try {
    const frame = new Uint8Array(64);
    timerFloorNs(() => empty.program('tc_empty').run({ data: frame, repeat: 1 }), settings); // warm-up
    timerFloor = timerFloorNs(() => empty.program('tc_empty').run({ data: frame, repeat: 1 }), settings);
  } finally {
    empty.close();
  }
  process.stderr.write(`timer floor: ${timerFloor.toFixed(1)} ns per single run\n`);
  {
    using twins = loadClusterIpTwins();
    for (const side of twins.sides) fillServices(side.obj, settings.extraServices);
    measureAll(twins, CLUSTERIP_SCENARIOS, (obj, program, data, repeat) => obj.program(program).run({ data, repeat: repeat ?? 0 }), ['tc_clusterip']);
  }
  {
    using ns = createNodeNs();
    using twins = loadNodePortTwins();
    for (const side of twins.sides) fillNodePort(side.obj, ns, settings.extraServices);
    measureAll(twins, NODEPORT_SCENARIOS, runInNode(ns), ['np4_ingress', 'np4_from_pod']);
  }
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const throughputSettings = { rounds: quick ? 2 : 10, connectionsPerRound: quick ? 100 : 1000 };
  const throughput = { settings: throughputSettings, ...(await runNodePortThroughput(throughputSettings, log)) };
  const latencySettings = { serviceCounts: [1, 10_000], rounds: quick ? 2 : 10, connectionsPerRound: quick ? 100 : 1000 };
  const latency = { settings: latencySettings, ...(await runLatency(latencySettings, log)) };
  const report: TcBenchReport = {
    benchmark: 'tc',
    quick,
    date: new Date(started).toISOString(),
    machine: { kernel: release(), cpus: cpus().length, loadavgStart, loadavgEnd: load() },
    settings,
    timerFloorNs: timerFloor,
    sizes,
    mix: [
      { program: 'tc_clusterip', ...compareMix(compile(clusterip, { target: PROFILE }).object, clangObject('clusterip'), 'tc_clusterip') },
      ...['np4_ingress', 'np4_from_pod'].map((program) => ({ program, ...compareMix(nodePortSpec(PROFILE), clangObject('nodeport'), program) })),
    ],
    results,
    throughput,
    latency,
    durationS: Math.round((Date.now() - started) / 1000),
  };
  writeResults(out, 'tc', report, reportMarkdown(report), reportSvg(report));
}

runMain('tc', main);
