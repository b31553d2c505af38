/**
 * `tsbpf agent`: the per-node service proxy. Builds the socket load balancer
 * for this node's kernel, deploys it with pinned maps and links, watches
 * Services and EndpointSlices and programs them, serves `/healthz` and
 * `/metrics`, logs JSON lines to stderr. SIGTERM/SIGINT stop it and leave the
 * datapath in place; `--uninstall` removes the datapath and exits.
 * `--nodeport-device` adds the tc NodePort datapath on the native device.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { AgentError } from '../../programs/agent/errors.js';
import { isLogLevel, jsonLogger, type LogLevel } from '../../programs/agent/log.js';
import { cliIo } from '../io.js';

/** Options of `tsbpf agent` as commander parses them. */
export interface AgentCliOptions {
  readonly kubeconfig?: string;
  readonly apiServer?: string;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly pin: string;
  readonly cgroup?: string;
  readonly nodePortRange: string;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly hostNamespaceOnly?: boolean;
  readonly nodeAddress?: string[];
  readonly tcDevice?: string[];
  readonly nodeportDevice?: string;
  readonly nodeportNetns?: string;
  readonly nodeportAddress?: string[];
  readonly snatPortRange?: string;
  readonly listen: string;
  readonly healthCheckAddress: string;
  readonly target?: string;
  readonly logLevel: string;
  readonly debounceMs: string;
  readonly uninstall?: boolean;
}

/** `30000-32767` → [30000, 32767]; `none` → false. */
export function parseNodePortRange(text: string): readonly [number, number] | false {
  if (text === 'none') return false;
  const m = /^(\d+)-(\d+)$/.exec(text);
  const range = m ? ([Number(m[1]), Number(m[2])] as const) : undefined;
  if (!range || range[0] < 1 || range[0] > range[1] || range[1] > 65535)
    throw new AgentError('AGENT_BAD_OPTION', `--node-port-range '${text}' must be FIRST-LAST (1 ≤ FIRST ≤ LAST ≤ 65535) or 'none'`);
  return range;
}

/** `32768-65535` → [32768, 65535] (the ports NodePort SNAT allocates from). */
export function parseSnatPortRange(text: string): readonly [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(text);
  const range = m ? ([Number(m[1]), Number(m[2])] as const) : undefined;
  if (!range || range[0] < 1 || range[0] > range[1] || range[1] > 65535)
    throw new AgentError('AGENT_BAD_OPTION', `--snat-port-range '${text}' must be FIRST-LAST (1 ≤ FIRST ≤ LAST ≤ 65535)`);
  return range;
}

/** `all` → every address (undefined), `none` → no health-check servers, else an IP address to bind. */
export function parseHealthCheckAddress(text: string): string | false | undefined {
  if (text === 'all') return undefined;
  if (text === 'none') return false;
  if (isIP(text) === 0) throw new AgentError('AGENT_BAD_OPTION', `--health-check-address '${text}' must be an IP address, 'all' or 'none'`);
  return text;
}

function parseDebounce(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || n > 10_000) throw new AgentError('AGENT_BAD_OPTION', `--debounce-ms '${text}' must be a number of milliseconds in 0..10000`);
  return n;
}

