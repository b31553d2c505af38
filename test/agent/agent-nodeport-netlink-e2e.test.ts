/**
 * The agent's NodePort datapath on the netlink tc fallback (what kernels
 * without tcx get), built for the 4.19 profile (both ingress programs are cut
 * into tail calls there): the same two-node topology as agent-nodeport-e2e, a client
 * outside the cluster reaching the local and the remote pod; a restarted agent
 * replaces the cls_bpf filters in place (same priority and handle, new
 * programs, none added) with an established connection carrying on; uninstall
 * removes the filters and the clsact qdiscs it made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTcFilters, queryTcx } from '../../loader/links/index.js';
import { startAgent, type Agent } from '../../programs/agent/agent.js';
import { loadKubeConfig } from '../../programs/agent/kubeconfig.js';
import { jsonLogger } from '../../programs/agent/log.js';
import { socketLbDatapath } from '../../programs/agent/socket-datapath.js';
import type { TestCgroup } from '../support/cgroup.js';
import { need } from '../support/env.js';
import type { FakeKubeApi } from '../support/kube-api.js';
import { makeService, makeSlice } from '../support/kube-objects.js';
import { nsExec, runBounded } from '../support/netns.js';
import { ADDRS, LONG, runClient, startBackend, type NodePortTopology } from '../tc/nodeport-e2e-topology.js';
import { createAgentNodePortEnv, teardownAgentNodePortEnv, waitFor, type AgentNodePortEnv } from './nodeport-agent-env.js';

const FAMILIES = [
  { v: 4, fam: ADDRS.v4, vip: '10.96.0.30' },
  { v: 6, fam: ADDRS.v6, vip: 'fd00:96::30' },
] as const;
const PORTS = [
  { name: 'tcp', port: 80, targetPort: 8080, nodePort: 30080 },
  { name: 'echo', port: 81, targetPort: 8081, nodePort: 30081 },
];


describe.skipIf(!need({ kernel: true, tools: ['ip', 'tc'] }))('agent: tc NodePort datapath through netlink tc (4.19 build)', () => {
  let env: AgentNodePortEnv | undefined;
  let topo: NodePortTopology;
  let api: FakeKubeApi;
  let cg: TestCgroup;
  let pinDir: string;
  let agent: Agent | undefined;

  const start = () =>
    startAgent({
      kubeConfig: loadKubeConfig({ apiServer: api.url, env: {} }).config,
      nodeName: 'node-a',
      pinDir,
      cgroup: cg.path,
      nodePortDevice: 'eth0',
      nodePortNetns: topo.nodeA,
      nodePortAttachMode: 'netlink',
      nodePortRefreshMs: 100,
      listen: '127.0.0.1:0',
      target: '4.19',
      datapath: socketLbDatapath,
      log: jsonLogger({ write: () => 0 }),
    });
  const localEndpoints = async () => {
    const text = await (await fetch(`http://${agent!.opsAddress}/metrics`)).text();
    return Number(/^tsbpf_agent_nodeport_local_endpoints (\S+)$/m.exec(text)?.[1] ?? NaN);
  };
  /** Our filters per hook: `device/direction` → [priority, name, program id]. */
  const filters = () =>
    Object.fromEntries(
      (['eth0', 'lxc1'] as const).flatMap((dev) =>
        (['ingress', 'egress'] as const).map((dir) => [`${dev}/${dir}`, listTcFilters({ iface: dev, netns: topo.nodeA }, dir).map((f) => [f.priority, f.name, f.progId])]),
      ),
    );
  const qdiscs = () => nsExec(topo.nodeA, 'tc', 'qdisc', 'show').split('\n').filter((l) => l.includes('clsact'));

  beforeAll(async () => {
    env = await createAgentNodePortEnv('agent-npnl');
    ({ topo, api, cg, pinDir } = env);
    env.servers.push(await startBackend(topo.podA, 'A', { lifetimeMs: 120_000 }), await startBackend(topo.podB, 'B', { lifetimeMs: 120_000 }));
    for (const f of FAMILIES) {
      api.apply('services', makeService('default', `web${f.v}`, f.vip, PORTS));
      const eps = [{ ip: f.fam.podA, nodeName: 'node-a' }, { ip: f.fam.podB, nodeName: 'node-b' }];
      api.apply('endpointslices', makeSlice('default', `web${f.v}-x`, `web${f.v}`, eps, PORTS.map((p) => ({ name: p.name, port: p.targetPort }))));
    }
  });

  afterAll(() => teardownAgentNodePortEnv(env, agent));

  it('serves NodePort, survives a restart in place, and uninstalls without leftovers', { timeout: 90_000 }, async () => {
    agent = await start();
    await agent.programmed;
    expect(agent.datapath.description.nodePort).toEqual(['eth0:np4_ingress:attached:netlink', 'eth0:np6_ingress:attached:netlink', 'eth0:np4_egress:attached:netlink', 'eth0:np6_egress:attached:netlink']);
    await waitFor('both local endpoints', async () => (await localEndpoints()) === 2);
    const before = filters();
    expect(Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v.map((f) => f.slice(0, 2))]))).toEqual({
      'eth0/ingress': [[40, 'tsbpf-np4_ingress'], [41, 'tsbpf-np6_ingress']],
      'eth0/egress': [[40, 'tsbpf-np4_egress'], [41, 'tsbpf-np6_egress']],
      'lxc1/ingress': [[42, 'tsbpf-np4_from_pod'], [43, 'tsbpf-np6_from_pod']],
      'lxc1/egress': [],
    });
    expect(queryTcx({ iface: 'eth0', netns: topo.nodeA }, 'ingress').progIds).toEqual([]);

    for (const { fam } of FAMILIES) {
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30080, count: 12 });
      expect(r.tcp.every((t) => t.ok && t.peer === `${fam.nodeA}:30080`)).toBe(true);
      const seen = new Map(r.tcp.map((t) => [t.data!.split(':')[1], t.data!.slice(t.data!.indexOf(':', t.data!.indexOf(':ping-') + 1) + 1)]));
      expect(seen).toEqual(new Map([['A', fam.client], ['B', fam.nodeA]]));
    }

    // An established connection to the remote pod (SNATed: its state lives in the pinned SNAT table).
    let out = '';
    const long = runBounded(['ip', 'netns', 'exec', topo.client, process.execPath, '-e', LONG, ADDRS.v6.nodeA, '30081'], 40_000, (c) => (out += c));
    await waitFor('first answer', () => /got:echo:[AB]:one/.test(out));
    const name = /got:echo:([AB]):one/.exec(out)![1];

    await agent.stop();
    agent = await start();
    await agent.programmed;
    expect(agent.datapath.description.nodePort).toEqual(expect.arrayContaining(['eth0:np4_ingress:replaced:netlink', 'lxc1:np6_from_pod:replaced:netlink']));
    const after = filters();
    for (const k of Object.keys(before)) {
      // Same filters (priority, name), each running a new program.
      expect(after[k]!.map((f) => f.slice(0, 2))).toEqual(before[k]!.map((f) => f.slice(0, 2)));
      after[k]!.forEach((f, i) => expect(f[2]).not.toBe(before[k]![i]![2]));
    }
    long.child.stdin!.write('go\n');
    const done = await long;
    expect(done.stdout.split('\n').filter((l) => l.startsWith('got:'))).toEqual([`got:echo:${name}:one`, `got:echo:${name}:two`]);

    await agent.uninstall();
    agent = undefined;
    expect(Object.values(filters()).flat()).toEqual([]);
    expect(qdiscs()).toEqual([]);
    const r = await runClient(topo.client, ADDRS.v4.nodeA, { tcpPort: 30080, count: 2, timeoutMs: 700 });
    expect(r.tcp.map((t) => t.code)).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
  });
});
