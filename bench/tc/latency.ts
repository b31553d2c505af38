/**
 * p50/p99 latency of new TCP connections (connect, request, reply, close;
 * bench/services/tcp-rr.c) from a pod through the tc ClusterIP datapath (socket
 * LB off: only `tc_clusterip` on the pod's host-side veth ingress and
 * `tc_clusterip_to_pod` on its egress) to the service VIP, at N services in
 * the tables, against a second pod connecting to the backend directly —
 * interleaved rounds, in a pod lab this run creates and removes.
 */
import { compile } from '../../dsl/compile/index.js';
import { attachTc } from '../../loader/links/index.js';
import { loadObject } from '../../loader/object/index.js';
import { createPinDir, createPodLab } from '../../programs/lab/index.js';
import * as clusterip from '../../programs/tc/clusterip.js';
import { compileTcpRr, runClient, startBackend } from '../services/client.js';
import { summarize, type LatencySummary } from '../services/stats.js';
import { fillServices, VIP } from './clusterip-scenarios.js';
import { PROFILE } from './twins.js';

const BACKEND_PORT = 8080;

/** Settings of the latency run. */
export interface LatencySettings {
  /** Service counts, ascending (the measured service is always present). */
  readonly serviceCounts: readonly number[];
  readonly rounds: number;
  readonly connectionsPerRound: number;
}

/** One variant at one N. */
export interface LatencyVariant {
  readonly latency: LatencySummary;
  readonly connections: number;
  readonly failures: number;
  readonly errors: Record<string, number>;
  /** Replies by backend id. */
  readonly backends: Record<string, number>;
}

/** Both variants at one N. */
export interface LatencyRow {
  readonly services: number;
  readonly direct: LatencyVariant;
  readonly tc: LatencyVariant;
  /** tc p50 / direct p50, and the same for p99. */
  readonly ratioP50: number;
  readonly ratioP99: number;
  /** Conntrack entries the datapath held after the rounds (it really translated). */
  readonly ctEntries: number;
}

/** What the run made (all gone when it returns). */
export interface LatencyLab {
  readonly namespaces: string[];
  readonly attach: string;
}

/** Runs the latency comparison. */
export async function runLatency(o: LatencySettings, log: (l: string) => void): Promise<{ rows: LatencyRow[]; lab: LatencyLab }> {
  const bin = compileTcpRr();
  const lab = createPodLab({ tag: 'tclat', pods: ['backend', 'client-direct', 'client-tc'] });
  lab.teardown.add('remove the client binary', () => bin.cleanup());
  try {
    const backend = lab.pod('backend');
    const direct = lab.pod('client-direct');
    const viaTc = lab.pod('client-tc');
    const server = await startBackend(bin.path, backend.ns, BACKEND_PORT, 'backend', 3600);
    lab.teardown.add('stop the backend', () => server.stop('SIGKILL'));
    const pins = createPinDir('tclat');
    lab.teardown.add('unmount the pin dir', () => pins.cleanup());
    const obj = loadObject(compile(clusterip, { target: PROFILE }).object, { pinRoot: pins.path });
    lab.teardown.add('close the datapath', () => obj.close());
    const mode = 'tcx';
    for (const [program, direction] of [['tc_clusterip', 'ingress'], ['tc_clusterip_to_pod', 'egress']] as const) {
      const link = attachTc(obj.program(program), { iface: viaTc.hostIfname, netns: lab.node, direction, mode });
      lab.teardown.add(`detach ${program}`, () => link.close());
    }
    const rows: LatencyRow[] = [];
    let present = 0;
    for (const n of o.serviceCounts) {
      fillServices(obj, n - 1 - Math.max(0, present - 1), { addr: backend.address, port: BACKEND_PORT }, Math.max(0, present - 1));
      present = n;
      const targets = { direct: [`${backend.address}:${BACKEND_PORT}`], tc: [`${VIP.addr}:${VIP.port}`] };
      const acc = { direct: { l: [] as number[], b: {} as Record<string, number>, e: {} as Record<string, number>, c: 0 }, tc: { l: [] as number[], b: {} as Record<string, number>, e: {} as Record<string, number>, c: 0 } };
      const clients = { direct: direct.ns, tc: viaTc.ns };
      for (const id of ['direct', 'tc'] as const) await runClient(bin.path, { netns: clients[id], count: 20, targets: targets[id] });
      for (let r = 0; r < o.rounds; r++) {
        for (const id of r % 2 === 0 ? (['direct', 'tc'] as const) : (['tc', 'direct'] as const)) {
          const run = await runClient(bin.path, { netns: clients[id], count: o.connectionsPerRound, targets: targets[id] });
          const a = acc[id];
          a.l.push(...run.latenciesNs);
          a.c += o.connectionsPerRound;
          for (const [k, v] of Object.entries(run.backends)) a.b[k] = (a.b[k] ?? 0) + v;
          for (const [k, v] of Object.entries(run.errors)) a.e[k] = (a.e[k] ?? 0) + v;
        }
      }
      const variant = (id: 'direct' | 'tc'): LatencyVariant => {
        const a = acc[id];
        return { latency: summarize(a.l), connections: a.c, failures: Object.values(a.e).reduce((x, y) => x + y, 0), errors: a.e, backends: a.b };
      };
      const d = variant('direct');
      const t = variant('tc');
      const ctEntries = [...obj.map('tc_ct4').keys()].length;
      rows.push({ services: n, direct: d, tc: t, ratioP50: t.latency.p50Us / d.latency.p50Us, ratioP99: t.latency.p99Us / d.latency.p99Us, ctEntries });
      log(`latency N=${n}: direct p50 ${d.latency.p50Us.toFixed(1)} µs p99 ${d.latency.p99Us.toFixed(1)}, tc p50 ${t.latency.p50Us.toFixed(1)} µs p99 ${t.latency.p99Us.toFixed(1)} (×${(t.latency.p50Us / d.latency.p50Us).toFixed(3)})`);
    }
    return { rows, lab: { namespaces: [lab.node, ...lab.pods.map((p) => p.ns)], attach: mode } };
  } finally {
    lab.cleanup();
  }
}
