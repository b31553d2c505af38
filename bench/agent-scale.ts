/**
 * Benchmark: the agent at cluster scale. A list/watch server in its own
 * process (bench/agent-scale-api.ts) holds SERVICES Services with
 * ENDPOINTS_PER_SERVICE endpoints each; the agent (in this process) deploys
 * the real socket LB in a private bpffs, attached to a scratch cgroup.
 *
 *  1. Cold start: from `startAgent()` to every service programmed in the maps
 *     (datapath built and loaded, both lists, the full sync).
 *  2. Churn: RATE EndpointSlice changes per second for SECONDS; per change the
 *     network-programming latency (its trigger-time annotation → programmed,
 *     what kube-proxy reports as network_programming_duration_seconds) and
 *     watch-event → programmed; p50/p99/max, and memory.
 *  3. The same state as kube-proxy's iptables mode writes it (KUBE-SERVICES →
 *     KUBE-SVC-* with statistic random → KUBE-SEP-* DNAT), installed with
 *     `iptables-restore` in a scratch network namespace: what one kube-proxy
 *     full sync costs at this size, side by side with the agent's cold start.
 *
 *   npx tsx bench/agent-scale.ts [SERVICES=10000] [ENDPOINTS_PER_SERVICE=5] [RATE=1000] [SECONDS=10]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startAgent } from '../programs/agent/agent.js';
import { loadKubeConfig } from '../programs/agent/kubeconfig.js';
import { jsonLogger } from '../programs/agent/log.js';
import { socketLbDatapath } from '../programs/agent/socket-datapath.js';
import type { SyncReport } from '../programs/agent/sync-loop.js';
import { createCgroup, createNetns, createPinDir, deleteNetns } from '../programs/lab/index.js';

const SERVICES = Number(process.argv[2] ?? 10_000);
const PER_SERVICE = Number(process.argv[3] ?? 5);
const RATE = Number(process.argv[4] ?? 1000);
const SECONDS = Number(process.argv[5] ?? 10);

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
const ms = (n: number) => `${n.toFixed(2)} ms`;

/** kube-proxy's iptables `nat` table for the same services, as iptables-restore input. */
function kubeProxyRules(services: number, perService: number): string {
  const out: string[] = ['*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];
  const chains: string[] = [];
  const rules: string[] = ['-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000'];
  const vip = (i: number) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  const pod = (i: number, j: number) => {
    const n = i * 8 + j;
    return `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
  };
  for (let i = 0; i < services; i++) {
    const svc = `KUBE-SVC-${i.toString(16).toUpperCase().padStart(16, '0')}`;
    chains.push(`:${svc} - [0:0]`);
    rules.push(`-A KUBE-SERVICES -d ${vip(i)}/32 -p tcp -m comment --comment "ns${i % 100}/svc${i}:http cluster IP" -m tcp --dport 80 -j ${svc}`);
    for (let j = 0; j < perService; j++) {
      const sep = `KUBE-SEP-${(i * 8 + j).toString(16).toUpperCase().padStart(16, '0')}`;
      chains.push(`:${sep} - [0:0]`);
      const left = perService - j;
      rules.push(left > 1 ? `-A ${svc} -m statistic --mode random --probability ${(1 / left).toFixed(11)} -j ${sep}` : `-A ${svc} -j ${sep}`);
      rules.push(`-A ${sep} -s ${pod(i, j)}/32 -j KUBE-MARK-MASQ`);
      rules.push(`-A ${sep} -p tcp -m tcp -j DNAT --to-destination ${pod(i, j)}:8080`);
    }
  }
  return [...out, ...chains, ...rules, 'COMMIT', ''].join('\n');
}

async function main(): Promise<void> {
  const server = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'agent-scale-api.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
  const expect = async (prefix: string): Promise<string> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error(`API server process ended before '${prefix}'`);
      if (value.startsWith(`${prefix} `)) return value.slice(prefix.length + 1);
    }
  };
  const send = (line: string) => server.stdin!.write(`${line}\n`);
  const pins = createPinDir('agent-scale');
  const cgroup = createCgroup('agent-scale');
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  try {
    const url = await expect('url');
    const tPop = performance.now();
    send(`populate ${SERVICES} ${PER_SERVICE}`);
    await expect('populated');
    const populateMs = performance.now() - tPop;

    const reports: SyncReport[] = [];
    const listedAt: Record<string, number> = {};
    const warnings: string[] = [];
    const rssBefore = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    agent = await startAgent({
      kubeConfig: loadKubeConfig({ apiServer: url, env: {} }).config,
      pinDir: join(pins.path, 'agent'),
      cgroup: cgroup.path,
      listen: false,
      datapath: socketLbDatapath,
      log: jsonLogger({
        write: (s: string) => {
          if (s.includes('"warn"') || s.includes('"error"')) warnings.push(s);
          const m = /"msg":"listed","resource":"(\w+)"/.exec(s);
          if (m) listedAt[m[1]!] = performance.now() - t0;
        },
      }, 'info'),
      onSync: (r) => reports.push(r),
    });
    const datapathMs = performance.now() - t0;
    await agent.programmed;
    const coldMs = performance.now() - t0;
    const cpuCold = process.cpuUsage(cpu0);
    const cpuColdMs = (cpuCold.user + cpuCold.system) / 1000;
    const full = reports.find((r) => r.full)!;
    const counts = agent.datapath.programmer.counts();
    const memCold = process.memoryUsage();

    reports.length = 0;
    const cpu1 = process.cpuUsage();
    send(`churn ${RATE} ${SECONDS}`);
    const churned = Number(await expect('churned'));
    // The server has sent every change; wait until this process has read and programmed them all.
    const until = performance.now() + 30_000;
    while (reports.reduce((n, r) => n + r.triggerLatenciesMs.length, 0) < churned && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    await agent.loop.idle();
    const memChurn = process.memoryUsage();
    const cpuChurn = process.cpuUsage(cpu1);
    const cpuChurnMs = (cpuChurn.user + cpuChurn.system) / 1000;
    const trigger = reports.flatMap((r) => r.triggerLatenciesMs);
    const event = reports.flatMap((r) => r.eventLatenciesMs);
    const syncMs = reports.map((r) => r.durationMs);

    // kube-proxy iptables, same state, in a scratch namespace.
    const rulesFile = join(pins.path, '..', `kube-proxy-rules-${process.pid}.txt`);
    writeFileSync(rulesFile, kubeProxyRules(SERVICES, PER_SERVICE));
    const netns = createNetns('agent-scale');
    let iptablesMs = NaN;
    try {
      const t = performance.now();
      const r = spawnSync('sh', ['-c', `ip netns exec ${netns} iptables-restore < ${rulesFile}`], { stdio: 'pipe' });
      iptablesMs = performance.now() - t;
      if (r.status !== 0) throw new Error(`iptables-restore failed: ${r.stderr}`);
    } finally {
      deleteNetns(netns);
      spawnSync('rm', ['-f', rulesFile]);
    }

    const date = new Date().toISOString();
    const load = (await import('node:os')).loadavg()[0]!.toFixed(2);
    const result = {
      date,
      loadavg1: Number(load),
      services: SERVICES,
      endpoints: SERVICES * PER_SERVICE,
      frontends: counts.frontends,
      backends: counts.backends,
      populateMs,
      coldStart: { totalMs: coldMs, cpuMs: cpuColdMs, datapathMs, listedMs: listedAt, fullSyncMs: full.durationMs },
      churn: {
        rate: RATE,
        seconds: SECONDS,
        changes: churned,
        syncs: reports.length,
        cpuMsPerChange: cpuChurnMs / churned,
        programmingLatencyMs: { n: trigger.length, p50: quantile(trigger, 0.5), p99: quantile(trigger, 0.99), max: Math.max(...trigger) },
        eventLatencyMs: { p50: quantile(event, 0.5), p99: quantile(event, 0.99), max: Math.max(...event) },
        syncDurationMs: { p50: quantile(syncMs, 0.5), p99: quantile(syncMs, 0.99) },
      },
      memory: { rssBefore, rssCold: memCold.rss, heapCold: memCold.heapUsed, rssChurn: memChurn.rss, heapChurn: memChurn.heapUsed },
      kubeProxyIptablesRestoreMs: iptablesMs,
      warnings: warnings.length,
    };
    const text = [
      `agent scale (${date}, load ${load}): ${SERVICES} services, ${SERVICES * PER_SERVICE} endpoints (${counts.frontends} frontends, ${counts.backends} backends programmed)`,
      `  cold start to fully programmed: ${ms(coldMs)}, agent CPU ${ms(cpuColdMs)} (datapath compile+load+attach ${ms(datapathMs)}; listed services at ${ms(listedAt.services ?? NaN)}, endpointslices at ${ms(listedAt.endpointslices ?? NaN)}; full sync ${ms(full.durationMs)})`,
      `  kube-proxy iptables-restore of the same state: ${ms(iptablesMs)}  → agent cold start / iptables-restore = ${(coldMs / iptablesMs).toFixed(2)}x`,
      `  churn ${churned} changes at ${RATE}/s in ${reports.length} syncs: programming latency p50 ${ms(result.churn.programmingLatencyMs.p50)}, p99 ${ms(result.churn.programmingLatencyMs.p99)}, max ${ms(result.churn.programmingLatencyMs.max)}`,
      `    agent CPU per change ${ms(cpuChurnMs / churned)} (${((cpuChurnMs / (SECONDS * 1000)) * 100).toFixed(0)}% of one core); watch event → programmed p50 ${ms(result.churn.eventLatencyMs.p50)}, p99 ${ms(result.churn.eventLatencyMs.p99)}; sync p50 ${ms(result.churn.syncDurationMs.p50)}, p99 ${ms(result.churn.syncDurationMs.p99)}`,
      `  memory: RSS ${mb(rssBefore)} before, ${mb(memCold.rss)} programmed (heap ${mb(memCold.heapUsed)}), ${mb(memChurn.rss)} after churn (heap ${mb(memChurn.heapUsed)})`,
      warnings.length ? `  warnings logged: ${warnings.length} (first: ${warnings[0]})` : '',
    ].filter(Boolean).join('\n');
    process.stdout.write(`${text}\n`);
    mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
    writeFileSync(join(import.meta.dirname, 'results', 'agent-scale.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    try {
      await agent?.uninstall();
    } finally {
      send('quit');
      server.stdin!.end();
      cgroup.cleanup();
      pins.cleanup();
    }
  }
}

await main();
