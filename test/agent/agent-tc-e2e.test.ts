/**
 * The agent with the tc ClusterIP datapath: pods whose sockets the socket LB
 * does not see (here: not in its cgroup) reach a Service through the tc
 * programs the agent attached to the pod's and the backend's node-side veths,
 * fed from the same service tables the agent programs from Services and
 * EndpointSlices (TCP and UDP, IPv4 and IPv6, replies from the VIP). A
 * restarted agent swaps the programs into the pinned tc links; uninstall
 * detaches them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../programs/agent/agent.js';
import { loadKubeConfig } from '../../programs/agent/kubeconfig.js';
import { jsonLogger } from '../../programs/agent/log.js';
import { socketLbDatapath } from '../../programs/agent/socket-datapath.js';
import { createPinDir, type PinDir } from '../support/bpffs.js';
import { createTestCgroup, type TestCgroup } from '../support/cgroup.js';
import { need } from '../support/env.js';
import { FakeKubeApi } from '../support/kube-api.js';
import { makeService, makeSlice } from '../support/kube-objects.js';
import { ip, runBounded } from '../support/netns.js';
import { BACKEND_SERVER, createClusterIpTopology, POD_CLIENT, type ClusterIpTopology } from '../tc/clusterip-e2e-topology.js';

const COUNT = 6;
const VIP4 = '10.96.0.10';
const VIP6 = 'fd00:96::10';

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface PodResult {
  readonly tcp: { ok: boolean; data?: string; peer?: string; code?: string }[];
  readonly udp: { data: string; peer: string }[];
}

describe.skipIf(!need({ kernel: true, tools: ['ip'] }))('agent: tc ClusterIP datapath on pod veths', () => {
  let topo: ClusterIpTopology;
  let pins: PinDir;
  let cg: TestCgroup;
  let api: FakeKubeApi;
  let agent: Agent | undefined;
  let server: ReturnType<typeof runBounded> | undefined;
  let pinDir: string;

  const start = () =>
    startAgent({
      kubeConfig: loadKubeConfig({ apiServer: api.url, env: {} }).config,
      pinDir,
      cgroup: cg.path,
      tcDevices: [topo.podVeth, 'b*'],
      tcNetns: topo.node,
      tcRescanMs: 100,
      listen: false,
      target: 'host',
      datapath: socketLbDatapath,
      log: jsonLogger({ write: () => 0 }),
    });

  const podTraffic = async (host: string): Promise<PodResult> => {
    const r = await runBounded(['ip', 'netns', 'exec', topo.pod, process.execPath, '-e', POD_CLIENT, host, '80', '53', String(COUNT)], 20_000);
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`pod client gave no result (code ${r.code}): ${r.stderr}`);
    return JSON.parse(line) as PodResult;
  };

  beforeAll(async () => {
    topo = createClusterIpTopology();
    pins = createPinDir('agent-tc');
    pinDir = join(pins.path, 'agent');
    cg = createTestCgroup('agent-tc');
    api = await FakeKubeApi.start();
    for (const [name, vip, backend] of [['dns4', VIP4, topo.backendAddr4], ['dns6', VIP6, topo.backendAddr6]] as const) {
      api.apply('services', makeService('kube-system', name, vip, [{ name: 'tcp', port: 80, targetPort: 8080 }, { name: 'udp', port: 53, targetPort: 5353, protocol: 'UDP' }]));
      api.apply('endpointslices', makeSlice('kube-system', `${name}-x`, name, [{ ip: backend }], [{ name: 'tcp', port: 8080 }, { name: 'udp', port: 5353, protocol: 'UDP' }]));
    }
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    server = runBounded(['ip', 'netns', 'exec', topo.backend, process.execPath, '-e', BACKEND_SERVER, '8080', '5353', '50000'], 60_000, (c) => {
      if (c.includes('ready')) ready();
    });
    await isReady;
  });

  afterAll(async () => {
    try {
      await agent?.uninstall();
    } finally {
      server?.child.stdin?.end();
      await server?.catch(() => undefined);
      await api?.close();
      cg?.cleanup();
      pins?.cleanup();
      topo?.cleanup();
    }
  });

  it('a pod outside the socket LB reaches the Service through tc, replies come from the VIP', async () => {
    agent = await start();
    await agent.programmed;
    expect(agent.datapath.description.tc).toEqual(['c1:attached:tcx', 'b1:attached:tcx']);
    for (const [vip, pod] of [[VIP4, topo.podAddr4], [VIP6, topo.podAddr6]] as const) {
      const r = await podTraffic(vip);
      expect(r.tcp).toEqual(Array.from({ length: COUNT }, (_, i) => ({ ok: true, data: `pong:ping-${i}:${pod}`, peer: `${vip}:80` })));
      expect(r.udp).toEqual(Array.from({ length: COUNT }, (_, i) => ({ data: `pong:dgram-${i}:${pod}`, peer: `${vip}:53` })));
    }
  });

  it('rescans: a matching device created later is attached, a deleted one loses its pin', async () => {
    const pin = join(pinDir, 'tc-links', 'bx1');
    ip('-n', topo.node, 'link', 'add', 'bx1', 'type', 'veth', 'peer', 'name', 'cx1');
    try {
      await waitFor('bx1 attached', () => existsSync(pin));
      expect(existsSync(join(pinDir, 'tc-links', 'cx1'))).toBe(false);
    } finally {
      ip('-n', topo.node, 'link', 'del', 'bx1');
    }
    await waitFor('bx1 pin removed', () => !existsSync(pin));
  });

  it('a restarted agent swaps its programs into the pinned tc links; uninstall detaches them', async () => {
    await agent!.stop();
    agent = await start();
    await agent.programmed;
    expect(agent.datapath.description.tc).toEqual(['c1:replaced:tcx', 'b1:replaced:tcx']);
    const r = await podTraffic(VIP4);
    expect(r.tcp.filter((x) => !x.ok)).toEqual([]);
    await agent.uninstall();
    agent = undefined;
    expect(existsSync(join(pinDir, 'tc-links'))).toBe(false);
    const after = await podTraffic(VIP4);
    expect(after.tcp.some((x) => x.ok)).toBe(false);
  });
});
