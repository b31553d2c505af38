/**
 * cgroup attach against the real kernel, on a cgroup the test creates under the
 * cgroup2 mount (never the root cgroup) with only the test's child in it. A
 * connect4 program rewrites a real connect() of that child (10.200.0.99:80 → a
 * listener on 127.0.0.1 inside a test namespace); every sock_addr and cgroup_skb
 * hook attaches through a link and through BPF_PROG_ATTACH; PROG_QUERY proves
 * what is attached and that nothing is left.
 */
import { describe, expect, it } from 'vitest';
import {
  attachCgroup,
  BpfLink,
  CGROUP_HOOKS,
  CgroupLegacyAttachment,
  detachCgroupProgram,
  queryCgroup,
  type CgroupHookName,
} from '../../loader/links/index.js';
import { BpfError } from '../../loader/errors.js';
import { AttachFlag } from '../../loader/sys/constants.js';
import { progInfo } from '../../loader/sys/info.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { connectProbe, createTestCgroup, runInCgroup } from '../support/cgroup.js';
import { createNetns, deleteNetns } from '../support/netns.js';
import { allowProgram, connect4Program, connect6Program, createCounter, readCounter, rewriteProgram } from './links-fixtures.js';

const ok = need({ kernel: true, tools: ['ip'] });
const SERVICE = { ip: '10.200.0.99', port: 80 };

const SOCK_ADDR_HOOKS: CgroupHookName[] = [
  'connect4',
  'connect6',
  'sendmsg4',
  'sendmsg6',
  'recvmsg4',
  'recvmsg6',
  'getpeername4',
  'getpeername6',
  'getsockname4',
  'getsockname6',
];

