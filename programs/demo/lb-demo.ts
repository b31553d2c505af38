/**
 * `npm start`: the socket load balancer end to end, self-contained. It builds
 * a one-node cluster in network namespaces (a client pod and two backend
 * pods), compiles the socket LB for this kernel in-process and attaches it to
 * a demo cgroup (pins on a private bpffs), adds a service, makes real
 * connections from the client pod to the service address, and prints how they
 * were spread over the backends and what each connection cost — then tears
 * everything down, also on Ctrl-C / SIGTERM (the lab's teardown).
 */
import { TsbpfError } from '../../dsl/errors.js';
import { createCgroup, createPinDir, createPodLab, startEchoServer, type EchoServer } from '../lab/index.js';
import { lbDown, lbUp } from '../lb/deploy.js';
import { ServiceManager } from '../lb/manager.js';
import { quantile, startClient, type ClientReport } from './traffic.js';

/** The demo cannot run here (not root, a tool missing). */
export class DemoError extends TsbpfError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** Options of {@link runLbDemo}. */
export interface LbDemoOptions {
  /** New connections to the service (default 200). */
  readonly connections?: number;
  /** Where the demo prints (one line per call). */
  readonly write: (line: string) => void;
}

/** What the demo measured. */
export interface LbDemoReport {
  /** Backend pod → connections it answered. */
  readonly spread: Readonly<Record<string, number>>;
  readonly failed: number;
  /** Per-connection latency through the service and straight to a backend (µs). */
  readonly viaService: { readonly p50: number; readonly p99: number };
  readonly direct: { readonly p50: number; readonly p99: number };
}

const VIP = '10.96.0.10';
const VIP_PORT = 80;
const BACKEND_PORT = 8080;

const us = (v: number) => `${Math.round(v)} µs`;
const bar = (share: number) => '#'.repeat(Math.round(share * 40));

/** Runs the demo (see the module comment); throws a DemoError when it cannot run here. */
export async function runLbDemo(options: LbDemoOptions): Promise<LbDemoReport> {
  const { write } = options;
  const connections = options.connections ?? 200;
  if (process.getuid?.() !== 0)
    throw new DemoError(
      'DEMO_NEEDS_ROOT',
      'the demo needs root: it creates network namespaces, a cgroup and a private bpffs mount and loads BPF programs (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF); run it as root, e.g. sudo npm start',
    );
  const started = performance.now();
  const lab = createPodLab({ pods: ['client', 'backend-1', 'backend-2'], tag: 'demo' });
  try {
    const cgroup = createCgroup('demo');
    lab.teardown.add(`remove cgroup ${cgroup.path}`, () => cgroup.cleanup());
    const pins = createPinDir('demo-pins');
    lab.teardown.add(`unmount ${pins.path}`, () => pins.cleanup());
    const pinDir = `${pins.path}/lb`;
    lab.teardown.add('lb down --purge', () => void lbDown({ pinDir, purge: true }));

    const backends = [lab.pod('backend-1'), lab.pod('backend-2')];
    const servers: EchoServer[] = [];
    lab.teardown.add('stop the backend servers', () => servers.forEach((s) => s.child.stop('SIGKILL')));
    for (const pod of backends) servers.push(await startEchoServer({ netns: pod.ns, id: pod.name, tcpPort: BACKEND_PORT, lifetimeMs: 60_000 }));
    const client = lab.pod('client');
    write(`tsbpf socket load balancer demo`);
    write(`  pods (network namespaces): client ${client.address}, ${backends.map((p) => `${p.name} ${p.address}:${BACKEND_PORT}`).join(', ')}`);

    const up = lbUp({ cgroup: cgroup.path, pinDir });
    write(`  socket LB compiled in-process for kernel ${up.kernel}: ${up.programs.map((p) => p.hook).join(', ')}`);
    write(`  attached to the demo cgroup ${cgroup.path} (the client runs in it); maps pinned on a private bpffs`);
    {
      using mgr = ServiceManager.fromPins(pinDir);
      mgr.upsertService({ frontend: { address: VIP, port: VIP_PORT, protocol: 'TCP' }, backends: backends.map((p) => ({ address: p.address, port: BACKEND_PORT })) });
    }
    write(`  service ${VIP}:${VIP_PORT}/TCP -> ${backends.map((p) => `${p.address}:${BACKEND_PORT}`).join(', ')}`);

    // One client, connections alternating between the service and a backend directly, so both are measured alike.
    const run = startClient({
      netns: client.ns,
      cgroup: cgroup.path,
      host: VIP,
      port: VIP_PORT,
      also: [{ host: backends[0]!.address, port: BACKEND_PORT }],
      count: 2 * connections,
      timeoutMs: 15_000,
    });
    // Stopped by the teardown too, so the cgroup can go on Ctrl-C.
    lab.teardown.add('stop the client', () => run.child.stop('SIGKILL'));
    const via = await run.report;
    const report = summarize(via);

    write('');
    write(`${connections} new connections (connect, request, response, close) from the client pod to ${VIP}:${VIP_PORT}:`);
    const total = Object.values(report.spread).reduce((a, b) => a + b, 0);
    for (const pod of backends) {
      const n = report.spread[pod.name] ?? 0;
      write(`  ${pod.name.padEnd(10)} ${String(n).padStart(5)}  ${(total ? (100 * n) / total : 0).toFixed(1).padStart(5)}%  ${bar(total ? n / total : 0)}`);
    }
    write(`  failed     ${String(report.failed).padStart(5)}${report.failed ? `  (${Object.entries(count(via.failures.map((f) => f.code))).map(([c, n]) => `${c} ${n}`).join(', ')})` : ''}`);
    write('latency per connection (interleaved with as many straight to a pod):');
    write(`  through the service   p50 ${us(report.viaService.p50).padStart(8)}   p99 ${us(report.viaService.p99).padStart(8)}`);
    write(`  straight to ${backends[0]!.name} p50 ${us(report.direct.p50).padStart(8)}   p99 ${us(report.direct.p99).padStart(8)}`);
    write(`  (the balancing happens once, at connect(); packets then go straight to the backend)`);
    const failures = lab.teardown.run();
    if (failures.length) throw new DemoError('DEMO_TEARDOWN', `tearing the demo down: ${failures.join('; ')}`);
    write(`torn down: namespaces, cgroup, links, maps and the bpffs mount (${((performance.now() - started) / 1000).toFixed(1)} s in all)`);
    return report;
  } finally {
    // After an error (or when run() above already ran: it runs once).
    lab.teardown[Symbol.dispose]();
  }
}

function count(codes: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of codes) out[c] = (out[c] ?? 0) + 1;
  return out;
}

function summarize(r: ClientReport): LbDemoReport {
  const direct = r.byTarget[1] ?? [];
  return {
    spread: r.answers,
    failed: r.failures.length,
    viaService: { p50: quantile(r.latenciesUs, 0.5), p99: quantile(r.latenciesUs, 0.99) },
    direct: { p50: quantile(direct, 0.5), p99: quantile(direct, 0.99) },
  };
}
