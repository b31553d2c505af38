/**
 * The datapath as the agent sees it: something set up once at start (built
 * for this node, loaded, attached, maps reused from pins) that hands out a
 * programmer for the service tables, and that is either left in place
 * (`close`, on SIGTERM) or removed (`uninstall`).
 */
import type { Logger } from './log.js';
import type { Registry } from './metrics.js';
import type { ServiceProgrammer } from './programmer.js';

/** This node's settings the datapath is built with. */
export interface NodeSettings {
  /** The node's name (`K8S_NODE_NAME`): endpoints on it are local. */
  readonly nodeName: string | undefined;
  /** The node's zone (`topology.kubernetes.io/zone`): EndpointSlice zone hints are followed (topology-aware routing). */
  readonly zone?: string;
  /** bpffs directory holding the pinned maps and links. */
  readonly pinDir: string;
  /** cgroup v2 directory the socket LB attaches to (default: the cgroup2 root, the whole node). */
  readonly cgroup?: string;
  /** The node's own addresses (NodePort from the node); default every address of its interfaces. */
  readonly nodeAddresses?: readonly string[];
  /** NodePort range, or false for no NodePort translation. */
  readonly nodePortRange: readonly [number, number] | false;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** Translate only host-namespace sockets (pods left to a mesh or the tc datapath). */
  readonly hostNamespaceOnly: boolean;
  /** Host-side veths of pods to attach the tc ClusterIP datapath to: names or `*` patterns (default none). */
  readonly tcDevices?: readonly string[];
  /** How often matching devices that appeared are attached (default 5 s). */
  readonly tcRescanMs?: number;
  /** Network namespace of `tcDevices` (default: the agent's). */
  readonly tcNetns?: string;
  /** The node's native device: the tc NodePort datapath is attached there (default none: NodePort only from the node itself, through the socket LB). */
  readonly nodePortDevice?: string;
  /** Network namespace of `nodePortDevice` and of the pods' veths (default: the agent's). */
  readonly nodePortNetns?: string;
  /** NodePort node addresses instead of the device's own, at most one per family. */
  readonly nodePortAddresses?: readonly string[];
  /** Ports NodePort SNAT allocates from for remote backends (default 32768–65535). */
  readonly snatPortRange?: readonly [number, number];
  /** How the NodePort programs are attached: `auto` (tcx, netlink tc where tcx is missing; default), `tcx`, `netlink`. */
  readonly nodePortAttachMode?: 'auto' | 'tcx' | 'netlink';
  /** How often local endpoints are rediscovered besides after each sync (default 5 s). */
  readonly nodePortRefreshMs?: number;
  /** Kernel profile to build for (default `host`: probe the running kernel). */
  readonly target?: string;
}

/** A set-up datapath. */
export interface Datapath {
  /** Writes the service tables. */
  readonly programmer: ServiceProgrammer;
  /** What was set up, for the start-up log (profile, programs, whether maps were reused). */
  readonly description: Readonly<Record<string, unknown>>;
  /** Adds the datapath's own metrics (kernel-side counters) to the agent's registry. */
  registerMetrics?(registry: Registry): void;
  /** Lets go of file descriptors; programs, links and maps stay pinned and keep working. */
  close(): void;
  /** Detaches the programs and removes the pins (the node stops translating services). */
  uninstall(): void;
}

/** Sets up the datapath for a node. */
export type DatapathFactory = (settings: NodeSettings, log: Logger) => Datapath | Promise<Datapath>;
