/**
 * What the agent's NodePort datapath reads from the node before it attaches:
 * the node configuration from the native device (address choice, overrides,
 * refusals) and which backends are pods behind this node's veths (route
 * without gateway through a veth; a bridge, a gateway, a blackhole or the
 * native device are not), with the pod's MAC from the neighbour table once the
 * kernel resolved it. A deployed datapath writes one configuration per family
 * (zero without an address) and follows address changes. Bad deploy options
 * are refused before anything is loaded.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NetlinkSocket } from '../../loader/netlink/index.js';
import { AgentError } from '../../programs/agent/errors.js';
import { join } from 'node:path';
import type { AnySchema } from '../../dsl/types/index.js';
import { queryTcx } from '../../loader/links/index.js';
import { BpfMap } from '../../loader/maps/index.js';
import { NodePortDatapath, removeNodePort } from '../../programs/agent/nodeport-datapath.js';
import { npConfig4, npConfig6 } from '../../programs/tc/nodeport-maps.js';
import { discoverLocalEndpoints } from '../../programs/agent/nodeport-endpoints.js';
import { readNodePortNode } from '../../programs/agent/nodeport-node.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { createNetns, deleteNetns, ip } from '../support/netns.js';

describe.skipIf(!need({ kernel: true, tools: ['ip'] }))('agent NodePort: node configuration and local endpoint discovery', () => {
  it('reads the native device and finds pods behind veths only', async () => {
    const node = createNetns('npdn');
    const pod = createNetns('npdp');
    const lan = createNetns('npdl');
    try {
      const n = (...a: string[]) => ip('-n', node, ...a);
      n('link', 'add', 'eth0', 'address', '02:64:00:00:00:01', 'type', 'veth', 'peer', 'name', 'up0', 'netns', lan);
      n('addr', 'add', '10.64.0.1/24', 'dev', 'eth0');
      n('addr', 'add', '10.64.0.7/24', 'dev', 'eth0');
      n('-6', 'addr', 'add', 'fd64::1/64', 'dev', 'eth0', 'nodad');
      n('link', 'set', 'eth0', 'up');
      ip('-n', lan, 'addr', 'add', '10.64.0.254/24', 'dev', 'up0');
      ip('-n', lan, 'link', 'set', 'up0', 'up');
      n('route', 'add', '10.64.9.0/24', 'via', '10.64.0.254');
      n('route', 'add', 'blackhole', '10.64.8.0/24');
      n('link', 'add', 'lxc1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod);
      n('addr', 'add', '10.64.1.1/24', 'dev', 'lxc1');
      n('link', 'set', 'lxc1', 'up');
      ip('-n', pod, 'link', 'set', 'eth0', 'address', '02:64:00:00:01:02');
      ip('-n', pod, 'addr', 'add', '10.64.1.2/24', 'dev', 'eth0');
      ip('-n', pod, 'link', 'set', 'eth0', 'up');
      n('link', 'add', 'br0', 'type', 'bridge');
      n('addr', 'add', '10.64.2.1/24', 'dev', 'br0');
      n('link', 'set', 'br0', 'up');

      using sock = NetlinkSocket.open({ netns: node });
      const cfg = readNodePortNode(sock, { device: 'eth0', ipv4: true, ipv6: true, snatPorts: [40000, 40100] });
      // The primary address, not the secondary one; IPv6's global one, not the link-local.
      expect(cfg.configs).toEqual([
        { nodeIp: '10.64.0.1', ifindex: cfg.ifindex, mac: '02:64:00:00:00:01', portMin: 40000, portMax: 40100 },
        { nodeIp: 'fd64::1', ifindex: cfg.ifindex, mac: '02:64:00:00:00:01', portMin: 40000, portMax: 40100 },
      ]);
      expect(cfg.unconfigured).toEqual([]);
      expect(readNodePortNode(sock, { device: 'eth0', ipv4: true, ipv6: false, addresses: ['10.64.0.7'] }).configs.map((c) => c.nodeIp)).toEqual(['10.64.0.7']);
      expect(readNodePortNode(sock, { device: 'lxc1', ipv4: true, ipv6: true }).unconfigured).toEqual(['ipv6']);
      expect(() => readNodePortNode(sock, { device: 'nosuch0', ipv4: true, ipv6: true })).toThrow(/NodePort device "nosuch0" not found/);
      expect(() => readNodePortNode(sock, { device: 'lo', ipv4: true, ipv6: true })).toThrow(/no Ethernet address/);

      const candidates = ['10.64.1.2', '10.64.2.2', '10.64.9.9', '10.64.8.8', '10.64.0.254', '10.64.0.1', '10.99.0.1'];
      const lxc1 = JSON.parse(ip('-n', node, '-j', 'link', 'show', 'lxc1'))[0];
      const first = discoverLocalEndpoints(sock, candidates, cfg.ifindex);
      // Only the pod behind lxc1 is local; its MAC is not known yet, so the kernel is asked to resolve it.
      expect(first).toEqual({ found: [], resolving: [{ address: '10.64.1.2', ifindex: lxc1.ifindex, ifname: 'lxc1' }] });
      let found = first.found;
      const until = Date.now() + 3000;
      while (found.length === 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
        found = discoverLocalEndpoints(sock, candidates, cfg.ifindex).found;
      }
      expect(found).toEqual([{ address: '10.64.1.2', ifindex: lxc1.ifindex, ifname: 'lxc1', podMac: '02:64:00:00:01:02', hostMac: lxc1.address }]);
    } finally {
      for (const ns of [node, pod, lan]) deleteNetns(ns);
    }
  });

  it('writes the node configuration per family (zero for a family without an address), follows address changes, and removes cleanly', () => {
    const node = createNetns('npdc');
    using pins = createPinDir('npdc');
    try {
      ip('-n', node, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'p0');
      ip('-n', node, 'addr', 'add', '10.65.0.1/24', 'dev', 'eth0');
      ip('-n', node, 'link', 'set', 'eth0', 'up');
      const { datapath, node: cfg, links } = NodePortDatapath.deploy({ pinDir: pins.path, device: 'eth0', netns: node, target: 'host', ipv4: true, ipv6: true, snatPorts: [40000, 40999] });
      try {
        expect(links.map((l) => `${l.device}:${l.program}:${l.action}:${l.mode}`)).toEqual(['eth0:np4_ingress:attached:tcx', 'eth0:np6_ingress:attached:tcx', 'eth0:np4_egress:attached:tcx', 'eth0:np6_egress:attached:tcx']);
        expect(cfg.unconfigured).toEqual(['ipv6']);
        const config = (f: 4 | 6) => {
          const def = f === 4 ? npConfig4 : npConfig6;
          const m = BpfMap.fromPin(join(pins.path, def.name));
          try {
            return (def.value as AnySchema).decode(m.get((def.key as AnySchema).encode(0 as never) as never) as Uint8Array) as { nodeIp: string; portMin: number; portMax: number };
          } finally {
            m.close();
          }
        };
        expect(config(4)).toMatchObject({ nodeIp: '10.65.0.1', portMin: 40000, portMax: 40999 });
        expect(config(6).nodeIp).toBe('::');
        ip('-n', node, '-6', 'addr', 'add', 'fd65::1/64', 'dev', 'eth0', 'nodad');
        ip('-n', node, 'addr', 'del', '10.65.0.1/24', 'dev', 'eth0');
        datapath.refresh();
        expect([config(4).nodeIp, config(6).nodeIp]).toEqual(['0.0.0.0', 'fd65::1']);
      } finally {
        datapath.close();
      }
      expect(queryTcx({ iface: 'eth0', netns: node }, 'ingress').progIds).toHaveLength(2);
      expect(removeNodePort(pins.path, node).sort()).toEqual(['eth0@np4_egress', 'eth0@np4_ingress', 'eth0@np6_egress', 'eth0@np6_ingress']);
      for (const dir of ['ingress', 'egress'] as const) expect(queryTcx({ iface: 'eth0', netns: node }, dir).progIds).toEqual([]);
    } finally {
      deleteNetns(node);
    }
  });

  it('refuses bad deploy options before loading anything', () => {
    using pins = createPinDir('npd');
    const base = { pinDir: pins.path, device: 'lo', target: 'host', ipv4: true, ipv6: true } as const;
    const refused = (o: object, text: RegExp) => {
      let err: unknown;
      try {
        NodePortDatapath.deploy({ ...base, ...o });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AgentError);
      expect((err as AgentError).code).toBe('AGENT_BAD_OPTION');
      expect((err as Error).message).toMatch(text);
    };
    refused({ device: 'a/b' }, /NodePort device "a\/b" is not an interface name/);
    refused({ addresses: ['10.0.0.1', '10.0.0.2'] }, /more than one IPv4 NodePort address/);
    refused({ addresses: ['node-a'] }, /NodePort address "node-a" is not an IPv4 or IPv6 address/);
    refused({ snatPorts: [5, 3] }, /SNAT port range/);
    refused({ device: 'nosuch0' }, /NodePort device "nosuch0" not found/);
    // Nothing was pinned.
    expect(readdirSync(pins.path).filter((n) => !n.endsWith('.debug'))).toEqual([]);
  });
});
