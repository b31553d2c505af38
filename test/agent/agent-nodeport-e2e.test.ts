/**
 * The agent with the tc NodePort datapath on a node's native device, end to
 * end: two "nodes" in network namespaces on a bridge (test/tc/nodeport-e2e-topology.ts),
 * the agent deploying on node A's eth0 and programming from a fake API server.
 * A client outside the cluster reaches a NodePort Service on node A's
 * address, answered by the pod on node A (behind lxc1, discovered as a local
 * endpoint from the routing and neighbour tables) and the pod on node B;
 * scaling the EndpointSlice moves traffic, an empty one and a deleted Service
 * stop it; with externalTrafficPolicy=Local only the local pod answers, and
 * sees the client's own address; a restarted agent swaps its programs into the pinned links and an
 * established connection through NodePort keeps working (in process, and as
 * a SIGKILLed CLI process started again); uninstall (and `tsbpf agent
 * --uninstall`) leaves no program, link or pin. IPv4 and IPv6, TCP and UDP.
 * The tc ClusterIP datapath runs on the pods' veths as well: the NodePort
 * reply programs go first there and hand the pods' other traffic on to it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listTcFilters, queryTcx } from '../../loader/links/index.js';
import { startAgent, type Agent } from '../../programs/agent/agent.js';
import { loadKubeConfig } from '../../programs/agent/kubeconfig.js';
import { jsonLogger } from '../../programs/agent/log.js';
import { socketLbDatapath } from '../../programs/agent/socket-datapath.js';
import type { TestCgroup } from '../support/cgroup.js';
import { need } from '../support/env.js';
import type { FakeKubeApi } from '../support/kube-api.js';
import { makeService, makeSlice } from '../support/kube-objects.js';
import { runBounded } from '../support/netns.js';
import { ADDRS, LONG, runClient, startBackend, startClient, type NodePortTopology } from '../tc/nodeport-e2e-topology.js';
import { createAgentNodePortEnv, teardownAgentNodePortEnv, waitFor, type AgentNodePortEnv } from './nodeport-agent-env.js';

const COUNT = 16;
const FAMILIES = [
  { v: 4, fam: ADDRS.v4, vip: '10.96.0.20' },
  { v: 6, fam: ADDRS.v6, vip: 'fd00:96::20' },
] as const;
const PORTS = [
  { name: 'tcp', port: 80, targetPort: 8080, nodePort: 30080 },
  { name: 'udp', port: 53, targetPort: 5353, nodePort: 30053, protocol: 'UDP' as const },
  { name: 'echo', port: 81, targetPort: 8081, nodePort: 30081 },
  /** Only for the connections through the restart (servers of their own, see there). */
  { name: 'restart', port: 82, targetPort: 9090, nodePort: 30084 },
];



