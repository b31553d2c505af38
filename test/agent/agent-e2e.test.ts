/**
 * The agent end to end: a list/watch server stands in for the API server, the
 * agent deploys the real socket LB (compiled for this kernel, maps and links
 * pinned in a private bpffs, attached to a test cgroup) and programs it from
 * Services and EndpointSlices; a client in a network namespace inside that
 * cgroup makes real TCP connections to the VIP. Checked: a new Service works,
 * scale up/down, terminating endpoints drain (and the serving+terminating
 * fallback), a dropped watch with 410 Gone loses no update, deletion refuses
 * connects, /healthz and /metrics; and a SIGKILLed agent process, restarted,
 * keeps established connections and its service table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../programs/agent/agent.js';
import { loadKubeConfig } from '../../programs/agent/kubeconfig.js';
import { jsonLogger } from '../../programs/agent/log.js';
import { socketLbDatapath } from '../../programs/agent/socket-datapath.js';
import { ServiceManager } from '../../programs/lb/manager.js';
import { need } from '../support/env.js';
import { FakeKubeApi } from '../support/kube-api.js';
import { makeService, makeSlice, type EndpointSpec } from '../support/kube-objects.js';
import { runBounded } from '../support/netns.js';
import { TCP_CLIENT, type TcpResult } from '../sock/clients.js';
import { BACKEND_PORT, openSockLab, type SockLab } from '../sock/lab.js';

const VIP = '10.96.71.10';
const LONG_PORT = 9090;

/** A TCP echo server that keeps connections open (for the restart test). */
const LONG_ECHO = `
const net = require('node:net');
const addrs = process.argv.slice(1);
let pending = addrs.length;
for (const a of addrs) net.createServer((s) => { s.on('data', (d) => s.write(d)); s.on('error', () => {}); }).listen(${LONG_PORT}, a, () => { if (--pending === 0) process.stdout.write('ready\\n'); });
setTimeout(() => process.exit(0), 60000);
`;

