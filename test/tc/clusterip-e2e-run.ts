/**
 * One ClusterIP end-to-end run: the namespace topology, a loaded datapath build,
 * its tc attachments and an optional backend server — made together and torn
 * down together in `finally`, whatever the test body did. The e2e files
 * (services, hairpin, ICMP errors) each add their services and traffic to it.
 */
import { attachTc } from '../../loader/links/index.js';
import { runBounded } from '../support/netns.js';
import { loadDatapath, type BuildName, type Datapath } from './clusterip-harness.js';
import { createClusterIpTopology, POD_CLIENT, startBackendServer, type BackendServer, type ClusterIpTopology } from './clusterip-e2e-topology.js';

/** How the programs are attached: tcx links, or netlink tc filters (the 4.19 builds). */
export type AttachMode = 'netlink' | 'tcx';

/** What a run hands its body. */
export interface ClusterIpRun {
  readonly topo: ClusterIpTopology;
  readonly dp: Datapath;
  /**
   * Attaches the datapath for a pod on `topo.podVeth`: `tc_clusterip` at its ingress,
   * and for a backend in the `local` pod namespace also at the backend's veth
   * (replies reverse-NATed as they leave it), or for a `remote` one (or
   * `hairpin`, the pod itself) the to-pod program at the client's veth egress.
   */
  attachFor(where: 'local' | 'remote' | 'hairpin'): void;
  /** Starts the backend server in `netns` (stopped at the end of the run). */
  serve(netns: string): Promise<void>;
}

/** The JSON line {@link POD_CLIENT} prints: per TCP connection and per UDP datagram. */
export interface PodResult {
  readonly tcp: { ok: boolean; data?: string; peer?: string; code?: string }[];
  readonly udp: { data: string; peer: string }[];
}

/** Runs {@link POD_CLIENT} in `pod` against `host` (TCP 80, UDP 53), `count` of each. */
export async function podTraffic(pod: string, host: string, count: number): Promise<PodResult> {
  const r = await runBounded(['ip', 'netns', 'exec', pod, process.execPath, '-e', POD_CLIENT, host, '80', '53', String(count)], 20_000);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`pod client gave no result (code ${r.code}, timed out ${r.timedOut}): ${r.stderr}`);
  return JSON.parse(line) as PodResult;
}

/** Sets up a run of `build` attached by `mode`, runs `body`, and removes everything. */
export async function withClusterIpRun(build: BuildName, mode: AttachMode, body: (run: ClusterIpRun) => Promise<void>): Promise<void> {
  const topo = createClusterIpTopology();
  const links: { close(): void }[] = [];
  let server: BackendServer | undefined;
  let dp: Datapath | undefined;
  try {
    const loaded = (dp = loadDatapath(build));
    const attach = (program: string, iface: string, direction: 'ingress' | 'egress') =>
      links.push(attachTc(loaded.obj.program(program), { iface, netns: topo.node, direction, mode }));
    await body({
      topo,
      dp: loaded,
      attachFor(where) {
        attach('tc_clusterip', topo.podVeth, 'ingress');
        if (where === 'local') attach('tc_clusterip', topo.backendVeth, 'ingress');
        else attach('tc_clusterip_to_pod', topo.podVeth, 'egress');
      },
      async serve(netns) {
        server = startBackendServer(netns);
        await server.ready;
      },
    });
  } finally {
    await server?.stop();
    for (const l of links) l.close();
    dp?.close();
    topo.cleanup();
  }
}
