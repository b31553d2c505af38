/**
 * `tsbpf lb` with local backends and externalTrafficPolicy=Local, in-process
 * against the real kernel (test cgroup, private bpffs): `service add
 * --local-backend … --external-traffic-policy Local` writes the flag and the
 * INTERNAL-scope frontend and `service list` shows them; a Local policy on a
 * ClusterIP frontend or an unknown policy is one error line with the maps
 * unchanged; `sync --node-name` marks that node's endpoints local and gives a
 * Local Service's NodePort frontends the policy.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfMap } from '../../loader/maps/index.js';
import { lbDown } from '../../programs/lb/deploy.js';
import { entries4 } from '../../programs/lb/entries.js';
import { SERVICE_FLAG_EXTERNAL_LOCAL, SERVICE_SCOPE_INTERNAL } from '../../programs/lb/schemas.js';
import { createPinDir } from '../support/bpffs.js';
import { createTestCgroup } from '../support/cgroup.js';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';
import { dumpPinnedMaps } from '../support/pinned-maps.js';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'kubernetes', 'cluster-list.json');

/** The IPv4 INTERNAL-scope entries pinned in `dir`, decoded: [port, slot, count]. */
function internal4(dir: string): [number, number, number][] {
  using map = BpfMap.fromPin(join(dir, 'lb4_services'));
  return [...map.entries()]
    .map(([k, v]) => ({ ...entries4.decodeServiceKey(k as Uint8Array), ...entries4.decodeServiceValue(v as Uint8Array) }))
    .filter((e) => e.scope === SERVICE_SCOPE_INTERNAL)
    .map((e): [number, number, number] => [e.port, e.backendSlot, e.count])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

describe('tsbpf lb with local backends and externalTrafficPolicy', () => {
  it.skipIf(!need({ kernel: true }))('service add/list with --local-backend and --external-traffic-policy, refusals, sync --node-name', async () => {
    using pins = createPinDir('lbcli-local');
    using cg = createTestCgroup('lbcli-local');
    const pin = join(pins.path, 'lb');
    const plain = mkdtempSync(join(tmpdir(), 'tsbpf-lbcli-local-'));
    try {
      expect((await runCli(['lb', 'up', '--cgroup', cg.path, '--pin', pin])).code).toBe(0);
      const add = await runCli(['lb', 'service', 'add', '0.0.0.0:30080/tcp', '--nodeport', '--backend', '10.244.2.2:8080', '--local-backend', '10.244.1.2:8080', '--external-traffic-policy', 'Local', '--pin', pin]);
      expect(add, add.stderr).toMatchObject({ code: 0, stderr: '' });
      expect(add.stdout).toBe('added 0.0.0.0:30080/TCP (NodePort, externalTrafficPolicy=Local) -> 10.244.2.2:8080, 10.244.1.2:8080 (local)\n');
      expect(internal4(pin)).toEqual([[30080, 0, 1], [30080, 1, 1]]);
      const listed = JSON.parse((await runCli(['lb', 'service', 'list', '--json', '--pin', pin])).stdout);
      expect(listed).toMatchObject([{ externalTrafficPolicy: 'Local', backends: [{ address: '10.244.2.2', local: false }, { address: '10.244.1.2', local: true }] }]);

      const before = dumpPinnedMaps(pin);
      const refused: [string[], RegExp][] = [
        [['service', 'add', '10.96.0.10:80/tcp', '--local-backend', '10.244.1.2:80', '--external-traffic-policy', 'Local'], /--external-traffic-policy: externalTrafficPolicy 'Local' applies to NodePort and external frontends only/],
        [['service', 'add', '0.0.0.0:30080/tcp', '--nodeport', '--external-traffic-policy', 'nearest'], /--external-traffic-policy must be Cluster or Local, got "nearest"/],
        [['service', 'add', '0.0.0.0:30080/tcp', '--nodeport', '--backend', '10.244.1.2:80', '--local-backend', '10.244.1.2:80'], /--local-backend 1 \(10\.244\.1\.2:80\): backend 10\.244\.1\.2:80 appears twice/],
      ];
      for (const [args, message] of refused) {
        const r = await runCli(['lb', ...args, '--pin', pin]);
        expect(r.code, args.join(' ')).toBe(1);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
      expect(dumpPinnedMaps(pin)).toEqual(before);

      // Back to Cluster through the CLI: the INTERNAL entries go.
      expect((await runCli(['lb', 'service', 'add', '0.0.0.0:30080/tcp', '--nodeport', '--backend', '10.244.2.2:8080', '--local-backend', '10.244.1.2:8080', '--pin', pin])).stdout).toMatch(/^updated 0\.0\.0\.0:30080\/TCP \(NodePort\) -> /);
      expect(internal4(pin)).toEqual([]);

      // sync --node-name: the recorded cluster with shop/web switched to Local, seen from kind-worker.
      const list = JSON.parse(readFileSync(fixture, 'utf8'));
      const web = list.items.find((i: { kind: string; metadata: { name: string } }) => i.kind === 'Service' && i.metadata.name === 'web');
      web.spec.externalTrafficPolicy = 'Local';
      const file = join(plain, 'local.json');
      writeFileSync(file, JSON.stringify(list));
      const sync = await runCli(['lb', 'sync', file, '--node-name', 'kind-worker', '--pin', pin]);
      expect(sync, sync.stderr).toMatchObject({ code: 0, stderr: '' });
      const after = JSON.parse((await runCli(['lb', 'service', 'list', '--json', '--pin', pin])).stdout) as { frontend: { address: string; port: number }; externalTrafficPolicy: string; backends: { local: boolean }[] }[];
      const np = after.find((s) => s.frontend.address === '0.0.0.0' && s.frontend.port === 30080)!;
      expect(np.externalTrafficPolicy).toBe('Local');
      expect(np.backends.every((b) => b.local)).toBe(true);
      expect(after.filter((s) => s.externalTrafficPolicy === 'Local').map((s) => `${s.frontend.address}|${s.frontend.port}`).sort()).toEqual(['0.0.0.0|30080', '::|30080']);
      expect(after.find((s) => s.frontend.address === '10.96.0.1')!.backends.map((b) => b.local)).toEqual([false]);
      // web's three ready IPv4 endpoints, all on kind-worker.
      expect(internal4(pin).filter(([port]) => port === 30080).map(([, slot, count]) => [slot, count])).toEqual([[0, 3], [1, 3], [2, 3], [3, 3]]);
      using svc = BpfMap.fromPin(join(pin, 'lb4_services'));
      const flagged = [...svc.entries()].map(([k, v]) => [entries4.decodeServiceKey(k as Uint8Array), entries4.decodeServiceValue(v as Uint8Array)] as const).filter(([k, v]) => k.backendSlot === 0 && k.scope === 0 && v.flags & SERVICE_FLAG_EXTERNAL_LOCAL);
      expect(flagged.map(([k]) => k.port)).toEqual([30080]);
    } finally {
      rmSync(plain, { recursive: true, force: true });
      try {
        lbDown({ pinDir: pin, purge: true });
      } catch {
        // Gone with the bpffs.
      }
    }
  });
});