/** One connection held open for `seconds`, a ping every 100 ms; prints {sent, echoed, error}. */
const LONG_CLIENT = `
const net = require('node:net');
const [host, port, seconds] = process.argv.slice(1);
const c = net.connect({ host, port: Number(port) });
let sent = 0, echoed = '', error;
c.on('connect', () => {
  const t = setInterval(() => { c.write('p' + sent++ + ';'); }, 100);
  setTimeout(() => { clearInterval(t); setTimeout(() => { process.stdout.write(JSON.stringify({ sent, echoed: echoed.split(';').filter(Boolean).length, error }) + '\\n'); process.exit(0); }, 300); }, Number(seconds) * 1000);
});
c.on('data', (d) => (echoed += d));
c.on('error', (e) => { error = e.code; process.stdout.write(JSON.stringify({ sent, echoed: 0, error }) + '\\n'); process.exit(0); });
`;

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!need({ kernel: true }))('agent: Services and EndpointSlices to real traffic', () => {
  let lab: SockLab;
  let api: FakeKubeApi;
  let agent: Agent | undefined;
  const logs: string[] = [];
  let b1: string;
  /** A directory inside the lab's bpffs (the mount root holds bpffs's own files). */
  let pinDir: string;
  let b2: string;

  const tcp = (n: number, port = 80) => lab.client<TcpResult[]>(TCP_CLIENT, [VIP, port, n]);
  const spread = (r: TcpResult[]) => {
    const m = new Map<string, number>();
    for (const x of r) m.set(x.ok ? x.data! : `error ${x.code}`, (m.get(x.ok ? x.data! : `error ${x.code}`) ?? 0) + 1);
    return m;
  };
  const slice = (eps: EndpointSpec[]) => makeSlice('shop', 'web-abc', 'web', eps, [{ name: 'http', port: BACKEND_PORT.tcp }], new Date());
  /** Waits until the agent programmed everything the server has sent. */
  const settled = async () => {
    // Every change the server made has reached the agent's informers, then the syncs are done.
    await waitFor('agent to catch up', () => {
      const rv = agent!.resourceVersions();
      return (['services', 'endpointslices'] as const).every((r) => api.lastResourceVersion(r) === '0' || Number(rv[r]) >= Number(api.lastResourceVersion(r)));
    });
    await agent!.loop.idle();
  };
  const startInProcess = async () =>
    startAgent({
      kubeConfig: loadKubeConfig({ apiServer: api.url, env: {} }).config,
      pinDir,
      cgroup: lab.cgroup.path,
      listen: '127.0.0.1:0',
      target: 'host',
      datapath: socketLbDatapath,
      log: jsonLogger({ write: (s: string) => logs.push(s) }, 'debug'),
      informers: { initialBackoffMs: 10, maxBackoffMs: 100 },
    });

  beforeAll(async () => {
    lab = await openSockLab({ subnet: 71, attach: false, target: 'host' });
    [b1, b2] = lab.backends4;
    pinDir = join(lab.pins.path, 'agent');
    api = await FakeKubeApi.start();
  });

  afterAll(async () => {
    try {
      await agent?.uninstall();
      if (agent) expect(existsSync(join(pinDir, 'lb4_services'))).toBe(false);
    } finally {
      await api?.close();
      lab?.close();
    }
  });

  it('starts, deploys the socket LB and reports healthy once programmed', async () => {
    agent = await startInProcess();
    await agent.programmed;
    const h = await fetch(`http://${agent.opsAddress}/healthz`);
    expect(h.status).toBe(200);
    expect(agent.datapath.description.datapath).toBe('socket-lb');
    expect(logs.some((l) => JSON.parse(l).msg === 'full sync')).toBe(true);
  });

  it('a new Service is reachable at its VIP as soon as it is programmed', async () => {
    api.apply('services', makeService('shop', 'web', VIP, [{ name: 'http', port: 80, targetPort: BACKEND_PORT.tcp }]));
    api.apply('endpointslices', slice([{ ip: b1 }]));
    await settled();
    const r = await tcp(10);
    expect(spread(r)).toEqual(new Map([[`backend ${b1}`, 10]]));
  });

  it('scaling up spreads new connections over both backends; scaling down stops using the removed one', async () => {
    api.apply('endpointslices', slice([{ ip: b1 }, { ip: b2 }]));
    await settled();
    const up = spread(await tcp(40));
    expect([...up.keys()].sort()).toEqual([`backend ${b1}`, `backend ${b2}`]);
    api.apply('endpointslices', slice([{ ip: b2 }]));
    await settled();
    expect(spread(await tcp(15))).toEqual(new Map([[`backend ${b2}`, 15]]));
  });

  it('terminating endpoints get no new connections; with nothing else left, serving+terminating ones do', async () => {
    api.apply('endpointslices', slice([{ ip: b1 }, { ip: b2, ready: false, serving: true, terminating: true }]));
    await settled();
    expect(spread(await tcp(15))).toEqual(new Map([[`backend ${b1}`, 15]]));
    api.apply('endpointslices', slice([{ ip: b1, ready: false, serving: false, terminating: true }, { ip: b2, ready: false, serving: true, terminating: true }]));
    await settled();
    expect(spread(await tcp(10))).toEqual(new Map([[`backend ${b2}`, 10]]));
  });

  it('a dropped watch resumed after 410 Gone loses no update', async () => {
    api.hold();
    api.dropWatches();
    api.apply('endpointslices', slice([{ ip: b1 }]));
    api.apply('services', makeService('shop', 'web2', '10.96.71.11', [{ port: 80, targetPort: BACKEND_PORT.tcp }]));
    api.apply('endpointslices', makeSlice('shop', 'web2-x', 'web2', [{ ip: b2 }], [{ port: BACKEND_PORT.tcp }]));
    api.compact();
    api.release();
    await waitFor('re-list after 410', () => api.seen('endpointslices', false).length >= 2);
    await waitFor('state programmed', () => agent!.datapath.programmer.counts().frontends === 2);
    await settled();
    expect(spread(await tcp(10))).toEqual(new Map([[`backend ${b1}`, 10]]));
    expect(spread(await lab.client<TcpResult[]>(TCP_CLIENT, ['10.96.71.11', 80, 5]))).toEqual(new Map([[`backend ${b2}`, 5]]));
  });

  it('a deleted Service refuses connects; /metrics counts what was programmed', async () => {
    api.remove('services', 'shop', 'web2');
    await settled();
    const r = await lab.client<TcpResult[]>(TCP_CLIENT, ['10.96.71.11', 80, 1]);
    expect(r[0]!.ok).toBe(false);
    const text = await (await fetch(`http://${agent!.opsAddress}/metrics`)).text();
    expect(text).toMatch(/^tsbpf_agent_frontends 1$/m);
    expect(text).toMatch(/^tsbpf_agent_services\{state="proxied"\} 1$/m);
    const programmedCount = Number(/^tsbpf_agent_network_programming_duration_seconds_count (\d+)$/m.exec(text)?.[1]);
    expect(programmedCount).toBeGreaterThanOrEqual(5);
    expect(text).toMatch(/^tsbpf_agent_map_entries\{map="lb4_services"\} \d+$/m);
    expect(Number(/^tsbpf_agent_informer_lists_total\{resource="endpointslices"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('stop() leaves the datapath working; a SIGKILLed agent process, restarted, keeps established connections', async () => {
    await agent!.stop();
    agent = undefined;
    // Stopped: the pinned datapath still balances.
    expect(spread(await tcp(5))).toEqual(new Map([[`backend ${b1}`, 5]]));
    // A long-lived connection to a service on port LONG_PORT, then kill -9 the agent and start another.
    api.apply('services', makeService('shop', 'long', '10.96.71.12', [{ port: LONG_PORT, targetPort: LONG_PORT }]));
    api.apply('endpointslices', makeSlice('shop', 'long-x', 'long', [{ ip: b1 }], [{ port: LONG_PORT }]));
    let serverReady = false;
    const server = runBounded(['ip', 'netns', 'exec', lab.net.b, process.execPath, '-e', LONG_ECHO, b1], 60_000, (c) => {
      if (c.includes('ready')) serverReady = true;
    });
    const children: ChildProcess[] = [];
    try {
      await waitFor('echo server', () => serverReady);
      const agentArgs = ['bin/tsbpf.js', 'agent', '--api-server', api.url, '--pin', pinDir, '--cgroup', lab.cgroup.path, '--listen', '127.0.0.1:0'];
      const env = { PATH: process.env.PATH, HOME: '/nonexistent', K8S_NODE_NAME: 'node-a' };
      const startChild = () => {
        const child = spawn(process.execPath, agentArgs, { env, stdio: ['ignore', 'ignore', 'pipe'] });
        children.push(child);
        let err = '';
        child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
        return { child, log: () => err };
      };
      const first = startChild();
      await waitFor('first agent programmed', () => first.log().includes('"msg":"programmed"'), 60_000);
      const longRun = lab.run([process.execPath, '-e', LONG_CLIENT, '10.96.71.12', String(LONG_PORT), '6'], 20_000);
      await new Promise((r) => setTimeout(r, 1000));
      process.kill(first.child.pid!, 'SIGKILL');
      const second = startChild();
      await waitFor('second agent programmed', () => second.log().includes('"msg":"programmed"'), 60_000);
      expect(second.log()).toMatch(/"restoredServices":[1-9]/);
      const long = JSON.parse((await longRun).stdout.trim().split('\n').pop()!) as { sent: number; echoed: number; error?: string };
      expect(long.error).toBeUndefined();
      expect(long.sent).toBeGreaterThan(40);
      expect(long.echoed).toBe(long.sent);
      // The restarted agent follows changes.
      api.apply('endpointslices', slice([{ ip: b2 }]));
      await waitFor('restarted agent programs a change', async () => spread(await tcp(3)).get(`backend ${b2}`) === 3, 15_000);
      // SIGTERM: it exits and leaves the datapath.
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
      expect(second.log()).toContain('datapath left in place');
      const mgr = ServiceManager.fromPins(pinDir);
      try {
        expect(mgr.list().map((s) => `${s.frontend.address}:${s.frontend.port}`).sort()).toEqual([`${VIP}:80`, `10.96.71.12:${LONG_PORT}`].sort());
      } finally {
        mgr.close();
      }
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      if (server.child.pid !== undefined && server.child.exitCode === null) process.kill(server.child.pid, 'SIGKILL');
    }
    // Restart in-process for the uninstall in afterAll.
    agent = await startInProcess();
    await agent.programmed;
  });
});
