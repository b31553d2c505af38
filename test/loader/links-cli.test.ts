/**
 * `tsbpf attach` / `tsbpf detach` end to end: the CLI (in-process, closing every
 * fd it opened) leaves attachments (netlink filters, pinned links, legacy cgroup
 * attachments) that must outlive it; the library's queries and iproute2 check the
 * kernel state, and detach must leave nothing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAttachKind, runAttach, runDetach } from '../../cli/commands/attach.js';
import { AttachError, listTcFilters, queryCgroup, queryTcx, queryXdp } from '../../loader/links/index.js';
import { TsbpfError } from '../../dsl/errors.js';
import { objPin } from '../../loader/sys/bpf.js';
import { progInfo } from '../../loader/sys/info.js';
import { createPinDir } from '../support/bpffs.js';
import { createTestCgroup } from '../support/cgroup.js';
import { runCli, type CliResult } from '../support/cli.js';
import { need } from '../support/env.js';
import { createNetnsPair, nsExec, udpExchange } from '../support/netns.js';
import { allowProgram, createCounter, tcProgram, xdpProgram } from './links-fixtures.js';

const ok = need({ kernel: true, tools: ['ip', 'tc'] });
const openFds = () => readdirSync('/proc/self/fd').length;

/**
 * Runs the CLI in-process. A real process closes its fds when it exits; here the
 * CLI must have closed every fd it opened by the time it returns, so whatever
 * stays attached would outlive the process too.
 */
async function tsbpf(...args: string[]): Promise<CliResult> {
  const before = openFds();
  const r = await runCli(args);
  expect(openFds(), `fds left open by tsbpf ${args.join(' ')}`).toEqual(before);
  return r;
}

describe('tsbpf attach / detach argument handling (no kernel needed)', () => {
  it('parses every KIND form', () => {
    expect(parseAttachKind('xdp')).toEqual({ family: 'xdp' });
    expect(parseAttachKind('tc/egress')).toEqual({ family: 'tc', direction: 'egress', tcx: false });
    expect(parseAttachKind('tcx/ingress')).toEqual({ family: 'tc', direction: 'ingress', tcx: true });
    expect(parseAttachKind('connect4')).toEqual({ family: 'cgroup', hook: 'cgroup/connect4' });
    expect(parseAttachKind('cgroup/recvmsg6')).toEqual({ family: 'cgroup', hook: 'cgroup/recvmsg6' });
    expect(parseAttachKind('cgroup_skb/egress')).toEqual({ family: 'cgroup', hook: 'cgroup_skb/egress' });
    expect(() => parseAttachKind('tc/sideways')).toThrow(AttachError);
    expect(() => parseAttachKind('cgroup_skb/connect4')).toThrow(/unknown cgroup hook/);
  });

  it('refuses inconsistent requests before touching the kernel', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => runAttach('xdp', { prog: '/nonexistent' }), /pass --dev IFNAME/],
      [() => runAttach('connect4', { prog: '/nonexistent', dev: 'lo' }), /pass --cgroup PATH/],
      [() => runAttach('connect4', { prog: '/nonexistent', cgroup: '/x', dev: 'lo' }), /--dev does not apply/],
      [() => runAttach('tcx/ingress', { prog: '/nonexistent', dev: 'lo' }), /pass --pin PATH/],
      [() => runAttach('xdp', { prog: '/nonexistent', dev: 'lo', mode: 'link' }), /pass --pin PATH/],
      [() => runAttach('xdp', { prog: '/nonexistent', dev: 'lo', mode: 'netlink', pin: '/sys/fs/bpf/x' }), /--pin needs a link/],
      [() => runDetach(undefined, {}), /pass KIND/],
      [() => runDetach('xdp', { dev: 'lo' }), /--prog PINNED_PROG or --prog-id/],
      [() => runDetach('xdp', { dev: 'lo', progId: '-3' }), /--prog-id must be a non-negative integer/],
      [() => runDetach('xdp', { link: '/sys/fs/bpf/l', dev: 'lo' }), /do not combine/],
    ];
    for (const [f, msg] of cases) {
      expect(f).toThrow(TsbpfError);
      expect(f).toThrow(msg);
    }
  });
});