/** Runs the agent until SIGTERM/SIGINT (or removes the datapath with `--uninstall`). */
export async function runAgent(opts: AgentCliOptions): Promise<void> {
  const io = cliIo();
  if (!isLogLevel(opts.logLevel)) throw new AgentError('AGENT_BAD_OPTION', `--log-level '${opts.logLevel}' must be one of debug, info, warn, error`);
  const log = jsonLogger(io.stderr, opts.logLevel as LogLevel);
  const { socketLbDatapath, uninstallSocketLb } = await import('../../programs/agent/socket-datapath.js');
  if (opts.uninstall) {
    const r = uninstallSocketLb(opts.pin, opts.nodeportNetns);
    log.info('datapath removed', { pinDir: opts.pin, detached: r.detached, tcDevices: r.tcDevices, nodePort: r.nodePort, removedMaps: r.removedMaps.length });
    return;
  }
  const { startAgent } = await import('../../programs/agent/agent.js');
  const agent = await startAgent({
    kube: { kubeconfig: opts.kubeconfig, apiServer: opts.apiServer, env: io.env },
    env: io.env,
    nodeName: opts.nodeName,
    ...(opts.zone !== undefined ? { zone: opts.zone } : {}),
    pinDir: opts.pin,
    cgroup: opts.cgroup,
    nodePortRange: parseNodePortRange(opts.nodePortRange),
    ipv4: opts.ipv4,
    ipv6: opts.ipv6,
    hostNamespaceOnly: opts.hostNamespaceOnly ?? false,
    ...(opts.tcDevice?.length ? { tcDevices: opts.tcDevice.flatMap((a) => a.split(',')).filter(Boolean) } : {}),
    ...(opts.nodeportDevice !== undefined ? { nodePortDevice: opts.nodeportDevice } : {}),
    ...(opts.nodeportNetns !== undefined ? { nodePortNetns: opts.nodeportNetns } : {}),
    ...(opts.nodeportAddress?.length ? { nodePortAddresses: opts.nodeportAddress.flatMap((a) => a.split(',')).filter(Boolean) } : {}),
    ...(opts.snatPortRange !== undefined ? { snatPortRange: parseSnatPortRange(opts.snatPortRange) } : {}),
    ...(opts.nodeAddress?.length ? { nodeAddresses: opts.nodeAddress.flatMap((a) => a.split(',')).filter(Boolean) } : {}),
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    listen: opts.listen === 'none' ? false : opts.listen,
    healthCheckAddress: parseHealthCheckAddress(opts.healthCheckAddress),
    debounceMs: parseDebounce(opts.debounceMs),
    datapath: socketLbDatapath,
    log,
  });
  agent.programmed.then(
    () => log.info('programmed', { services: agent.store.counts().proxied }),
    () => {},
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
  log.info('signal received; stopping', { signal });
  await agent.stop();
}

/** Registers `tsbpf agent`. */
export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('per-node Kubernetes service proxy: program Services/EndpointSlices into the socket load balancer (replaces kube-proxy)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: in-cluster service account, else $KUBECONFIG or ~/.kube/config)')
    .option('--api-server <url>', 'API server URL, overriding the configured one (the ClusterIP of the API server is not programmed yet when we are the proxy)')
    .option('--node-name <name>', "this node's name (default: $K8S_NODE_NAME)")
    .option('--zone <zone>', "this node's zone for topology-aware routing (default: its Node object's topology.kubernetes.io/zone label)")
    .option('--pin <dir>', 'bpffs directory for the pinned maps and links', '/sys/fs/bpf/tsbpf')
    .option('--cgroup <path>', 'cgroup v2 directory to attach to (default: the cgroup2 root, the whole node)')
    .option('--node-port-range <first-last>', "NodePort range, or 'none'", '30000-32767')
    .option('--no-ipv4', 'do not proxy IPv4 services')
    .option('--no-ipv6', 'do not proxy IPv6 services')
    .option('--host-namespace-only', "translate only the host network namespace's sockets (pods left to a service mesh)")
    .option('--node-address <ip...>', "the node's own addresses for NodePort from the node (default: every interface address)")
    .option('--tc-device <ifname...>', "also attach the tc ClusterIP datapath at ingress of these devices or patterns like 'lxc*' (pods' host-side veths, rescanned every 5 s; for --host-namespace-only)")
    .option('--nodeport-device <ifname>', "the node's native device: attach the tc NodePort datapath there (external clients reach NodePort services; replies of local backends through their veths)")
    .option('--nodeport-address <ip...>', 'NodePort node address per family (default: the first global address of --nodeport-device)')
    .option('--nodeport-netns <name>', 'network namespace of --nodeport-device and the pods\' veths (default: the agent\'s; also where --uninstall looks for netlink filters)')
    .option('--snat-port-range <first-last>', 'ports NodePort SNAT allocates from towards remote backends (default 32768-65535)')
    .option('--listen <host:port>', "address of /healthz and /metrics, or 'none'", '0.0.0.0:10256')
    .option('--health-check-address <ip>', "address the healthCheckNodePort servers of externalTrafficPolicy=Local LoadBalancer services bind: an IP, 'all' or 'none'", 'all')
    .option('--target <profile>', 'kernel profile to build for (default: probe this kernel)')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--debounce-ms <ms>', 'window that coalesces a burst of changes into one sync', '1')
    .option('--uninstall', 'detach the programs and remove the pinned maps and links, then exit')
    .action(async (opts: AgentCliOptions) => {
      await runAgent(opts);
    });
}
