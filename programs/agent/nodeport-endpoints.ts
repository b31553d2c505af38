/**
 * Which backends are pods on this node, and where their packets go: the
 * kernel's own routing decides. A backend address whose route (in the native
 * device's namespace) leaves directly — no gateway — through a veth other than
 * the native device is a pod behind that veth (the layout of routed CNIs: a
 * per-pod veth with a host or subnet route). Its MAC comes from the neighbour
 * table; an address without an entry is handed to the kernel to resolve
 * (NTF_USE, as a packet to it would) and picked up by the next refresh.
 * Addresses behind bridges, tunnels or gateways are not local endpoints
 * (they are forwarded like remote backends).
 */
import { listInterfaces, listNeighbours, resolveNeighbour, routeTo, type NetlinkSocket } from '../../loader/netlink/index.js';
import type { LocalEndpointConfig } from '../tc/nodeport-agent.js';

/** A pod on this node backing a service. */
export interface DiscoveredEndpoint extends LocalEndpointConfig {
  readonly address: string;
  /** Name of its host-side veth. */
  readonly ifname: string;
}

/** The result of one discovery pass. */
export interface EndpointDiscovery {
  readonly found: DiscoveredEndpoint[];
  /** Local endpoints whose MAC is not known yet (resolution was requested). */
  readonly resolving: { address: string; ifindex: number; ifname: string }[];
}

/** Classifies `addresses` (see the module comment); `nativeIfindex` is never a pod's veth. */
export function discoverLocalEndpoints(sock: NetlinkSocket, addresses: Iterable<string>, nativeIfindex: number): EndpointDiscovery {
  const veths = new Map<number, { name: string; mac: string }>();
  for (const i of listInterfaces(sock)) if (i.kind === 'veth' && i.mac && i.index !== nativeIfindex) veths.set(i.index, { name: i.name, mac: i.mac });
  const found: DiscoveredEndpoint[] = [];
  const resolving: EndpointDiscovery['resolving'] = [];
  if (veths.size === 0) return { found, resolving };
  const neigh = new Map(listNeighbours(sock).map((n) => [`${n.ifindex}/${n.address}`, n.mac]));
  for (const address of addresses) {
    let route;
    try {
      route = routeTo(sock, address);
    } catch {
      continue; // Unreachable (no route): not here.
    }
    const veth = veths.get(route.oif);
    if (route.type !== 'unicast' || route.gateway !== undefined || !veth) continue;
    const podMac = neigh.get(`${route.oif}/${address}`);
    if (podMac === undefined) {
      resolveNeighbour(sock, route.oif, address);
      resolving.push({ address, ifindex: route.oif, ifname: veth.name });
      continue;
    }
    found.push({ address, ifindex: route.oif, ifname: veth.name, podMac, hostMac: veth.mac });
  }
  return { found, resolving };
}