describe.skipIf(!need({ kernel: true, tools: ['ip'] }))('agent: tc NodePort datapath on the native device', () => {
  let env: AgentNodePortEnv | undefined;
  let topo: NodePortTopology;
  let api: FakeKubeApi;
  let cg: TestCgroup;
  let pinDir: string;
  let agent: Agent | undefined;
  /** The agents' log lines (shown when a test fails). */
  const logLines: string[] = [];

  const start = () =>
    startAgent({
      kubeConfig: loadKubeConfig({ apiServer: api.url, env: {} }).config,
      nodeName: 'node-a',
      pinDir,
      cgroup: cg.path,
      nodePortDevice: 'eth0',
      nodePortNetns: topo.nodeA,
      nodePortRefreshMs: 100,
      // The tc ClusterIP datapath on the pods' veths too: NodePort's reply programs must let it see the pods' other traffic.
      tcDevices: ['lxc*'],
      tcNetns: topo.nodeA,
      tcRescanMs: 100,
      listen: '127.0.0.1:0',
      target: 'host',
      datapath: socketLbDatapath,
      log: jsonLogger({ write: (l: string) => (logLines.push(l), 0) }, 'debug'),
    });

  const applyServices = (endpoints: (f: (typeof FAMILIES)[number]) => string[]) => {
    const nodeOf = (ip: string) => (ip === ADDRS.v4.podA || ip === ADDRS.v6.podA ? 'node-a' : 'node-b');
    for (const f of FAMILIES) {
      api.apply('services', makeService('default', `web${f.v}`, f.vip, PORTS));
      api.apply('endpointslices', makeSlice('default', `web${f.v}-x`, `web${f.v}`, endpoints(f).map((ip) => ({ ip, nodeName: nodeOf(ip) })), PORTS.map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol }))));
    }
  };
  /** Waits until the agent has applied everything the fake API server sent. */
  const caughtUp = async () => {
    await waitFor('agent caught up', () => {
      const rv = agent!.resourceVersions();
      return (['services', 'endpointslices'] as const).every((r) => api.lastResourceVersion(r) === '0' || Number(rv[r]) >= Number(api.lastResourceVersion(r)));
    });
    await agent!.loop.idle();
  };
  const metrics = async () => (await fetch(`http://${agent!.opsAddress}/metrics`)).text();
  const metric = (text: string, name: string, labels: string) => Number(new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

  /** One long connection (see LONG) per family and backend through NodePort 30081, each past its first answer. */
  const holdLongConnections = async () => {
    // Sticky per client tuple: new connections until both backends are held.
    const longs: { name: string; c: ReturnType<typeof runBounded> }[] = [];
    for (const { fam } of FAMILIES) {
      const held = new Set<string>();
      for (let attempt = 0; attempt < 16 && held.size < 2; attempt++) {
        let out = '';
        let first!: (name: string) => void;
        const got = new Promise<string>((r) => (first = r));
        const c = runBounded(['ip', 'netns', 'exec', topo.client, process.execPath, '-e', LONG, fam.nodeA, '30081'], 40_000, (chunk) => {
          out += chunk;
          const m = /got:echo:([AB]):one/.exec(out);
          if (m) first(m[1]!);
        });
        const name = await Promise.race([got, c.then((r) => Promise.reject(new Error(`long client ended early: ${r.stdout} ${r.stderr}`)))]);
        if (held.has(name)) {
          // A second connection to a backend already held: let it finish.
          c.child.stdin!.write('go\n');
          await c;
          continue;
        }
        held.add(name);
        longs.push({ name, c });
      }
      expect([...held].sort()).toEqual(['A', 'B']);
    }
    return longs;
  };
  /** Lets the long connections send their second message; each must get its answer from the same backend and close cleanly. */
  const finishLongConnections = async (longs: { name: string; c: ReturnType<typeof runBounded> }[]) => {
    for (const l of longs) l.c.child.stdin!.write('go\n');
    const done = await Promise.all(longs.map((l) => l.c));
    done.forEach((r, i) => {
      const name = longs[i]!.name;
      expect(r.stdout.split('\n').filter((l) => l.startsWith('got:'))).toEqual([`got:echo:${name}:one`, `got:echo:${name}:two`]);
      expect(r.code).toBe(0);
    });
  };

  beforeAll(async () => {
    env = await createAgentNodePortEnv('agent-np');
    ({ topo, api, cg, pinDir } = env);
    env.servers.push(await startBackend(topo.podA, 'A', { lifetimeMs: 120_000 }), await startBackend(topo.podB, 'B', { lifetimeMs: 120_000 }));
    env.servers.push(await startBackend(topo.podA, 'A9', { tcpPort: 9090, udpPort: 5454, lifetimeMs: 120_000 }), await startBackend(topo.podB, 'B9', { tcpPort: 9090, udpPort: 5454, lifetimeMs: 120_000 }));
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`agent log:\n${logLines.join('')}`);
    logLines.length = 0;
  });

  afterAll(() => teardownAgentNodePortEnv(env, agent));

  it('a NodePort Service reaches the local and the remote pod from outside the cluster (TCP, UDP, IPv4, IPv6)', { timeout: 60_000 }, async () => {
    applyServices((f) => [f.fam.podA, f.fam.podB]);
    agent = await start();
    await agent.programmed;
    const d = agent.datapath.description;
    expect(d.nodePortAddresses).toEqual([ADDRS.v4.nodeA, ADDRS.v6.nodeA]);
    expect(d.nodePort).toEqual(expect.arrayContaining(['eth0:np4_ingress:attached:tcx', 'eth0:np6_ingress:attached:tcx', 'eth0:np4_egress:attached:tcx', 'eth0:np6_egress:attached:tcx']));
    // The pod behind lxc1 is found as a local endpoint (both families) once its MACs are known; its veth gets the reply programs.
    await waitFor('both local endpoints', async () => metric(await metrics(), 'tsbpf_agent_nodeport_local_endpoints', '') === 2);
    expect(readdirSync(join(pinDir, 'np-links')).sort()).toEqual(['eth0@np4_egress', 'eth0@np4_ingress', 'eth0@np6_egress', 'eth0@np6_ingress', 'lxc1@np4_from_pod', 'lxc1@np6_from_pod']);
    expect(queryTcx({ iface: 'eth0', netns: topo.nodeA }, 'ingress').progIds).toHaveLength(2);
    expect(queryTcx({ iface: 'eth0', netns: topo.nodeA }, 'egress').progIds).toHaveLength(2);
    // lxc1: the NodePort reply programs first, then the tc ClusterIP program.
    const lxc1 = queryTcx({ iface: 'lxc1', netns: topo.nodeA }, 'ingress').progIds;
    expect(lxc1).toHaveLength(3);
    expect(lxc1[2]).toBe(queryTcx({ iface: 'lxc2', netns: topo.nodeA }, 'ingress').progIds[0]);

    for (const { fam } of FAMILIES) {
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30080, udpPort: 30053, count: COUNT });
      const names = new Set<string>();
      r.tcp.forEach((t, i) => {
        expect(t).toMatchObject({ ok: true, peer: `${fam.nodeA}:30080` });
        // The local pod sees the client itself (DNAT only); the remote one sees node A (SNAT).
        const m = /^pong:(A|B):ping-(\d+):(.*)$/.exec(t.data ?? '');
        expect(m?.slice(2)).toEqual([String(i), m?.[1] === 'A' ? fam.client : fam.nodeA]);
        names.add(m![1]!);
      });
      expect([...names].sort()).toEqual(['A', 'B']);
      expect(r.udp).toHaveLength(COUNT);
      for (const u of r.udp) expect(u.peer).toBe(`${fam.nodeA}:30053`);
      // One client socket is one flow: one backend answers every datagram.
      const seen = /^pong:(A|B):/.exec(r.udp[0]!.data)![1];
      expect(r.udp.map((u) => u.data)).toEqual(Array.from({ length: COUNT }, (_, i) => `pong:${seen}:dgram-${i}:${seen === 'A' ? fam.client : fam.nodeA}`));
    }
    // A pod outside the socket LB reaches a ClusterIP Service whose backend is the pod behind lxc1: its replies pass the
    // NodePort reply programs (not NodePort replies) on to the tc ClusterIP program, which restores the VIP.
    api.apply('services', makeService('default', 'cip', '10.96.0.40', [{ name: 'tcp', port: 80, targetPort: 8080 }]));
    api.apply('endpointslices', makeSlice('default', 'cip-x', 'cip', [{ ip: ADDRS.v4.podA, nodeName: 'node-a' }], [{ name: 'tcp', port: 8080 }]));
    await caughtUp();
    const cluster = await runClient(topo.cpod, '10.96.0.40', { tcpPort: 80, count: 6 });
    expect(cluster.tcp.map((t) => [t.data, t.peer])).toEqual(Array.from({ length: 6 }, (_, i) => [`pong:A:ping-${i}:${ADDRS.v4.cpod}`, '10.96.0.40:80']));
    api.remove('endpointslices', 'default', 'cip-x');
    api.remove('services', 'default', 'cip');
    await caughtUp();

    const text = await metrics();
    expect(metric(text, 'tsbpf_agent_nodeport_packets_total', 'path="fib"') + metric(text, 'tsbpf_agent_nodeport_packets_total', 'path="redirect_neigh"')).toBeGreaterThan(0);
    expect(metric(text, 'tsbpf_agent_nodeport_snat_allocations_total', 'tries="0"')).toBeGreaterThan(0);
    // The SNATed packets pass the native device's egress program too: they are NodePort's own, neither host flows nor clashes.
    expect([metric(text, 'tsbpf_agent_nodeport_packets_total', 'path="host_flow"'), metric(text, 'tsbpf_agent_nodeport_packets_total', 'path="host_clash"')]).toEqual([0, 0]);
    expect(metric(text, 'tsbpf_agent_nodeport_drops_total', 'reason="no_backend"')).toBe(0);
    expect(metric(text, 'tsbpf_agent_nodeport_refresh_failures_total', '')).toBe(0);
  });

  it('scaling the EndpointSlice moves NodePort traffic; an empty one and a deleted Service stop it', async () => {
    applyServices((f) => [f.fam.podB]);
    await caughtUp();
    for (const { fam } of FAMILIES) {
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30080, count: 6 });
      expect(r.tcp.map((t) => t.data)).toEqual(Array.from({ length: 6 }, (_, i) => `pong:B:ping-${i}:${fam.nodeA}`));
    }
    applyServices(() => []);
    await caughtUp();
    for (const { fam } of FAMILIES) {
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30080, count: 2, timeoutMs: 700 });
      for (const t of r.tcp) expect([t.ok, ['ECONNREFUSED', 'TIMEOUT'].includes(t.code!)]).toEqual([false, true]);
    }
    for (const f of FAMILIES) {
      api.remove('endpointslices', 'default', `web${f.v}-x`);
      api.remove('services', 'default', `web${f.v}`);
    }
    await caughtUp();
    for (const { fam } of FAMILIES) {
      // No NodePort frontend: the packet goes to node A's own stack, which has nothing on the port.
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30080, count: 2, timeoutMs: 700 });
      expect(r.tcp.map((t) => t.code)).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
    }
    // Without backends on lxc1 its reply programs are detached.
    await waitFor('lxc1 reply programs detached', () => !existsSync(join(pinDir, 'np-links', 'lxc1@np4_from_pod')));
    // Only the tc ClusterIP program is left there.
    expect(queryTcx({ iface: 'lxc1', netns: topo.nodeA }, 'ingress').progIds).toHaveLength(1);
  });

  it('externalTrafficPolicy=Local: only the local pod answers and sees the client; without a local pod, dropped', async () => {
    const LOCAL_PORTS = [{ name: 'tcp', port: 80, targetPort: 8080, nodePort: 30082 }];
    const localService = (v: 4 | 6, vip: string, policy: 'Local' | 'Cluster', eps: { ip: string; nodeName: string }[]) => {
      api.apply('services', makeService('default', `loc${v}`, vip, LOCAL_PORTS, { externalTrafficPolicy: policy }));
      api.apply('endpointslices', makeSlice('default', `loc${v}-x`, `loc${v}`, eps, [{ name: 'tcp', port: 8080 }]));
    };
    const both = (f: (typeof FAMILIES)[number]) => [{ ip: f.fam.podA, nodeName: 'node-a' }, { ip: f.fam.podB, nodeName: 'node-b' }];
    for (const f of FAMILIES) localService(f.v, f.vip.replace(/20$/, '21'), 'Local', both(f));
    await caughtUp();
    await waitFor('both local endpoints', async () => metric(await metrics(), 'tsbpf_agent_nodeport_local_endpoints', '') === 2);
    for (const { fam } of FAMILIES) {
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30082, count: COUNT });
      expect(r.tcp.map((t) => t.data)).toEqual(Array.from({ length: COUNT }, (_, i) => `pong:A:ping-${i}:${fam.client}`));
      expect(new Set(r.tcp.map((t) => t.peer))).toEqual(new Set([`${fam.nodeA}:30082`]));
    }
    // The same Service with policy Cluster spreads over both pods again.
    for (const f of FAMILIES) localService(f.v, f.vip.replace(/20$/, '21'), 'Cluster', both(f));
    await caughtUp();
    for (const { fam } of FAMILIES) {
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30082, count: COUNT });
      expect(r.tcp.every((t) => t.ok)).toBe(true);
      expect(new Set(r.tcp.map((t) => t.data!.split(':')[1]))).toEqual(new Set(['A', 'B']));
    }
    // Local with only a remote pod: node A has nothing to send it to.
    for (const f of FAMILIES) localService(f.v, f.vip.replace(/20$/, '21'), 'Local', [{ ip: f.fam.podB, nodeName: 'node-b' }]);
    await caughtUp();
    const dropsBefore = metric(await metrics(), 'tsbpf_agent_nodeport_drops_total', 'reason="no_backend"');
    for (const { fam } of FAMILIES) {
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30082, count: 2, timeoutMs: 700 });
      expect(r.tcp.map((t) => t.code)).toEqual(['TIMEOUT', 'TIMEOUT']);
    }
    expect(metric(await metrics(), 'tsbpf_agent_nodeport_drops_total', 'reason="no_backend"') - dropsBefore).toBeGreaterThanOrEqual(4);
    for (const f of FAMILIES) {
      api.remove('endpointslices', 'default', `loc${f.v}-x`);
      api.remove('services', 'default', `loc${f.v}`);
    }
    await caughtUp();
  });

  it('sessionAffinity ClientIP: every connection of the outside client goes to one pod; without it, both answer', async () => {
    const STICKY_PORTS = [{ name: 'tcp', port: 80, targetPort: 8080, nodePort: 30084 }];
    const sticky = (v: 4 | 6, vip: string, affinity: boolean, eps: { ip: string; nodeName: string }[]) => {
      api.apply('services', makeService('default', `sticky${v}`, vip, STICKY_PORTS, affinity ? { sessionAffinitySeconds: 600 } : {}));
      api.apply('endpointslices', makeSlice('default', `sticky${v}-x`, `sticky${v}`, eps, [{ name: 'tcp', port: 8080 }]));
    };
    const both = (f: (typeof FAMILIES)[number]) => [{ ip: f.fam.podA, nodeName: 'node-a' }, { ip: f.fam.podB, nodeName: 'node-b' }];
    const pods = async (fam: (typeof FAMILIES)[number]['fam']) => {
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30084, count: COUNT });
      expect(r.tcp.every((t) => t.ok), JSON.stringify(r.tcp.filter((t) => !t.ok))).toBe(true);
      return new Set(r.tcp.map((t) => t.data!.split(':')[1]));
    };
    for (const f of FAMILIES) sticky(f.v, f.vip.replace(/20$/, '24'), false, both(f));
    await caughtUp();
    await waitFor('both local endpoints', async () => metric(await metrics(), 'tsbpf_agent_nodeport_local_endpoints', '') === 2);
    for (const { fam } of FAMILIES) expect(await pods(fam)).toEqual(new Set(['A', 'B']));
    for (const f of FAMILIES) sticky(f.v, f.vip.replace(/20$/, '24'), true, both(f));
    await caughtUp();
    // Each connection has its own client port (a new NodePort flow); affinity keys on the client address.
    for (const { fam } of FAMILIES) expect((await pods(fam)).size).toBe(1);
    for (const f of FAMILIES) {
      api.remove('endpointslices', 'default', `sticky${f.v}-x`);
      api.remove('services', 'default', `sticky${f.v}`);
    }
    await caughtUp();
  });

  it('a restarted agent swaps its programs into the pinned links; established NodePort connections keep working', async () => {
    applyServices((f) => [f.fam.podA, f.fam.podB]);
    await caughtUp();
    await waitFor('both local endpoints', async () => metric(await metrics(), 'tsbpf_agent_nodeport_local_endpoints', '') === 2);
    const longs = await holdLongConnections();
    const hooks = [['eth0', 'ingress'], ['eth0', 'egress'], ['lxc1', 'ingress']] as const;
    const attachedIds = () => hooks.flatMap(([iface, dir]) => queryTcx({ iface, netns: topo.nodeA }, dir).progIds);
    const idsBefore = attachedIds();
    expect(idsBefore).toHaveLength(7);
    // New connections keep coming while the agent restarts (IPv4, both backends): none may fail. They go to backend
    // servers of their own (port 9090), through a NodePort no earlier test used: thousands of connections wrap the
    // client's ephemeral ports onto tuples of the earlier tests' connections to 30080, whose NodePort flow and SNAT
    // entries outlived the Service's delete + re-create (stale reverse-NAT index), and a few of those go unanswered
    // with or without a restart (a datapath issue left open, see the report).
    const during = startClient(topo.client, ADDRS.v4.nodeA, { tcpPort: 30084, count: 5000, parallel: 2, timeoutMs: 3_000, limitMs: 60_000 });
    while (during.progress() < 50 && !during.finished()) await new Promise((r) => setTimeout(r, 5));
    during.mark('stop');
    const t0 = performance.now();
    await agent!.stop();
    agent = await start();
    await agent.programmed;
    const restartMs = performance.now() - t0;
    during.mark('programmed');
    const restartedWhileRunning = !during.finished();
    const traffic = await during.result;
    expect(restartedWhileRunning).toBe(true);
    expect(traffic.tcp.filter((t) => !t.ok)).toEqual([]);
    expect(new Set(traffic.tcp.map((t) => t.data!.split(':')[1]))).toEqual(new Set(['A9', 'B9']));
    const across = traffic.tcp.filter((t) => t.at >= traffic.marks.stop! && t.at <= traffic.marks.programmed!).length;
    expect(across).toBeGreaterThan(0);
    process.stderr.write(`NodePort through an agent restart: ${across} connections started during the ${Math.round(restartMs)} ms restart, all answered\n`);
    expect(agent.datapath.description.restoredServices).toBeGreaterThan(0);
    expect(agent.datapath.description.nodePort).toEqual(expect.arrayContaining(['eth0:np4_ingress:replaced:tcx', 'eth0:np6_ingress:replaced:tcx', 'eth0:np4_egress:replaced:tcx', 'eth0:np6_egress:replaced:tcx']));
    // The local pod is found again from the restored tables before the first sync: its veth's links are swapped too.
    expect(agent.datapath.description.nodePort).toEqual(expect.arrayContaining(['lxc1:np4_from_pod:replaced:tcx', 'lxc1:np6_from_pod:replaced:tcx']));
    // Still one program per family on each hook, each a new one: swapped, not added.
    const idsAfter = attachedIds();
    expect(idsAfter).toHaveLength(7);
    expect(idsAfter.filter((id) => idsBefore.includes(id))).toEqual([]);
    await finishLongConnections(longs);
    // New connections after the restart (on the restart servers: see above).
    for (const { fam } of FAMILIES) {
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30084, count: 6 });
      expect(r.tcp.filter((t) => !t.ok)).toEqual([]);
    }
  }, 90_000);

  it('uninstall detaches every NodePort program and removes the pins', async () => {
    await agent!.uninstall();
    agent = undefined;
    expect(existsSync(pinDir)).toBe(false);
    for (const dev of ['eth0', 'lxc1'])
      for (const dir of ['ingress', 'egress'] as const) {
        expect(queryTcx({ iface: dev, netns: topo.nodeA }, dir).progIds).toEqual([]);
        expect(listTcFilters({ iface: dev, netns: topo.nodeA }, dir)).toEqual([]);
      }
    for (const { fam } of FAMILIES) {
      const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30080, count: 2, timeoutMs: 700 });
      expect(r.tcp.map((t) => t.code)).toEqual(['ECONNREFUSED', 'ECONNREFUSED']);
    }
  });

  it('the CLI: a SIGKILLed agent restarted keeps established NodePort connections; SIGTERM leaves the datapath; --uninstall removes it', { timeout: 120_000 }, async () => {
    applyServices((f) => [f.fam.podA, f.fam.podB]);
    const args = ['bin/tsbpf.js', 'agent', '--api-server', api.url, '--pin', pinDir, '--cgroup', cg.path, '--listen', '127.0.0.1:0', '--node-name', 'node-a', '--nodeport-device', 'eth0', '--nodeport-netns', topo.nodeA];
    const env = { PATH: process.env.PATH, HOME: '/nonexistent', TSBPF_FROM_SOURCE: '1' };
    const children: ChildProcess[] = [];
    const startCli = (extra: string[] = []) => {
      const child = spawn(process.execPath, [...args, ...extra], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
      return { child, log: () => err };
    };
    const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('exit', r)));
    try {
      const first = startCli();
      await waitFor('first agent programmed', () => first.log().includes('"msg":"programmed"'), 60_000);
      expect(first.log()).toContain('eth0:np4_ingress:attached:tcx');
      await waitFor('both local endpoints', () => /"added":\[[^\]]*"10\.77\.1\.2"/.test(first.log()) && /"added":\[[^\]]*"fd00:77:1::2"/.test(first.log()));
      const longs = await holdLongConnections();
      process.kill(first.child.pid!, 'SIGKILL');
      await exited(first.child);
      const second = startCli();
      await waitFor('second agent programmed', () => second.log().includes('"msg":"programmed"'), 60_000);
      expect(second.log()).toContain('eth0:np4_ingress:replaced:tcx');
      expect(second.log()).toContain('lxc1:np6_from_pod:replaced:tcx');
      await finishLongConnections(longs);
      second.child.kill('SIGTERM');
      await exited(second.child);
      expect(second.log()).toContain('datapath left in place');
      // Nobody runs: the pinned datapath still answers.
      for (const { fam } of FAMILIES) {
        const r = await runClient(topo.client, fam.nodeA, { tcpPort: 30080, count: 4 });
        expect(r.tcp.filter((t) => !t.ok)).toEqual([]);
      }
      const un = startCli(['--uninstall']);
      await exited(un.child);
      expect(un.child.exitCode).toBe(0);
      expect(un.log()).toContain('datapath removed');
      expect(existsSync(pinDir)).toBe(false);
      for (const dev of ['eth0', 'lxc1'])
        for (const dir of ['ingress', 'egress'] as const) {
          expect(queryTcx({ iface: dev, netns: topo.nodeA }, dir).progIds).toEqual([]);
          expect(listTcFilters({ iface: dev, netns: topo.nodeA }, dir)).toEqual([]);
        }
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  });
});