describe.skipIf(!ok)('cgroup attach (real kernel, test cgroup)', () => {
  for (const mode of ['link', 'legacy'] as const) {
    it(`connect4 via ${mode} rewrites a real connect() of a process in the cgroup; detach restores`, async () => {
      const cg = createTestCgroup();
      const ns = createNetns('cg');
      const counter = createCounter();
      const prog = connect4Program(counter, SERVICE, { ip: '127.0.0.1', port: 7101 });
      try {
        // Before: the service address is unreachable inside the namespace.
        expect(await connectProbe(cg.path, ns, 7101, SERVICE.ip, SERVICE.port)).toMatchObject({ ok: false, code: 'ENETUNREACH' });

        const att = attachCgroup(prog, { hook: 'connect4', cgroup: cg.path, mode });
        expect(att).toBeInstanceOf(mode === 'link' ? BpfLink : CgroupLegacyAttachment);
        expect(att.mechanism).toBe(mode);
        const q = queryCgroup(cg.path, 'connect4');
        expect(q.progIds).toEqual([progInfo(prog.value).id]);
        if (mode === 'legacy') expect(q.attachFlags).toBe(AttachFlag.ALLOW_MULTI);

        const r = await connectProbe(cg.path, ns, 7101, SERVICE.ip, SERVICE.port);
        expect(r).toMatchObject({ ok: true, data: 'listener-7101', peer: '127.0.0.1:7101' });
        expect(readCounter(counter)).toBe(1n);

        att.detach();
        expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([]);
        expect(await connectProbe(cg.path, ns, 7101, SERVICE.ip, SERVICE.port)).toMatchObject({ ok: false, code: 'ENETUNREACH' });
        expect(readCounter(counter)).toBe(1n);
        expect(cg.procs()).toEqual([]);
      } finally {
        prog.close();
        counter.close();
        deleteNetns(ns);
        cg.cleanup();
      }
    });
  }

  it('connect6 via link rewrites a real IPv6 connect() ([fd00::99]:80 → [::1])', async () => {
    const cg = createTestCgroup();
    const ns = createNetns('cg');
    const counter = createCounter();
    const prog = connect6Program(counter, { ip: 'fd00::99', port: 80 }, { ip: '::1', port: 7131 });
    try {
      expect(await connectProbe(cg.path, ns, 7131, 'fd00::99', 80, '::1')).toMatchObject({ ok: false, code: 'ENETUNREACH' });
      const link = attachCgroup(prog, { hook: 'connect6', cgroup: cg.path, mode: 'link' });
      expect(await connectProbe(cg.path, ns, 7131, 'fd00::99', 80, '::1')).toMatchObject({ ok: true, data: 'listener-7131', peer: '::1:7131' });
      expect(readCounter(counter)).toBe(1n);
      link.detach();
      expect(queryCgroup(cg.path, 'connect6').progIds).toEqual([]);
    } finally {
      prog.close();
      counter.close();
      deleteNetns(ns);
      cg.cleanup();
    }
  });

  it('getpeername4 restores the service address; sendmsg4 + recvmsg4 redirect real UDP both ways', async () => {
    const cg = createTestCgroup();
    const ns = createNetns('cg');
    const counter = createCounter();
    const backend = { ip: '127.0.0.1', port: 7111 };
    const dns = { ip: '10.200.0.53', port: 53 };
    const udpBackend = { ip: '127.0.0.1', port: 7112 };
    const progs = [
      connect4Program(counter, SERVICE, backend),
      rewriteProgram(counter, 'CGROUP_INET4_GETPEERNAME', backend, SERVICE),
      rewriteProgram(counter, 'CGROUP_UDP4_SENDMSG', dns, udpBackend),
      rewriteProgram(counter, 'CGROUP_UDP4_RECVMSG', udpBackend, dns),
    ];
    const hooks = ['connect4', 'getpeername4', 'sendmsg4', 'recvmsg4'] as const;
    const UDP_PROBE = `
const dgram = require('node:dgram');
const out = (o) => { process.stdout.write(JSON.stringify(o) + '\\n'); process.exit(0); };
setTimeout(() => out({ ok: false, code: 'TIMEOUT' }), 3000);
const server = dgram.createSocket('udp4');
server.on('message', (m, r) => server.send('pong:' + m, r.port, r.address));
server.bind(${udpBackend.port}, '127.0.0.1', () => {
  const c = dgram.createSocket('udp4');
  c.on('message', (m, r) => out({ ok: true, data: String(m), from: r.address + ':' + r.port }));
  c.send('ping', ${dns.port}, '${dns.ip}', (e) => e && out({ ok: false, code: e.code }));
});
`;
    try {
      const attachments = hooks.map((hook, i) => attachCgroup(progs[i]!, { hook, cgroup: cg.path }));
      // TCP: connect() goes to the backend, but the application sees the service as its peer.
      expect(await connectProbe(cg.path, ns, backend.port, SERVICE.ip, SERVICE.port)).toMatchObject({
        ok: true,
        data: 'listener-7111',
        peer: '10.200.0.99:80',
      });
      // UDP: sendto() the service reaches the backend; the reply seems to come from the service.
      const udp = await runInCgroup(cg.path, [process.execPath, '-e', UDP_PROBE], { netns: ns });
      expect(JSON.parse(udp.stdout)).toEqual({ ok: true, data: 'pong:ping', from: '10.200.0.53:53' });
      for (const a of attachments) a.detach();
      for (const hook of hooks) expect(queryCgroup(cg.path, hook).progIds, hook).toEqual([]);
      const plain = await runInCgroup(cg.path, [process.execPath, '-e', UDP_PROBE], { netns: ns });
      expect(JSON.parse(plain.stdout)).toMatchObject({ ok: false, code: 'ENETUNREACH' });
    } finally {
      for (const p of progs) p.close();
      counter.close();
      deleteNetns(ns);
      cg.cleanup();
    }
  });

  it('atomic replace swaps the rewrite target (link update and BPF_F_REPLACE), never leaving the hook empty', async () => {
    const cg = createTestCgroup();
    const ns = createNetns('cg');
    const counter = createCounter();
    const toA = connect4Program(counter, SERVICE, { ip: '127.0.0.1', port: 7201 });
    const toB = connect4Program(counter, SERVICE, { ip: '127.0.0.1', port: 7202 });
    try {
      for (const mode of ['link', 'legacy'] as const) {
        const att = attachCgroup(toA, { hook: 'connect4', cgroup: cg.path, mode });
        expect((await connectProbe(cg.path, ns, 7201, SERVICE.ip, SERVICE.port)).data).toBe('listener-7201');
        if (mode === 'legacy') expect(() => att.replace(toB, { expected: toB })).toThrow(/expected/);
        att.replace(toB, { expected: toA });
        expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([progInfo(toB.value).id]);
        expect(att.progId).toBe(progInfo(toB.value).id);
        expect((await connectProbe(cg.path, ns, 7202, SERVICE.ip, SERVICE.port)).data).toBe('listener-7202');
        att.detach();
        expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([]);
      }
    } finally {
      toA.close();
      toB.close();
      counter.close();
      deleteNetns(ns);
      cg.cleanup();
    }
  });

  it('a pinned cgroup link survives its fds; reopened from the pin it still rewrites; unpin + close detaches', async () => {
    const cg = createTestCgroup();
    const ns = createNetns('cg');
    const pins = createPinDir();
    const counter = createCounter();
    const prog = connect4Program(counter, SERVICE, { ip: '127.0.0.1', port: 7301 });
    try {
      const link = attachCgroup(prog, { hook: 'connect4', cgroup: cg.path, mode: 'link' }) as BpfLink;
      const pin = `${pins.path}/connect4`;
      link.pin(pin);
      link.close();
      prog.close(); // the link holds the program
      const reopened = BpfLink.open(pin);
      expect(reopened.info()).toMatchObject({ type: 'CGROUP', attachType: 'CGROUP_INET4_CONNECT' });
      expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([reopened.progId]);
      expect((await connectProbe(cg.path, ns, 7301, SERVICE.ip, SERVICE.port)).data).toBe('listener-7301');
      reopened.unpin();
      expect(queryCgroup(cg.path, 'connect4').progIds).toHaveLength(1); // our fd still holds it
      reopened.close();
      expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([]);
      expect(await connectProbe(cg.path, ns, 7301, SERVICE.ip, SERVICE.port)).toMatchObject({ ok: false });
    } finally {
      prog.close();
      counter.close();
      pins.cleanup();
      deleteNetns(ns);
      cg.cleanup();
    }
  });

  it('every sock_addr and cgroup_skb hook attaches via link and via legacy, is queryable, and detaches to nothing', () => {
    const cg = createTestCgroup();
    const opened: { close(): void }[] = [];
    try {
      const hooks: CgroupHookName[] = [...SOCK_ADDR_HOOKS, 'ingress', 'egress'];
      for (const hook of hooks) {
        const spec = CGROUP_HOOKS[hook];
        const progLink = allowProgram(spec.progType, spec.attachType);
        const progLegacy = allowProgram(spec.progType, spec.attachType);
        opened.push(progLink, progLegacy);
        const viaLink = attachCgroup(progLink, { hook: spec.name, cgroup: cg.path, mode: 'link' });
        const viaLegacy = attachCgroup(progLegacy, { hook, cgroup: cg.path, mode: 'legacy' });
        expect(viaLink.mechanism, hook).toBe('link');
        expect(viaLegacy.mechanism, hook).toBe('legacy');
        // Both coexist (links and BPF_F_ALLOW_MULTI attachments share the hook).
        expect(queryCgroup(cg.path, hook).progIds.sort(), hook).toEqual([progInfo(progLink.value).id, progInfo(progLegacy.value).id].sort());
        viaLink.detach();
        viaLegacy.detach();
        expect(queryCgroup(cg.path, hook).progIds, hook).toEqual([]);
      }
    } finally {
      for (const o of opened) o.close();
      cg.cleanup();
    }
  });

  it('auto mode prefers a link; detach by id finds links and legacy attachments; errors are typed', () => {
    const cg = createTestCgroup();
    const a = allowProgram('CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT');
    const b = allowProgram('CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT');
    try {
      const link = attachCgroup(a, { hook: 'cgroup/connect4', cgroup: cg.path });
      expect(link.mechanism).toBe('link');
      attachCgroup(b, { hook: 'connect4', cgroup: cg.path, mode: 'legacy' });
      expect(detachCgroupProgram(cg.path, 'connect4', progInfo(b.value).id)).toBe(1);
      expect(detachCgroupProgram(cg.path, 'connect4', progInfo(a.value).id)).toBe(1);
      expect(detachCgroupProgram(cg.path, 'connect4', progInfo(a.value).id)).toBe(0);
      expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([]);
      link.close();

      // Wrong program type for the hook: the kernel refuses, with a typed error naming the attach.
      let err: unknown;
      try {
        attachCgroup(a, { hook: 'ingress', cgroup: cg.path, mode: 'link' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BpfError);
      expect((err as BpfError).message).toMatch(/BPF_LINK_CREATE \(attaching cgroup_skb\/ingress to .*\) failed: EINVAL/);
      expect(() => attachCgroup(a, { hook: 'connect7', cgroup: cg.path })).toThrow(/unknown cgroup hook "connect7"/);
      expect(() => attachCgroup(a, { hook: 'connect4', cgroup: `${cg.path}/missing` })).toThrow(/cannot open cgroup directory/);
    } finally {
      a.close();
      b.close();
      cg.cleanup();
    }
  });
});
