/**
 * `tsbpf lb` in-process against the real kernel, on a test cgroup and a
 * private bpffs: up/status/down, service add/list/del for IPv4 and IPv6, and
 * bad input — each refused with one `tsbpf: …` line and exit 1, and the maps
 * byte-for-byte as they were (every pinned map dumped before and after).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isOnBpffs } from '../../loader/sys/bpffs.js';
import { lbDown } from '../../programs/lb/deploy.js';
import { formatFrontend } from '../../programs/lb/index.js';
import { servicesFromKubernetes } from '../../programs/lb/kubernetes.js';
import { createPinDir } from '../support/bpffs.js';
import { createTestCgroup } from '../support/cgroup.js';
import { runCli } from '../support/cli.js';
import { withLbUp } from '../support/lb-cli.js';
import { need } from '../support/env.js';
import { dumpPinnedMaps } from '../support/pinned-maps.js';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'kubernetes', 'cluster-list.json');

describe('tsbpf lb', () => {
  it.skipIf(!need({ kernel: true }))('up, service add/list/del (IPv4 and IPv6), status and down through the CLI', async () => {
    using pins = createPinDir('lbcli');
    using cg = createTestCgroup('lbcli');
    const pin = join(pins.path, 'lb');
    try {
      const up = await runCli(['lb', 'up', '--cgroup', cg.path, '--pin', pin]);
      expect(up, up.stderr).toMatchObject({ code: 0, stderr: '' });
      expect(up.stdout).toMatch(/^socket load balancer up on cgroup .* \(compiled for kernel /);
      expect(up.stdout).toMatch(/^ {2}connect4 +sock4_connect +prog id \d+, link id \d+ attached$/m);
      expect(up.stdout).toContain('maps created: ');
      // Settings reach the programs: IPv4 only drops the IPv6 hooks; up again swaps them out.
      const v4 = await runCli(['lb', 'up', '--cgroup', cg.path, '--pin', pin, '--no-ipv6', '--node-ports', '30000-30100', '--host-netns-only']);
      expect(v4, v4.stderr).toMatchObject({ code: 0, stderr: '' });
      expect(v4.stdout).toMatch(/^ {2}connect6 +detached/m);
      expect(v4.stdout).toMatch(/^ {2}connect4 +sock4_connect +prog id \d+, link id \d+ replaced$/m);
      const full = await runCli(['lb', 'up', '--cgroup', cg.path, '--pin', pin]);
      expect(full.stdout).toMatch(/^ {2}connect6 +sock6_connect +prog id \d+, link id \d+ attached$/m);

      const add = await runCli(['lb', 'service', 'add', '10.96.0.10:80/tcp', '--backend', '10.244.1.2:8080', '--backend', '10.244.2.2:8080', '--pin', pin]);
      expect(add, add.stderr).toMatchObject({ code: 0, stderr: '' });
      expect(add.stdout).toBe('added 10.96.0.10:80/TCP -> 10.244.1.2:8080, 10.244.2.2:8080\n');
      const add6 = await runCli(['lb', 'service', 'add', '[fd00::10]:53/udp', '--backend', '[fd00:244:1::2]:5353', '--pin', pin]);
      expect(add6.stdout).toBe('added [fd00::10]:53/UDP -> [fd00:244:1::2]:5353\n');
      const update = await runCli(['lb', 'service', 'add', '10.96.0.10:80/tcp', '--backend', '10.244.3.2:8080', '--pin', pin]);
      expect(update.stdout).toBe('updated 10.96.0.10:80/TCP -> 10.244.3.2:8080\n');

      const list = await runCli(['lb', 'service', 'list', '--pin', pin]);
      expect(list.stdout).toBe('10.96.0.10:80/TCP -> 10.244.3.2:8080\n[fd00::10]:53/UDP -> [fd00:244:1::2]:5353\n');
      const json = JSON.parse((await runCli(['lb', 'service', 'list', '--json', '--pin', pin])).stdout) as { frontend: unknown; backends: { address: string }[] }[];
      expect(json.map((s) => s.frontend)).toEqual([
        { address: '10.96.0.10', port: 80, protocol: 'TCP' },
        { address: 'fd00::10', port: 53, protocol: 'UDP' },
      ]);

      const del = await runCli(['lb', 'service', 'del', '[fd00::10]:53/udp', '--pin', pin]);
      expect(del).toMatchObject({ code: 0, stdout: 'deleted [fd00::10]:53/UDP\n' });
      expect((await runCli(['lb', 'service', 'list', '--pin', pin])).stdout).toBe('10.96.0.10:80/TCP -> 10.244.3.2:8080\n');

      const status = await runCli(['lb', 'status', '--json', '--pin', pin]);
      expect((JSON.parse(status.stdout) as { hook: string }[]).map((s) => s.hook)).toContain('connect4');

      const down = await runCli(['lb', 'down', '--pin', pin]);
      expect(down.stdout).toMatch(/^detached connect4, .*; service tables kept under /);
      expect((await runCli(['lb', 'status', '--pin', pin])).stdout).toBe(`not up (no links under ${pin})\n`);
      // The tables outlive down: the service is still listed.
      expect((await runCli(['lb', 'service', 'list', '--pin', pin])).stdout).toBe('10.96.0.10:80/TCP -> 10.244.3.2:8080\n');
      const purge = await runCli(['lb', 'down', '--purge', '--pin', pin]);
      expect(purge.stdout).toMatch(/^the load balancer was not attached; removed \d+ pinned maps/);
    } finally {
      try {
        lbDown({ pinDir: pin, purge: true });
      } catch {
        // Gone with the bpffs.
      }
    }
  });

  it.skipIf(!need({ kernel: true }))('bad input: one clear error line, exit 1, and the maps unchanged', async () => {
    using pins = createPinDir('lbcli');
    using cg = createTestCgroup('lbcli');
    const pin = join(pins.path, 'lb');
    const plain = mkdtempSync(join(tmpdir(), 'tsbpf-lbcli-plain-'));
    try {
      expect((await runCli(['lb', 'up', '--cgroup', cg.path, '--pin', pin])).code).toBe(0);
      expect((await runCli(['lb', 'service', 'add', '10.96.0.10:80/tcp', '--backend', '10.244.1.2:8080', '--pin', pin])).code).toBe(0);
      const notJson = join(plain, 'bad.json');
      writeFileSync(notJson, '{ "kind": ');
      const notList = join(plain, 'not-list.json');
      writeFileSync(notList, '{"kind":"Pod"}');
      const before = dumpPinnedMaps(pin);
      expect(Object.keys(before)).toContain('lb4_services');
      expect(before.lb4_services).toHaveLength(2);

      const cases: [string[], RegExp][] = [
        [['service', 'add', '10.96.0.11:80/sctp', '--backend', '10.244.1.2:80'], /protocol must be TCP or UDP, got 'sctp'/],
        [['service', 'add', '10.96.0.300:80/tcp', '--backend', '10.244.1.2:80'], /'10\.96\.0\.300' is not an IPv4 or IPv6 address/],
        [['service', 'add', 'fd00::1:80/tcp', '--backend', '[fd00::2]:80'], /\[IP\]:PORT/],
        [['service', 'add', '10.96.0.11:0/tcp', '--backend', '10.244.1.2:80'], /port must be an integer in 1\.\.65535/],
        [['service', 'add', '10.96.0.11:80/tcp', '--backend', '10.244.1.2:70000'], /port must be an integer in 1\.\.65535, got '70000'/],
        [['service', 'add', '10.96.0.11:80/tcp', '--backend', '[fd00::2]:80'], /--backend 1 \(\[fd00::2\]:80\): IPv6 backend fd00::2 for IPv4 frontend/],
        [['service', 'add', '10.96.0.10:80/tcp', '--backend', '10.244.1.2:80', '--backend', '10.244.1.2:80'], /--backend 2 \(10\.244\.1\.2:80\): backend 10\.244\.1\.2:80 appears twice/],
        [['service', 'add', '0.0.0.0:80/tcp', '--backend', '10.244.1.2:80'], /service: '0\.0\.0\.0' is only valid for a NodePort frontend/],
        [['service', 'add', '10.96.0.11:80/tcp', '--backend', 'backend-1'], /IP:PORT/],
        [['service', 'del', '10.96.0.99:80/tcp'], /no service 10\.96\.0\.99:80\/TCP/],
        [['sync', notJson], /bad\.json is not JSON/],
        [['sync', join(plain, 'missing.json')], /cannot read .*missing\.json: ENOENT/],
        [['sync', notList], /expected a Kubernetes List/],
        [['up', '--cgroup', join(cg.path, 'nope')], /cgroup .*nope does not exist/],
        [['up', '--cgroup', cg.path, '--node-ports', '32767-30000'], /--node-ports must be FIRST-LAST .* got "32767-30000"/],
        [['up', '--cgroup', cg.path, '--node-ports', '0-100'], /--node-ports must be FIRST-LAST/],
      ];
      for (const [args, message] of cases) {
        const r = await runCli(['lb', ...args, '--pin', pin]);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stdout, args.join(' ')).toBe('');
        expect(r.stderr, args.join(' ')).toMatch(/^tsbpf: [^\n]+\n$/);
        expect(r.stderr, args.join(' ')).toMatch(message);
        expect(dumpPinnedMaps(pin), args.join(' ')).toEqual(before);
      }

      // A pin directory off bpffs says how to mount one; tables elsewhere are named as missing.
      const off = await runCli(['lb', 'up', '--cgroup', cg.path, '--pin', join(plain, 'lb')]);
      expect(off.code).toBe(1);
      expect(off.stderr).toMatch(/^tsbpf: pin directory .* is not on a BPF filesystem .*mount -t bpf bpf/);
      const none = await runCli(['lb', 'service', 'list', '--pin', join(pins.path, 'elsewhere')]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/^tsbpf: no service maps pinned in .*elsewhere/);
      expect(dumpPinnedMaps(pin)).toEqual(before);

      // The default pin directory (read-only here): off bpffs the error says how to mount one.
      const dflt = await runCli(['lb', 'service', 'list']);
      expect(dflt.code).toBe(1);
      expect(dflt.stderr).toMatch(
        isOnBpffs('/sys/fs/bpf')
          ? /^tsbpf: no service maps pinned in \/sys\/fs\/bpf\/tsbpf\/lb/
          : /^tsbpf: pin directory \/sys\/fs\/bpf\/tsbpf\/lb is not on a BPF filesystem .*mount -t bpf bpf \/sys\/fs\/bpf/,
      );
    } finally {
      try {
        lbDown({ pinDir: pin, purge: true });
      } catch {
        // Gone with the bpffs.
      }
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it.skipIf(!need({ kernel: true }))('sync applies a kubectl list: everything once, nothing the second time, then only what changed', async () => {
    await withLbUp('lbcli', [], async (pin) => {
      // Added by hand: not in the cluster, so sync removes it.
      expect((await runCli(['lb', 'service', 'add', '10.96.99.1:80/tcp', '--backend', '10.244.9.9:80', '--pin', pin])).code).toBe(0);
      const list = JSON.parse(readFileSync(fixture, 'utf8')) as { items: { kind: string; metadata: { namespace: string; name: string } }[] };
      const wanted = servicesFromKubernetes(list);
      expect(wanted.services.length).toBeGreaterThan(5);

      const first = await runCli(['lb', 'sync', fixture, '--pin', pin]);
      expect(first, first.stderr).toMatchObject({ code: 0, stderr: '' });
      const added = first.stdout.split('\n').filter((l) => l.startsWith('added '));
      expect(added).toHaveLength(wanted.services.length);
      expect(first.stdout).toContain('added 10.96.0.10:53/UDP (kube-system/kube-dns:dns)\n');
      expect(first.stdout).toContain('removed 10.96.99.1:80/TCP\n');
      expect(first.stdout).toContain('skipped shop/db: headless service');
      const listed = JSON.parse((await runCli(['lb', 'service', 'list', '--json', '--pin', pin])).stdout) as { frontend: { address: string; port: number; protocol: string } }[];
      expect(listed.map((s) => `${s.frontend.address}|${s.frontend.port}|${s.frontend.protocol}`).sort()).toEqual(
        wanted.services.map((s) => `${s.frontend.address}|${s.frontend.port}|${s.frontend.protocol}`).sort(),
      );

      const again = await runCli(['lb', 'sync', fixture, '--pin', pin]);
      expect(again.stdout).toMatch(new RegExp(`no changes; ${wanted.services.length} unchanged, 0 map writes\\n$`));
      const before = dumpPinnedMaps(pin);
      expect((await runCli(['lb', 'sync', fixture, '--pin', pin])).code).toBe(0);
      expect(dumpPinnedMaps(pin)).toEqual(before);

      // The cluster drops shop/rollout (Service and slice), read from stdin this time.
      const smaller = { ...list, items: list.items.filter((i) => !(i.metadata.namespace === 'shop' && i.metadata.name.startsWith('rollout'))) };
      expect(smaller.items.length).toBe(list.items.length - 2);
      const third = await runCli(['lb', 'sync', '-', '--pin', pin], { stdin: JSON.stringify(smaller) });
      expect(third.code, third.stderr).toBe(0);
      expect(third.stdout.split('\n').filter((l) => /^(added|updated|removed) /.test(l))).toEqual(['removed 10.96.40.3:8080/TCP']);
      expect(third.stdout).toMatch(new RegExp(`^${wanted.services.length - 1} unchanged, [1-9]\\d* map writes$`, 'm'));
    });
  });

  it.skipIf(!need({ kernel: true }))('sync --zone follows EndpointSlice zone hints: the other zones\' endpoints drain', async () => {
    await withLbUp('lbcli', ['--no-ipv6'], async (pin) => {
      const hinted = (ip: string, zone: string) => ({ addresses: [ip], conditions: { ready: true }, hints: { forZones: [{ name: zone }] } });
      const list = {
        items: [
          { kind: 'Service', metadata: { name: 'api', namespace: 'shop' }, spec: { clusterIP: '10.96.83.1', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
          {
            kind: 'EndpointSlice', metadata: { name: 'api-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'api' } }, addressType: 'IPv4',
            ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: [hinted('10.244.1.1', 'zone-a'), hinted('10.244.2.1', 'zone-b')],
          },
        ],
      };
      const roles = async () => {
        const listed = JSON.parse((await runCli(['lb', 'service', 'list', '--json', '--pin', pin])).stdout) as { backends: { address: string; terminating: boolean }[] }[];
        return listed[0]!.backends.map((b) => [b.address, b.terminating]);
      };
      expect((await runCli(['lb', 'sync', '-', '--zone', 'zone-a', '--pin', pin], { stdin: JSON.stringify(list) })).code).toBe(0);
      expect(await roles()).toEqual([['10.244.1.1', false], ['10.244.2.1', true]]);
      expect((await runCli(['lb', 'sync', '-', '--pin', pin], { stdin: JSON.stringify(list) })).code).toBe(0);
      expect(await roles()).toEqual([['10.244.1.1', false], ['10.244.2.1', false]]);
    });
  });

  it.skipIf(!need({ kernel: true }))('sync into an IPv4-only LB (up --no-ipv6): the IPv6 frontends are skipped and said so, the rest is written', async () => {
    await withLbUp('lbcli', ['--no-ipv6'], async (pin) => {
      const wanted = servicesFromKubernetes(JSON.parse(readFileSync(fixture, 'utf8')), { families: ['ipv4'] });
      const sync = await runCli(['lb', 'sync', fixture, '--pin', pin, '--json']);
      expect(sync, sync.stderr).toMatchObject({ code: 0, stderr: '' });
      const r = JSON.parse(sync.stdout) as { added: string[]; skipped: { service: string; reason: string }[] };
      expect(r.added.sort()).toEqual(wanted.services.map((s) => formatFrontend(s.frontend)).sort());
      expect(r.added.some((f) => f.startsWith('['))).toBe(false);
      expect(r.skipped).toContainEqual({ service: 'shop/web:http', reason: 'IPv6 frontends: this proxy serves IPv4 only' });
      const listed = JSON.parse((await runCli(['lb', 'service', 'list', '--json', '--pin', pin])).stdout) as unknown[];
      expect(listed).toHaveLength(wanted.services.length);
    });
  });
});
