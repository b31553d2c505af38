/**
 * Request/response throughput through NodePort to a remote backend, tsbpf
 * against kube-proxy-style iptables DNAT, in one topology this run creates:
 * a LAN (a bridge in its own namespace) joining a client, a backend and two
 * nodes. Node "bpf" runs `np4_ingress` on its device (tcx): DNAT + SNAT + FIB +
 * redirect back out, replies reverse-translated the same way; node "ipt" has
 * only netfilter: `nat PREROUTING DNAT` to the backend and `POSTROUTING
 * MASQUERADE`, forwarding through its stack. A third variant connects to the
 * backend directly (the floor). Interleaved rounds of new TCP connections
 * (bench/services/tcp-rr.c); reports connections/s and p50/p99. Every rule and
 * address lives only inside the run's namespaces.
 *
 *   client 10.77.0.2 ─┐            ┌─ node-bpf 10.77.0.1 (np4_ingress on n0)
 *   backend 10.77.0.3 ─┴─ br0 (lan) ┴─ node-ipt 10.77.0.4 (iptables DNAT + MASQUERADE)
 */
import { attachTc } from '../../loader/links/index.js';
import { loadObject } from '../../loader/object/index.js';
import { createNetns, createVeth, deleteNetns, ip, nsRun, setSysctl, Teardown } from '../../programs/lab/index.js';
import { setNodeConfig } from '../../programs/tc/nodeport-agent.js';
import { addService, nodePortSpec, type Bench } from '../../test/tc/nodeport-env.js';
import { compileTcpRr, runClient, startBackend } from '../services/client.js';
import { summarize, type LatencySummary } from '../services/stats.js';
import { PROFILE } from './twins.js';

const NODE_PORT = 30080;
const BACKEND_PORT = 8080;
const ADDR = { client: '10.77.0.2', backend: '10.77.0.3', nodeBpf: '10.77.0.1', nodeIpt: '10.77.0.4' };

/** Variant ids, in report order. */
export const THROUGHPUT_VARIANTS = ['direct', 'iptables', 'tsbpf'] as const;
/** A variant id. */
export type ThroughputVariantId = (typeof THROUGHPUT_VARIANTS)[number];

/** One variant's result. */
export interface ThroughputVariant {
  readonly target: string;
  readonly connections: number;
  readonly failures: number;
  readonly errors: Record<string, number>;
  /** Successful connections per second of client time (connections run one after another). */
  readonly connectionsPerS: number;
  readonly latency: LatencySummary;
}

/** The throughput comparison. */
export interface ThroughputResult {
  readonly variants: Record<ThroughputVariantId, ThroughputVariant>;
  /** tsbpf / iptables connections per second. */
  readonly ratioVsIptables: number;
  /** NodePort flows the tsbpf node translated (SNAT entries it held afterwards). */
  readonly tsbpfSnatEntries: number;
  readonly iptablesRestore: string;
  readonly namespaces: string[];
}

