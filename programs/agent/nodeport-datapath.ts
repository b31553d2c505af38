/**
 * The NodePort datapath (programs/tc/nodeport.ts) as the agent deploys it on
 * the node's native device: compiled for this node's kernel profile, loaded
 * with its maps pinned by name in the agent's pin directory — the service
 * tables are the socket LB's own pins (one set of tables, written by the
 * manager), the SNAT, flow, neighbour, node-configuration and local-endpoint
 * tables and the counters get their own pins, so a restart keeps every
 * established flow — and attached through pinned tcx links (nodeport-links.ts):
 * - `npX_ingress` on the native device's ingress (requests and replies),
 * - `npX_egress` on its egress (the node's own flows reserve their ports),
 * - `npX_from_pod` on the host-side veth of every local backend (its replies),
 *   first in the veth's tcx chain: it hands on what it does not translate, so a
 *   tc ClusterIP program there (`tcDevices`) still sees the pod's other traffic.
 *
 * The node configuration comes from the device (nodeport-node.ts); local
 * endpoints are found among the backends the manager marked local (endpoints
 * carrying this node's name), through the routing and neighbour tables
 * (nodeport-endpoints.ts), at every `refresh()`: the agent calls it after each
 * sync and periodically. A pod of this node is reachable through NodePort only
 * that way — the remote path's FIB lookup is bound to the native device — so
 * NodePort to local pods needs the node name (`K8S_NODE_NAME`).
 */
import { mkdirSync } from 'node:fs';
import { compile } from '../../dsl/compile/index.js';
import type { TargetProfile } from '../../dsl/kernel/index.js';
import type { AnySchema } from '../../dsl/types/index.js';
import type { TcAttachMode } from '../../loader/links/index.js';
import { NetlinkSocket } from '../../loader/netlink/index.js';
import { loadObject, type LoadedObject } from '../../loader/object/index.js';
import { backends4, backends6 } from '../lb/maps.js';
import { BACKEND_FLAG_LOCAL } from '../lb/schemas.js';
import * as nodeport from '../tc/nodeport.js';
import { deleteLocalEndpoint, dropCounters, pathCounters, setLocalEndpoint, setNodeConfig, snatHistogram } from '../tc/nodeport-agent.js';
import { localEndpoints4, localEndpoints6 } from '../tc/nodeport-maps.js';
import { AgentError } from './errors.js';
import { discoverLocalEndpoints, type DiscoveredEndpoint } from './nodeport-endpoints.js';
import { NpLinks, pinDevice, removeNodePortLinks, type NpAttached } from './nodeport-links.js';
import { checkNodePortAddresses, readNodePortNode, type NodePortNode } from './nodeport-node.js';

/** Options of {@link NodePortDatapath.deploy}. */
export interface NodePortDeployOptions {
  readonly pinDir: string;
  /** The native device (where external clients' traffic arrives). */
  readonly device: string;
  /** Network namespace of the device and the pods' veths (default: this one). */
  readonly netns?: string;
  readonly target: string | TargetProfile;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** Node addresses instead of the device's own (at most one per family). */
  readonly addresses?: readonly string[];
  /** SNAT port range (inclusive); default 32768–65535. */
  readonly snatPorts?: readonly [number, number];
  /** How to attach: `auto` (tcx, netlink where tcx is missing; default), `tcx`, or `netlink` (the fallback forced). */
  readonly attachMode?: TcAttachMode;
}

/** What one refresh changed. */
export interface NodePortRefresh {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Local backends whose MAC the kernel is still resolving. */
  readonly resolving: readonly string[];
  readonly links: readonly NpAttached[];
}

/** Node-side counters of the NodePort programs. */
export interface NodePortCounters {
  readonly paths: Record<string, bigint>;
  readonly drops: Record<string, bigint>;
  /** SNAT port allocations by the try that found the port (0..31), then failed, rolled back, reclaimed. */
  readonly snatTries: bigint[];
  /** Local endpoints written (pods of this node with a known MAC). */
  readonly localEndpoints: number;
  /** Refreshes that failed (logged; the next one retries). */
  readonly failedRefreshes: number;
}

const FROM_POD = (f: string) => `np${f}_from_pod`;

