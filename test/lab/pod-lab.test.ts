/**
 * The namespace lab for real: a node namespace routing between pods, echo
 * backends answering TCP and UDP over IPv4 and IPv6 across it, bounded
 * children (time limit, cgroup), clear errors for bad input with nothing
 * created, and teardown — on `cleanup()` and on SIGINT — that leaves no
 * namespace behind (checked with test/support/netns.ts's independent list).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createCgroup, createPodLab, deleteNetns, LabError, run, runChild, startChild, startEchoServer, Teardown,
} from '../../programs/lab/index.js';
import { need } from '../support/env.js';
import { listNetns } from '../support/netns.js';

const CLIENT = `
const net = require('node:net');
const dgram = require('node:dgram');
const [tcp4, tcp6, udp4] = process.argv.slice(1);
const tcp = (host) => new Promise((ok, fail) => {
  const s = net.connect(8080, host); let d = '';
  s.on('data', (c) => (d += c)); s.on('end', () => ok(d)); s.on('error', fail); s.write('hello');
});
const udp = (host) => new Promise((ok) => {
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => { u.close(); ok(m.toString() + ' from ' + r.address); });
  u.send('ping', 5353, host);
});
(async () => console.log(JSON.stringify([await tcp(tcp4), await tcp(tcp6), await udp(udp4)])))();
`;

const labNames = () => listNetns().filter((n) => n.includes(`-${process.pid}-`));

describe('pod lab', () => {
  it.skipIf(!need({ kernel: true, tools: ['ip'] }))('routes TCP and UDP, IPv4 and IPv6, between pods through the node', async () => {
    const before = labNames();
    const lab = createPodLab({ pods: ['client', 'backend'] });
    try {
      expect(lab.pods.map((p) => [p.name, p.address, p.address6])).toEqual([['client', '10.244.1.2', 'fd00:244:1::2'], ['backend', '10.244.2.2', 'fd00:244:2::2']]);
      expect(labNames()).toHaveLength(before.length + 3);
      const backend = lab.pod('backend');
      const server = await startEchoServer({ netns: backend.ns, id: 'backend', tcpPort: 8080, udpPort: 5353, host: '::' });
      const r = await runChild([process.execPath, '-e', CLIENT, backend.address, backend.address6, backend.address], { netns: lab.pod('client').ns, timeoutMs: 5000 });
      expect(JSON.parse(r.stdout)).toEqual(['backend hello', 'backend hello', 'backend ping from 10.244.2.2']);
      expect(await server.stop()).toEqual({ tcp: 2, udp: 1 });
      expect(() => lab.pod('nope')).toThrow(/no pod "nope"/);
    } finally {
      lab.cleanup();
    }
    expect(labNames()).toEqual(before);
  });

  it.skipIf(!need({ kernel: true, tools: ['ip'] }))('a new namespace routes IPv6 at once: no address is tentative right after link up', () => {
    // A tentative link-local address makes the node send no neighbour
    // solicitation for a forwarded packet, so the first routed IPv6 packets
    // waited a retransmit (the ClusterIP e2e test's first connection timed out).
    const lab = createPodLab({ pods: ['client', 'backend'] });
    try {
      for (const ns of [lab.node, ...lab.pods.map((p) => p.ns)]) expect(run(['ip', '-n', ns, '-6', 'addr', 'show'])).not.toContain('tentative');
    } finally {
      lab.cleanup();
    }
  });

  it.skipIf(!need({ kernel: true, tools: ['ip'] }))('refuses bad input with a LabError and creates nothing', () => {
    const before = labNames();
    for (const pods of [[], ['Bad_Name'], ['a', 'a']]) {
      const e = (() => { try { createPodLab({ pods }); } catch (err) { return err; } })();
      expect(e).toBeInstanceOf(LabError);
      expect((e as LabError).code).toBe('LAB_INPUT');
    }
    expect(() => deleteNetns('some-host-namespace')).toThrow(/not created by the lab/);
    expect(labNames()).toEqual(before);
  });

  it.skipIf(!need({ kernel: true, tools: ['ip'] }))('tears down on SIGINT: the process exits 130 with its namespaces gone', async () => {
    const script = `
      import { createPodLab } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'programs', 'lab', 'index.ts'))};
      const lab = createPodLab({ pods: ['a', 'b'] });
      console.log(JSON.stringify([lab.node, ...lab.pods.map((p) => p.ns)]));
      setTimeout(() => {}, 20000);
    `;
    let names: string[] = [];
    const child = startChild([process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], {
      timeoutMs: 25_000,
      onStdout: (c) => {
        if (c.includes('[')) {
          names = JSON.parse(c.slice(c.indexOf('['), c.indexOf(']') + 1)) as string[];
          child.stop('SIGINT');
        }
      },
    });
    const r = await child.done;
    expect(names).toHaveLength(3);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('SIGINT: tearing the lab down');
    const present = new Set(listNetns());
    expect(names.filter((n) => present.has(n))).toEqual([]);
  });
});

describe('bounded children', () => {
  it.skipIf(!need({ kernel: true }))('kills a child that overruns by its PID, reports failures with stderr, joins a cgroup', async () => {
    const slow = startChild(['sleep', '30'], { timeoutMs: 200 });
    const r = await slow.done;
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    await expect(runChild(['sh', '-c', 'echo oops >&2; exit 3'])).rejects.toThrow(/exited with 3: oops/);
    await expect(runChild(['sleep', '5'], { timeoutMs: 100 })).rejects.toMatchObject({ code: 'LAB_CHILD' });
    expect(() => run(['sleep', '5'], { timeoutMs: 100 })).toThrow(/`sleep 5` failed \(status \?\): timed out after 100 ms/);
    expect(() => run(['sh', '-c', 'echo nope >&2; exit 4'])).toThrow(/status 4\): nope/);

    const cg = createCgroup('lab-test');
    try {
      const inside = startChild(['sh', '-c', 'cat /proc/self/cgroup; sleep 0.3'], { cgroup: cg.path, timeoutMs: 5000 });
      await new Promise((ok) => setTimeout(ok, 100));
      expect(cg.procs().length).toBeGreaterThan(0);
      const out = await inside.done;
      expect(out.stdout).toContain(cg.path.split('/').at(-1));
    } finally {
      cg.cleanup();
    }
    expect(existsSync(cg.path)).toBe(false);
  });

  it('runs teardown steps newest first, every one even after a failure', () => {
    const order: string[] = [];
    const t = new Teardown();
    t.add('first', () => order.push('first'));
    t.add('broken', () => { throw new Error('boom'); });
    t.add('last', () => order.push('last'));
    expect(t.run()).toEqual(['broken: boom']);
    expect(order).toEqual(['last', 'first']);
    expect(t.run()).toEqual([]);
  });
});
