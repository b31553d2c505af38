/**
 * The node as the NodePort programs need it, read from the native device in
 * its network namespace: ifindex and MAC (FIB lookups and redirects), and one
 * node address per family — the device's first global, primary, usable
 * address unless given — that NodePort traffic is addressed to and remote
 * backends are SNATed from.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { getInterface, listAddresses, NetlinkError, NetlinkUsageError, type InterfaceAddress, type NetlinkSocket } from '../../loader/netlink/index.js';
import type { NodePortNodeConfig } from '../tc/nodeport-agent.js';
import { AgentError } from './errors.js';

/** What {@link readNodePortNode} needs. */
export interface NodePortNodeOptions {
  readonly device: string;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  /** Node addresses to use instead of the device's (at most one per family). */
  readonly addresses?: readonly string[];
  /** SNAT port range (inclusive). */
  readonly snatPorts?: readonly [number, number];
}

/** The native device and the configuration of each family that has a node address. */
export interface NodePortNode {
  readonly ifindex: number;
  readonly mac: string;
  readonly configs: readonly NodePortNodeConfig[];
  /** Enabled families without a node address (their NodePort programs pass everything). */
  readonly unconfigured: readonly ('ipv4' | 'ipv6')[];
}

/** Checks the address overrides: valid text, at most one per family. */
export function checkNodePortAddresses(addresses: readonly string[]): void {
  const seen = new Set<string>();
  for (const a of addresses) {
    const fam = isIPv4(a) ? 'ipv4' : isIPv6(a) ? 'ipv6' : undefined;
    if (!fam) throw new AgentError('AGENT_BAD_OPTION', `NodePort address ${JSON.stringify(a)} is not an IPv4 or IPv6 address`);
    if (seen.has(fam)) throw new AgentError('AGENT_BAD_OPTION', `more than one ${fam === 'ipv4' ? 'IPv4' : 'IPv6'} NodePort address given (${addresses.join(', ')}); the datapath has one per family`);
    seen.add(fam);
  }
}

function pick(addrs: readonly InterfaceAddress[], family: 'ipv4' | 'ipv6'): string | undefined {
  const usable = addrs.filter((a) => a.family === family && a.scope === 0 && !a.unusable);
  return (usable.find((a) => !a.secondary) ?? usable[0])?.address;
}

/** Reads the device and builds the node configuration; typed error when the device does not exist. */
export function readNodePortNode(sock: NetlinkSocket, o: NodePortNodeOptions): NodePortNode {
  let iface;
  try {
    iface = getInterface(sock, o.device);
  } catch (e) {
    if ((e instanceof NetlinkError && e.errnoName === 'ENODEV') || e instanceof NetlinkUsageError)
      throw new AgentError('AGENT_BAD_OPTION', `NodePort device ${JSON.stringify(o.device)} not found: ${(e as Error).message}`);
    throw e;
  }
  if (!iface.mac || iface.mac === '00:00:00:00:00:00') throw new AgentError('AGENT_BAD_OPTION', `NodePort device ${o.device} has no Ethernet address; the NodePort datapath needs an Ethernet device`);
  const addrs = listAddresses(sock, iface.index);
  const configs: NodePortNodeConfig[] = [];
  const unconfigured: ('ipv4' | 'ipv6')[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    if (!(family === 'ipv4' ? o.ipv4 : o.ipv6)) continue;
    const given = o.addresses?.find((a) => (family === 'ipv4' ? isIPv4(a) : isIPv6(a)));
    const nodeIp = given ?? pick(addrs, family);
    if (nodeIp === undefined) {
      unconfigured.push(family);
      continue;
    }
    configs.push({ nodeIp, ifindex: iface.index, mac: iface.mac, ...(o.snatPorts ? { portMin: o.snatPorts[0], portMax: o.snatPorts[1] } : {}) });
  }
  return { ifindex: iface.index, mac: iface.mac, configs, unconfigured };
}
