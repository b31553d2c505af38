/**
 * The services benchmark run: a pod lab (two backend pods, one client pod per
 * variant), the service sets for each N, and for each N the install, the
 * interleaved latency rounds (variant order rotates every round so each sees
 * the same machine load), then add/remove of one service with N present.
 * Everything is torn down in `finally` and on Ctrl-C.
 */
import { loadavg, cpus, release } from 'node:os';
import { createCgroup, createPinDir, createPodLab, run } from '../../programs/lab/index.js';
import { compileTcpRr, runClient, startBackend, type ClientRun } from './client.js';
import { BACKEND_PORT, benchService, benchServices, type Endpoint } from './model.js';
import { loadSockLb } from './socklb.js';
import { median, summarize, type LatencySummary } from './stats.js';
import { directVariant, iptablesVariant, nftablesVariant, tsbpfVariant, VARIANT_IDS, type IptablesBackend, type Variant, type VariantId } from './variants.js';

/** Settings of one run. */
export interface BenchOptions {
  /** Numbers of services, ascending. */
  readonly serviceCounts: readonly number[];
  /** Latency rounds per N (each runs every variant once). */
  readonly rounds: number;
  /** Connections per variant per round. */
  readonly connectionsPerRound: number;
  /** Add/remove repetitions per N. */
  readonly updateRepeats: number;
  readonly iptables: IptablesBackend;
  readonly quick: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** One variant at one N. */
export interface VariantResult {
  readonly label: string;
  readonly latency: LatencySummary;
  /** p50 and p99 over the direct floor's at the same N. */
  readonly ratioP50: number;
  readonly ratioP99: number;
  readonly connections: number;
  readonly failures: number;
  readonly errors: Record<string, number>;
  /** Successful connections by the backend that answered. */
  readonly backends: Record<string, number>;
  /** Installing N services from none (ms), when the variant has a table. */
  readonly installMs?: number;
  /** Median of adding / removing one service with N present (ms). */
  readonly addMs?: number;
  readonly removeMs?: number;
}

/** The whole report (what services.json holds). */
export interface BenchReport {
  readonly benchmark: 'services';
  readonly date: string;
  readonly quick: boolean;
  readonly machine: {
    readonly kernel: string;
    readonly cpus: number;
    readonly loadavgStart: readonly number[];
    readonly loadavgEnd: readonly number[];
    readonly iptables: string;
    readonly nft: string;
  };
  readonly settings: Omit<BenchOptions, 'log'>;
  readonly variants: Record<VariantId, string>;
  /** What the run created (all deleted at its end): namespaces, the test cgroup, the bpffs pin dir. */
  readonly lab: { readonly namespaces: readonly string[]; readonly cgroup: string; readonly pinDir: string };
  /** The socket-LB programs attached to the test cgroup (`program@hook`). */
  readonly tsbpfPrograms: readonly string[];
  readonly results: { readonly services: number; readonly variants: Record<VariantId, VariantResult> }[];
  readonly durationS: number;
}

/** Sample accumulator of one variant at one N. */
interface Acc { latenciesNs: number[]; backends: Record<string, number>; errors: Record<string, number>; connections: number }

function merge(acc: Acc, r: ClientRun, count: number): void {
  acc.latenciesNs.push(...r.latenciesNs);
  acc.connections += count;
  for (const [k, v] of Object.entries(r.backends)) acc.backends[k] = (acc.backends[k] ?? 0) + v;
  for (const [k, v] of Object.entries(r.errors)) acc.errors[k] = (acc.errors[k] ?? 0) + v;
}

/** Runs the benchmark (needs root, clang-19, iptables, nft). */
export async function runServicesBench(o: BenchOptions): Promise<BenchReport> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const loadavgStart = loadavg().map((v) => Math.round(v * 100) / 100);
  const restoreCmd = o.iptables === 'nft' ? 'iptables-nft-restore' : 'iptables-legacy-restore';
  const machine = {
    kernel: release(), cpus: cpus().length, loadavgStart,
    iptables: run([restoreCmd, '--version']).trim(), nft: run(['nft', '--version']).trim(),
  };
  const maxN = Math.max(...o.serviceCounts);
  const lifetimeS = o.quick ? 600 : 4 * 3600;
  const bin = compileTcpRr();
  const lab = createPodLab({ tag: 'bench', pods: ['backend-1', 'backend-2', 'client-direct', 'client-ipt', 'client-nft', 'client-tsbpf'] });
  lab.teardown.add('remove the client binary', () => bin.cleanup());
  try {
    const backendPods = [lab.pod('backend-1'), lab.pod('backend-2')];
    const real: Endpoint[] = backendPods.map((p) => ({ address: p.address, port: BACKEND_PORT }));
    for (const p of backendPods) {
      const server = await startBackend(bin.path, p.ns, BACKEND_PORT, p.name, lifetimeS);
      lab.teardown.add(`stop ${p.name}'s server`, () => server.stop('SIGKILL'));
    }
    const pins = createPinDir('bench-pins');
    lab.teardown.add('unmount the pin dir', () => pins.cleanup());
    const cgroup = createCgroup('bench-lb');
    lab.teardown.add('remove the test cgroup', () => cgroup.cleanup());
    const lb = loadSockLb(cgroup.path, pins.path);
    // Every client runs in a fresh cgroup of its own (only the socket LB's has programs):
    // clients left in the bench process's cgroup measured ~5 µs slower per connection
    // (17:00 UTC run), which made the direct floor slower than the socket LB.
    const clientCgroup = (tag: string) => {
      const cg = createCgroup(tag);
      lab.teardown.add(`remove the ${tag} cgroup`, () => cg.cleanup());
      return cg.path;
    };
    lab.teardown.add('detach and close the socket LB', () => lb.close());

    const variants: Variant[] = [
      directVariant(lab.pod('client-direct'), real, clientCgroup('bench-floor')),
      iptablesVariant(lab.pod('client-ipt'), o.iptables, clientCgroup('bench-ipt')),
      nftablesVariant(lab.pod('client-nft'), clientCgroup('bench-nft')),
      tsbpfVariant(lab.pod('client-tsbpf'), cgroup.path, lb.table),
    ];
    const results: BenchReport['results'] = [];
    for (const n of o.serviceCounts) {
      const services = benchServices(n, real);
      const measured = services[n - 1]!;
      const installMs: Partial<Record<VariantId, number>> = {};
      for (const v of variants) {
        v.reset();
        const t = v.install(services);
        if (t !== undefined) installMs[v.id] = t;
        log(`N=${n} ${v.id}: installed${t === undefined ? '' : ` in ${t.toFixed(1)} ms`}`);
      }
      const acc = Object.fromEntries(variants.map((v) => [v.id, { latenciesNs: [], backends: {}, errors: {}, connections: 0 } as Acc])) as Record<VariantId, Acc>;
      // Warm-up (not counted): caches, ARP, conntrack tables.
      for (const v of variants) await runClient(bin.path, { netns: v.client.ns, cgroup: v.cgroup, count: 20, targets: v.targets(measured) });
      for (let r = 0; r < o.rounds; r++) {
        for (let k = 0; k < variants.length; k++) {
          const v = variants[(r + k) % variants.length]!;
          merge(acc[v.id], await runClient(bin.path, { netns: v.client.ns, cgroup: v.cgroup, count: o.connectionsPerRound, targets: v.targets(measured) }), o.connectionsPerRound);
        }
      }
      log(`N=${n}: ${o.rounds} rounds × ${o.connectionsPerRound} connections per variant done`);
      // The added and removed service: a new VIP with endpoints of its own (never connected to).
      const extra = benchService(maxN);
      const adds: Record<string, number[]> = {};
      const removes: Record<string, number[]> = {};
      for (let k = 0; k < o.updateRepeats; k++) {
        for (const v of variants) {
          const a = v.add(services, extra);
          const d = v.remove(services, extra);
          if (a !== undefined) (adds[v.id] ??= []).push(a);
          if (d !== undefined) (removes[v.id] ??= []).push(d);
        }
      }
      const floor = summarize(acc.direct.latenciesNs);
      const row = {} as Record<VariantId, VariantResult>;
      for (const v of variants) {
        const a = acc[v.id];
        const latency = summarize(a.latenciesNs);
        row[v.id] = {
          label: v.label, latency,
          ratioP50: round3(latency.p50Us / floor.p50Us), ratioP99: round3(latency.p99Us / floor.p99Us),
          connections: a.connections, failures: a.connections - a.latenciesNs.length, errors: a.errors, backends: a.backends,
          ...(installMs[v.id] !== undefined ? { installMs: round3(installMs[v.id]!) } : {}),
          ...(adds[v.id] ? { addMs: round3(median(adds[v.id]!)) } : {}),
          ...(removes[v.id] ? { removeMs: round3(median(removes[v.id]!)) } : {}),
        };
        log(`N=${n} ${v.id}: p50 ${latency.p50Us} µs p99 ${latency.p99Us} µs (×${row[v.id].ratioP50}) backends ${JSON.stringify(a.backends)}`);
      }
      results.push({ services: n, variants: row });
    }
    const { log: _log, ...settings } = o;
    return {
      benchmark: 'services', date: new Date(t0).toISOString(), quick: o.quick,
      machine: { ...machine, loadavgEnd: loadavg().map((v) => Math.round(v * 100) / 100) },
      settings,
      lab: { namespaces: [lab.node, ...lab.pods.map((p) => p.ns)], cgroup: cgroup.path, pinDir: pins.path },
      tsbpfPrograms: lb.attached,
      variants: Object.fromEntries(VARIANT_IDS.map((id) => [id, variants.find((v) => v.id === id)!.label])) as Record<VariantId, string>,
      results,
      durationS: Math.round((Date.now() - t0) / 100) / 10,
    };
  } finally {
    lab.cleanup();
  }
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;
