/**
 * Topology-aware routing in the agent: it reads its zone from its Node
 * object's `topology.kubernetes.io/zone` label (GET /api/v1/nodes/NAME on the
 * fake API server) and writes, into the real pinned service tables of its
 * socket LB datapath (attached to a test cgroup nothing runs in), only the
 * endpoints hinted for that zone as new-connection slots, the others after
 * them (draining). An unreadable Node leaves topology off; a `zone` option is
 * used as given, without asking.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfMap } from '../../loader/index.js';
import { startAgent } from '../../programs/agent/agent.js';
import { loadKubeConfig } from '../../programs/agent/kubeconfig.js';
import { jsonLogger } from '../../programs/agent/log.js';
import { socketLbDatapath } from '../../programs/agent/socket-datapath.js';
import { decodedDump } from '../lb/helpers.js';
import { createPinDir } from '../support/bpffs.js';
import { createTestCgroup } from '../support/cgroup.js';
import { need } from '../support/env.js';
import { FakeKubeApi } from '../support/kube-api.js';
import { makeService, makeSlice } from '../support/kube-objects.js';

const VIP = '10.96.82.10';
const ENDPOINTS = [
  { ip: '10.244.1.11', nodeName: 'node-a', forZones: ['zone-a'] },
  { ip: '10.244.2.21', nodeName: 'node-b', forZones: ['zone-b'] },
  { ip: '10.244.1.12', nodeName: 'node-c', forZones: ['zone-a'] },
];

/** Runs an agent for node-a against a fake API (Node labelled with `zone` unless undefined); returns its zone and the VIP's [new-connection, draining] backends. */
async function run(nodeZone: string | undefined, zoneOption?: string) {
  using pins = createPinDir('agent-zone');
  using cg = createTestCgroup('agent-zone');
  await using api = await FakeKubeApi.start();
  if (nodeZone !== undefined) api.setNode('node-a', { 'kubernetes.io/hostname': 'node-a', 'topology.kubernetes.io/zone': nodeZone });
  api.apply('services', makeService('shop', 'api', VIP, [{ name: 'http', port: 80, targetPort: 8080 }]));
  api.apply('endpointslices', makeSlice('shop', 'api-1', 'api', ENDPOINTS, [{ name: 'http', port: 8080 }]));
  const logs: string[] = [];
  const pinDir = join(pins.path, 'agent');
  const agent = await startAgent({
    kubeConfig: loadKubeConfig({ apiServer: api.url, env: {} }).config,
    pinDir, cgroup: cg.path, nodeName: 'node-a', listen: false, target: 'host', ipv6: false, nodePortRange: false,
    ...(zoneOption !== undefined ? { zone: zoneOption } : {}),
    datapath: socketLbDatapath,
    log: jsonLogger({ write: (s: string) => logs.push(s) }, 'debug'),
  });
  try {
    await agent.programmed;
    const open = (name: string) => BpfMap.fromPin(join(pinDir, name));
    const maps = { services4: open('lb4_services'), backends4: open('lb4_backends'), revNat4: open('lb4_reverse_nat') };
    let d;
    try {
      d = decodedDump(maps, 'ipv4');
    } finally {
      for (const m of Object.values(maps)) m.close();
    }
    const addressOf = new Map(d.backends.map((b) => [b.id, b.address]));
    const vip = d.services.filter((e) => e.address === VIP);
    const count = vip.find((e) => e.backendSlot === 0)!.count;
    const slots = (pick: (slot: number) => boolean) => vip.filter((e) => e.backendSlot > 0 && pick(e.backendSlot)).map((e) => addressOf.get(e.backendId)!).sort();
    return {
      zone: agent.settings.zone,
      fresh: slots((s) => s <= count),
      draining: slots((s) => s > count),
      // Requests outside the two watched resources: the Node GET.
      nodeGets: api.requests.filter((r) => r.resource === undefined).length,
      logs,
    };
  } finally {
    await agent.uninstall();
  }
}

describe.skipIf(!need({ kernel: true }))('agent: topology-aware routing from the Node zone label', () => {
  it('reads zone-a from its Node and gives new connections only to the endpoints hinted for zone-a', async () => {
    const r = await run('zone-a');
    expect(r.zone).toBe('zone-a');
    expect(r.fresh).toEqual(['10.244.1.11', '10.244.1.12']);
    expect(r.draining).toEqual(['10.244.2.21']);
    expect(r.logs.some((l) => l.includes('following topology hints'))).toBe(true);
    expect(r.nodeGets).toBe(1);
  });

  it('a Node without the label, or none readable: every endpoint takes new connections', async () => {
    for (const zone of ['', undefined]) {
      const r = await run(zone);
      expect(r.zone).toBeUndefined();
      expect(r.fresh).toEqual(['10.244.1.11', '10.244.1.12', '10.244.2.21']);
      expect(r.draining).toEqual([]);
      expect(r.logs.some((l) => l.includes(zone === undefined ? 'cannot read the Node object' : 'node has no zone label'))).toBe(true);
    }
  });

  it('a zone option wins over the label and is not asked for', async () => {
    const r = await run('zone-a', 'zone-b');
    expect(r.zone).toBe('zone-b');
    expect(r.fresh).toEqual(['10.244.2.21']);
    expect(r.nodeGets).toBe(0);
  });
});
