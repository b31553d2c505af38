/**
 * Benchmark: new TCP connections to the last-added of N Kubernetes ClusterIP
 * services (2 backend pods each), N = 1, 1,000, 5,000, 10,000, under
 * (a) direct to the backend (the floor), (b) kube-proxy's iptables rules,
 * (c) kube-proxy's nftables layout, (d) the tsbpf socket LB — interleaved in
 * one run, in network namespaces and a test cgroup this run creates.
 * Reports p50/p99 per N with ratios to (a), install time for N services, and
 * add/remove of one service with N present.
 *
 *   npm run bench:services                    # full run, results in bench/results/
 *   npm run bench:services -- --quick         # N = 1, 1,000, few connections (CI)
 *   options: --out DIR  --iptables nft|legacy  --n 1,1000  --rounds R  --connections C
 *
 * Needs root, clang-19, iptables and nft. Every rule lives inside the run's own
 * namespaces; they are deleted at the end and on Ctrl-C.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { arg, positiveInt, runMain, writeResults } from './cli.js';
import { run } from '../programs/lab/index.js';
import { reportMarkdown, reportSvg } from './services/report.js';
import { runServicesBench, type BenchOptions } from './services/run.js';
import type { IptablesBackend } from './services/variants.js';

/** The iptables backend the host uses (what kube-proxy's iptables wrapper would pick on it). */
function hostIptablesBackend(): IptablesBackend {
  return /nf_tables/.test(run(['iptables', '--version'])) ? 'nft' : 'legacy';
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:services needs root (network namespaces, iptables/nft inside them, bpf(), a test cgroup)');
  const quick = process.argv.includes('--quick');
  const nText = arg('n');
  const serviceCounts = nText ? nText.split(',').map(Number) : quick ? [1, 1000] : [1, 1000, 5000, 10000];
  if (serviceCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 50_000)) throw new Error(`--n ${nText}: want integers 1..50000, comma-separated`);
  serviceCounts.sort((a, b) => a - b);
  const backend = (arg('iptables') ?? hostIptablesBackend()) as IptablesBackend;
  if (backend !== 'nft' && backend !== 'legacy') throw new Error(`--iptables ${backend}: want nft or legacy`);
  const options: BenchOptions = {
    serviceCounts,
    rounds: positiveInt('rounds', quick ? 3 : 20, 1000),
    connectionsPerRound: positiveInt('connections', quick ? 100 : 1000, 100_000),
    updateRepeats: quick ? 3 : 5,
    iptables: backend,
    quick,
    log: (l) => process.stderr.write(`${l}\n`),
  };
  const out = arg('out') ?? (quick ? join(tmpdir(), 'tsbpf-bench-services-quick') : join(import.meta.dirname, 'results'));
  const report = await runServicesBench(options);
  writeResults(out, 'services', report, reportMarkdown(report), reportSvg(report));
}

runMain('services', main);