describe.skipIf(!ok)('tsbpf attach / detach CLI (real kernel)', () => {
  it('tc via netlink and tcx (pinned), xdp via link (pinned) and netlink; detach removes each', async () => {
    const net = createNetnsPair(31);
    const pins = createPinDir();
    const counter = createCounter();
    const tc = tcProgram(counter, 7401, { rewrite: 'Z' });
    const xdp = xdpProgram(counter, 7402, 'drop');
    try {
      const tcPin = join(pins.path, 'tc_prog');
      const xdpPin = join(pins.path, 'xdp_prog');
      objPin(tc.value, tcPin);
      objPin(xdp.value, xdpPin);
      const tcId = progInfo(tc.value).id;
      const xdpId = progInfo(xdp.value).id;
      const dev = ['--dev', net.vethB, '--netns', net.b];

      // tc netlink: persists after the CLI exits.
      const a = await tsbpf('attach', 'tc/ingress', '--prog', tcPin, ...dev, '--mode', 'netlink', '--priority', '5', '--handle', '9', '--json');
      expect(a.stderr).toBe('');
      expect(JSON.parse(a.stdout)).toMatchObject({ mechanism: 'netlink', hook: 'tc/ingress', progId: tcId, details: { priority: 5, handle: 9 } });
      expect(nsExec(net.b, 'tc', 'filter', 'show', 'dev', net.vethB, 'ingress')).toMatch(/pref 5 bpf .*handle 0x9 tsbpf direct-action/s);
      expect((await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: 7401, count: 3 })).sort()).toEqual(['Zello-0', 'Zello-1', 'Zello-2']);
      const d = await tsbpf('detach', 'tc/ingress', '--prog', tcPin, ...dev);
      expect(d).toMatchObject({ code: 0, stdout: `detached program id ${tcId} from tc ingress on ${net.vethB}\n` });
      expect(listTcFilters({ iface: net.vethB, netns: net.b }, 'ingress')).toEqual([]);

      // tcx needs a pin; with one, the link outlives the CLI until detached by pin.
      const refused = await tsbpf('attach', 'tcx/egress', '--prog', tcPin, '--dev', net.vethA, '--netns', net.a);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/pass --pin PATH/);
      const linkPin = join(pins.path, 'tcx_link');
      const t = await tsbpf('attach', 'tcx/egress', '--prog', tcPin, '--dev', net.vethA, '--netns', net.a, '--pin', linkPin);
      expect(t.stdout).toMatch(new RegExp(`^attached program id ${tcId} to tcx/egress on ${net.vethA} .* via link \\(link id \\d+, pinned at ${linkPin}`));
      expect(queryTcx({ iface: net.vethA, netns: net.a }, 'egress').progIds).toEqual([tcId]);
      expect((await tsbpf('detach', '--link', linkPin)).code).toBe(0);
      expect(existsSync(linkPin)).toBe(false);
      expect(queryTcx({ iface: net.vethA, netns: net.a }, 'egress').progIds).toEqual([]);

      // xdp: netlink by default without a pin; generic mode.
      const x = await tsbpf('attach', 'xdp', '--prog', xdpPin, ...dev, '--xdp-mode', 'generic', '--json');
      expect(JSON.parse(x.stdout)).toMatchObject({ mechanism: 'netlink', hook: 'xdp', progId: xdpId });
      expect(queryXdp({ iface: net.vethB, netns: net.b })).toMatchObject({ mode: 'generic', progId: xdpId });
      expect(await udpExchange({ fromNs: net.a, toNs: net.b, toAddr: net.addrB, port: 7402, count: 3 })).toEqual([]);
      expect((await tsbpf('detach', 'xdp', '--prog-id', String(xdpId), ...dev)).code).toBe(0);
      expect(queryXdp({ iface: net.vethB, netns: net.b }).mode).toBe('none');

      // xdp link pinned, detached by kind + program (finds the link).
      const xl = await tsbpf('attach', 'xdp', '--prog', xdpPin, ...dev, '--mode', 'link', '--xdp-mode', 'generic', '--pin', join(pins.path, 'xdp_link'), '--json');
      expect(JSON.parse(xl.stdout)).toMatchObject({ mechanism: 'link', progId: xdpId, pinnedPath: join(pins.path, 'xdp_link') });
      expect((await tsbpf('detach', 'xdp', '--prog', xdpPin, ...dev)).code).toBe(0);
      expect(queryXdp({ iface: net.vethB, netns: net.b }).mode).toBe('none');

      // Detaching something not attached is an error, not a silent success.
      const none = await tsbpf('detach', 'xdp', '--prog-id', String(xdpId), ...dev);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/is not attached at xdp/);
    } finally {
      tc.close();
      xdp.close();
      counter.close();
      pins.cleanup();
      net.cleanup();
    }
  }, 180_000);

  it('cgroup hooks: legacy without a pin, link with one; detach by id and by pinned link', async () => {
    const cg = createTestCgroup();
    const pins = createPinDir();
    const prog = allowProgram('CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT');
    try {
      const progPin = join(pins.path, 'conn4');
      objPin(prog.value, progPin);
      const id = progInfo(prog.value).id;
      const legacy = JSON.parse((await tsbpf('attach', 'cgroup/connect4', '--prog', progPin, '--cgroup', cg.path, '--json')).stdout);
      expect(legacy).toMatchObject({ mechanism: 'legacy', hook: 'cgroup/connect4', target: cg.path, progId: id });
      expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([id]);
      expect((await tsbpf('detach', 'connect4', '--cgroup', cg.path, '--prog-id', String(id))).code).toBe(0);
      expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([]);

      const linkPin = join(pins.path, 'conn4_link');
      const link = JSON.parse((await tsbpf('attach', 'connect4', '--prog', progPin, '--cgroup', cg.path, '--pin', linkPin, '--json')).stdout);
      expect(link).toMatchObject({ mechanism: 'link', progId: id, pinnedPath: linkPin });
      expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([id]);
      expect((await tsbpf('detach', '--link', linkPin, '--json')).stdout).toMatch(/"removed":1/);
      expect(queryCgroup(cg.path, 'connect4').progIds).toEqual([]);

      const bad = await tsbpf('attach', 'connect4', '--prog', progPin, '--dev', 'lo');
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/pass --cgroup PATH/);
    } finally {
      prog.close();
      pins.cleanup();
      cg.cleanup();
    }
  }, 180_000);
});
