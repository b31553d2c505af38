/**
 * The node-address tables the socket LB consults for NodePort from the node
 * itself (`lb4_node_addrs`, `lb6_node_addrs`): which addresses count as "this
 * node". Loopback needs no entry (the programs know 127.0.0.0/8 and ::1). The
 * agent or CLI writes the node's interface addresses here when it brings the LB up.
 */
import { networkInterfaces } from 'node:os';
import { ipv4, ipv6, u8 } from '../../dsl/types/index.js';
import { parseIpv4, parseIpv6 } from '../../dsl/types/address.js';
import { nodeAddrs4, nodeAddrs6 } from '../lb/maps.js';
import { SocketLbError } from './options.js';

/** One entry to write: the map (by name) and its key/value bytes. */
export interface NodeAddressEntry {
  readonly map: typeof nodeAddrs4.name | typeof nodeAddrs6.name;
  readonly address: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** The map entries marking `addresses` as the node's; a bad address is a SocketLbError naming it. */
export function nodeAddressEntries(addresses: readonly string[]): NodeAddressEntry[] {
  return addresses.map((address) => {
    if (typeof address === 'string' && parseIpv4(address) !== undefined) return { map: nodeAddrs4.name, address, key: ipv4.encode(address), value: u8.encode(1) };
    if (typeof address === 'string' && parseIpv6(address) !== undefined) return { map: nodeAddrs6.name, address, key: ipv6.encode(address), value: u8.encode(1) };
    throw new SocketLbError('SOCKLB_NODE_ADDRESS', `node address ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
  });
}

/** This machine's non-loopback interface addresses (IPv6 link-local ones carry a scope and are left out). */
export function localNodeAddresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (a.family === 'IPv6' && a.scopeid !== 0)) continue;
      out.add(a.address);
    }
  }
  return [...out].sort();
}