/** Runs it: `rounds` interleaved rounds of `connectionsPerRound` connections per variant. */
export async function runNodePortThroughput(o: { rounds: number; connectionsPerRound: number }, log: (l: string) => void): Promise<ThroughputResult> {
  const td = new Teardown();
  const namespaces: string[] = [];
  const ns = (tag: string) => {
    const n = createNetns(tag);
    namespaces.push(n);
    td.add(`delete ${n}`, () => deleteNetns(n));
    return n;
  };
  try {
    const bin = compileTcpRr();
    td.add('remove the client binary', () => bin.cleanup());
    const lan = ns('tcnp-lan');
    ip('-n', lan, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', lan, 'link', 'set', 'br0', 'up');
    const host = (tag: string, addr: string, port: string) => {
      const n = ns(tag);
      createVeth({ ns: n, ifname: 'n0', address: `${addr}/24` }, { ns: lan, ifname: port });
      ip('-n', lan, 'link', 'set', port, 'master', 'br0');
      return n;
    };
    const client = host('tcnp-cl', ADDR.client, 'lcl');
    const backend = host('tcnp-be', ADDR.backend, 'lbe');
    const nodeBpf = host('tcnp-nb', ADDR.nodeBpf, 'lnb');
    const nodeIpt = host('tcnp-ni', ADDR.nodeIpt, 'lni');
    for (const n of [nodeBpf, nodeIpt]) {
      setSysctl(n, 'net.ipv4.ip_forward', 1);
      setSysctl(n, 'net.ipv4.conf.all.send_redirects', 0);
      setSysctl(n, 'net.ipv4.conf.n0.send_redirects', 0);
    }
    const server = await startBackend(bin.path, backend, BACKEND_PORT, 'backend', 3600);
    td.add('stop the backend', () => server.stop('SIGKILL'));

    // Node "ipt": what kube-proxy's iptables mode does for a NodePort with a remote endpoint.
    const restore = /nf_tables/.test(nsRun(nodeIpt, ['iptables', '--version'])) ? 'iptables-nft-restore' : 'iptables-legacy-restore';
    nsRun(nodeIpt, [restore], {
      input: ['*nat',
        `-A PREROUTING -p tcp -d ${ADDR.nodeIpt} --dport ${NODE_PORT} -j DNAT --to-destination ${ADDR.backend}:${BACKEND_PORT}`,
        `-A POSTROUTING -p tcp -d ${ADDR.backend} --dport ${BACKEND_PORT} -j MASQUERADE`,
        'COMMIT', ''].join('\n'),
      timeoutMs: 60_000,
    });

    // Node "bpf": the NodePort datapath on its device.
    const obj = loadObject(nodePortSpec(PROFILE), {});
    td.add('close the NodePort object', () => obj.close());
    const dev = JSON.parse(ip('-n', nodeBpf, '-j', 'link', 'show', 'n0'))[0] as { ifindex: number; address: string };
    setNodeConfig(obj, { nodeIp: ADDR.nodeBpf, ifindex: dev.ifindex, mac: dev.address, portMin: 32768, portMax: 65535 });
    addService({ obj } as Bench, false, { revNatIndex: 1, port: NODE_PORT, backends: [{ id: 1, address: ADDR.backend, port: BACKEND_PORT }] });
    const link = attachTc(obj.program('np4_ingress'), { iface: 'n0', netns: nodeBpf, direction: 'ingress', mode: 'tcx' });
    td.add('detach np4_ingress', () => link.close());

    const targets: Record<ThroughputVariantId, string> = {
      direct: `${ADDR.backend}:${BACKEND_PORT}`, iptables: `${ADDR.nodeIpt}:${NODE_PORT}`, tsbpf: `${ADDR.nodeBpf}:${NODE_PORT}`,
    };
    const acc = Object.fromEntries(THROUGHPUT_VARIANTS.map((id) => [id, { l: [] as number[], e: {} as Record<string, number>, c: 0 }])) as Record<ThroughputVariantId, { l: number[]; e: Record<string, number>; c: number }>;
    for (const id of THROUGHPUT_VARIANTS) await runClient(bin.path, { netns: client, count: 20, targets: [targets[id]] });
    for (let r = 0; r < o.rounds; r++) {
      for (let k = 0; k < THROUGHPUT_VARIANTS.length; k++) {
        const id = THROUGHPUT_VARIANTS[(r + k) % THROUGHPUT_VARIANTS.length]!;
        const run = await runClient(bin.path, { netns: client, count: o.connectionsPerRound, targets: [targets[id]] });
        const a = acc[id];
        a.l.push(...run.latenciesNs);
        a.c += o.connectionsPerRound;
        for (const [e, v] of Object.entries(run.errors)) a.e[e] = (a.e[e] ?? 0) + v;
      }
    }
    const variants = Object.fromEntries(THROUGHPUT_VARIANTS.map((id) => {
      const a = acc[id];
      const totalS = a.l.reduce((x, y) => x + y, 0) / 1e9;
      const v: ThroughputVariant = {
        target: targets[id], connections: a.c, failures: Object.values(a.e).reduce((x, y) => x + y, 0), errors: a.e,
        connectionsPerS: totalS > 0 ? a.l.length / totalS : 0, latency: summarize(a.l),
      };
      log(`throughput ${id}: ${v.connectionsPerS.toFixed(0)} conn/s, p50 ${v.latency.p50Us.toFixed(1)} µs, p99 ${v.latency.p99Us.toFixed(1)} µs, ${v.failures} failed`);
      return [id, v];
    })) as Record<ThroughputVariantId, ThroughputVariant>;
    const tsbpfSnatEntries = [...obj.map('snat4_map').keys()].length;
    return { variants, ratioVsIptables: variants.tsbpf.connectionsPerS / variants.iptables.connectionsPerS, tsbpfSnatEntries, iptablesRestore: restore, namespaces };
  } finally {
    const failures = td.run();
    if (failures.length > 0) log(`teardown: ${failures.join('; ')}`);
  }
}