/** The loaded NodePort programs and their attachments; see the module comment. */
export class NodePortDatapath {
  private readonly links: NpLinks;
  private readonly families: string[];
  /** Local endpoints written, by address. */
  private readonly endpoints = new Map<string, DiscoveredEndpoint>();
  private node: NodePortNode;
  /** Attachments (device@program → ifindex) made or swapped by this process; pinned ones of an earlier run get the new program once. */
  private readonly attachedThisRun = new Map<string, number>();

  private constructor(
    private readonly o: NodePortDeployOptions,
    private readonly obj: LoadedObject,
    /** Kernel version the programs were built for. */
    readonly kernel: string,
    node: NodePortNode,
  ) {
    this.links = new NpLinks(o.pinDir, o.netns, o.attachMode);
    this.families = [...(o.ipv4 ? ['4'] : []), ...(o.ipv6 ? ['6'] : [])];
    this.node = node;
  }

  /** Compiles and loads the programs, writes the node configuration, attaches (swapping into pinned links), and discovers local endpoints. */
  static deploy(o: NodePortDeployOptions): { datapath: NodePortDatapath; node: NodePortNode; links: NpAttached[] } {
    if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(o.device)) throw new AgentError('AGENT_BAD_OPTION', `NodePort device ${JSON.stringify(o.device)} is not an interface name (1–15 characters)`);
    if (o.addresses) checkNodePortAddresses(o.addresses);
    const sp = o.snatPorts;
    if (sp && !(Number.isInteger(sp[0]) && Number.isInteger(sp[1]) && sp[0] >= 1 && sp[0] <= sp[1] && sp[1] <= 65535))
      throw new AgentError('AGENT_BAD_OPTION', `SNAT port range must be FIRST-LAST with 1 ≤ FIRST ≤ LAST ≤ 65535, got ${JSON.stringify(sp)}`);
    const node = NetlinkSocket.with(o.netns, (sock) => readNodePortNode(sock, o));
    const compiled = compile(nodeport, { target: o.target });
    mkdirSync(o.pinDir, { recursive: true });
    const obj = loadObject(compiled.object, { pinRoot: o.pinDir, objectName: 'tsbpf_np', profile: compiled.profile, onMismatch: 'error' });
    try {
      const datapath = new NodePortDatapath(o, obj, compiled.profile.kernel, node);
      writeNodeConfig(obj, node);
      const links: NpAttached[] = [];
      for (const f of datapath.families) links.push(datapath.attach(`np${f}_ingress`, o.device, node.ifindex, 'ingress'));
      for (const f of datapath.families) links.push(datapath.attach(`np${f}_egress`, o.device, node.ifindex, 'egress'));
      links.push(...datapath.refresh().links);
      return { datapath, node, links };
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  /** Local endpoints written now. */
  localEndpoints(): DiscoveredEndpoint[] {
    return [...this.endpoints.values()];
  }

  /**
   * Rereads the device (address or MAC changes) and rediscovers local
   * endpoints among the backends in the service tables: writes new or changed
   * ones, deletes those gone, attaches `npX_from_pod` to new pods' veths and
   * detaches it from veths without endpoints.
   */
  refresh(): NodePortRefresh {
    const node = NetlinkSocket.with(this.o.netns, (sock) => readNodePortNode(sock, this.o));
    if (JSON.stringify(node) !== JSON.stringify(this.node)) writeNodeConfig(this.obj, node);
    this.node = node;
    const { found, resolving } = NetlinkSocket.with(this.o.netns, (sock) => discoverLocalEndpoints(sock, this.backendAddresses(), node.ifindex));
    const added: string[] = [];
    const removed: string[] = [];
    const now = new Map(found.map((e) => [e.address, e]));
    for (const e of found) {
      const was = this.endpoints.get(e.address);
      if (was && was.ifindex === e.ifindex && was.podMac === e.podMac && was.hostMac === e.hostMac) continue;
      setLocalEndpoint(this.obj, e.address, { ifindex: e.ifindex, podMac: e.podMac, hostMac: e.hostMac });
      this.endpoints.set(e.address, e);
      added.push(e.address);
    }
    // Entries restored from the pins (an earlier run) that nothing backs now go too; those being resolved again keep theirs.
    const pending = new Set(resolving.map((r) => r.address));
    for (const address of new Set([...this.endpoints.keys(), ...this.pinnedEndpointAddresses()])) {
      if (now.has(address) || pending.has(address)) continue;
      deleteLocalEndpoint(this.obj, address);
      if (this.endpoints.delete(address)) removed.push(address);
    }
    const links: NpAttached[] = [];
    // A veth keeps its reply programs while its pod's MAC is being resolved (its flows' replies still need them).
    const veths = new Map([...found, ...resolving].map((e) => [e.ifname, e.ifindex]));
    const vethPins = new Set([...veths.keys()].map(pinDevice));
    for (const f of this.families) {
      const program = FROM_POD(f);
      for (const [ifname, ifindex] of veths) if (this.attachedThisRun.get(`${pinDevice(ifname)}@${program}`) !== ifindex) links.push(this.attach(program, ifname, ifindex, 'ingress', 'first'));
      // Pinned links (an earlier run's too) and this run's netlink filters of veths without endpoints now.
      const attachedTo = new Set(this.links.pinnedDevices(program));
      for (const key of this.attachedThisRun.keys()) if (key.endsWith(`@${program}`)) attachedTo.add(key.slice(0, -program.length - 1));
      for (const dev of attachedTo) {
        if (vethPins.has(dev)) continue;
        const key = `${dev}@${program}`;
        const ifindex = this.attachedThisRun.get(key);
        const pinned = this.links.pinnedDevices(program).includes(dev);
        if (this.links.detach(dev, program, ifindex)) links.push({ device: dev, program, action: 'removed', mode: pinned ? 'tcx' : 'netlink' });
        this.attachedThisRun.delete(key);
      }
    }
    return { added, removed, resolving: resolving.map((r) => r.address), links };
  }

  /** The counters of the programs (cumulative since the maps were created). */
  counters(): NodePortCounters {
    return {
      paths: pathCounters(this.obj) as Record<string, bigint>,
      drops: dropCounters(this.obj) as Record<string, bigint>,
      snatTries: snatHistogram(this.obj),
      localEndpoints: this.endpoints.size,
      failedRefreshes: this.failedRefreshes,
    };
  }

  /** Closes the object; the pinned links and maps keep the datapath working. */
  close(): void {
    this.closed = true;
    this.obj.close();
  }

  /** Whether `close()` was called (no more refreshes). */
  closed = false;
  /** Refreshes that threw (counted by the caller that catches them). */
  failedRefreshes = 0;

  private attach(program: string, device: string, ifindex: number, direction: 'ingress' | 'egress', position: 'first' | 'last' = 'last'): NpAttached {
    const r = this.links.attach(program, this.obj.program(program), device, ifindex, direction, position);
    this.attachedThisRun.set(`${pinDevice(device)}@${program}`, ifindex);
    return r;
  }

  /** Addresses of the backends the manager marked local (endpoints with this node's name). */
  private backendAddresses(): Set<string> {
    const out = new Set<string>();
    for (const [def, on] of [[backends4, this.o.ipv4], [backends6, this.o.ipv6]] as const) {
      if (!on || !this.obj.maps.has(def.name)) continue;
      const schema = def.value as AnySchema;
      for (const [, v] of this.obj.map(def.name).lookupBatch()) {
        const be = schema.decode(v as Uint8Array) as { address: string; flags: number };
        if (be.flags & BACKEND_FLAG_LOCAL) out.add(be.address);
      }
    }
    return out;
  }

  private pinnedEndpointAddresses(): string[] {
    const out: string[] = [];
    for (const [def, on] of [[localEndpoints4, this.o.ipv4], [localEndpoints6, this.o.ipv6]] as const) {
      if (!on || !this.obj.maps.has(def.name)) continue;
      const schema = def.key as AnySchema;
      for (const [k] of this.obj.map(def.name).lookupBatch()) out.push(schema.decode(k as Uint8Array) as string);
    }
    return out;
  }
}

/**
 * Writes each family's node configuration; a family without an address gets
 * the zero address, which the programs read as "not configured" (no stale
 * address of an earlier run or an address since removed).
 */
function writeNodeConfig(obj: LoadedObject, node: NodePortNode): void {
  for (const cfg of node.configs) setNodeConfig(obj, cfg);
  for (const family of node.unconfigured) setNodeConfig(obj, { nodeIp: family === 'ipv4' ? '0.0.0.0' : '::', ifindex: node.ifindex, mac: node.mac });
}


/** Removes the NodePort attachments of an agent (see `removeNodePortLinks`); its maps go with the pin directory. */
export function removeNodePort(pinDir: string, netns?: string): string[] {
  return removeNodePortLinks(pinDir, netns);
}
