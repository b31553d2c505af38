/**
 * `tsbpf lb service add --session-affinity <seconds>` in-process against the
 * real kernel (test cgroup, private bpffs): the pinned frontend entry gets
 * `SERVICE_FLAG_AFFINITY` and the timeout, `service list` shows it (text and
 * JSON), a bad value is one usage line with the maps unchanged, and adding
 * the service again without the option drops the affinity.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfMap } from '../../loader/maps/index.js';
import { entries4 } from '../../programs/lb/entries.js';
import { SERVICE_FLAG_AFFINITY } from '../../programs/lb/schemas.js';
import { runCli } from '../support/cli.js';
import { need } from '../support/env.js';
import { withLbUp } from '../support/lb-cli.js';
import { dumpPinnedMaps } from '../support/pinned-maps.js';

/** The IPv4 services entries of one port pinned in `dir`: [slot, backendId, flags]. */
function entries(dir: string, port: number): [number, number, number][] {
  using map = BpfMap.fromPin(join(dir, 'lb4_services'));
  return [...map.entries()]
    .map(([k, v]) => ({ ...entries4.decodeServiceKey(k as Uint8Array), ...entries4.decodeServiceValue(v as Uint8Array) }))
    .filter((e) => e.port === port)
    .map((e): [number, number, number] => [e.backendSlot, e.backendId, e.flags])
    .sort((a, b) => a[0] - b[0]);
}

describe('tsbpf lb service add --session-affinity', () => {
  it.skipIf(!need({ kernel: true }))('writes flag and timeout, lists them, refuses bad values, and drops affinity when added without it', async () => {
    await withLbUp('lbcli-aff', [], async (pin) => {
      const add = await runCli(['lb', 'service', 'add', '10.96.0.10:80/tcp', '--backend', '10.244.1.1:8080', '--backend', '10.244.1.2:8080', '--session-affinity', '600', '--pin', pin]);
      expect(add, add.stderr).toMatchObject({ code: 0, stderr: '' });
      expect(add.stdout).toBe('added 10.96.0.10:80/TCP (sessionAffinity=ClientIP 600s) -> 10.244.1.1:8080, 10.244.1.2:8080\n');
      expect(entries(pin, 80)).toEqual([[0, 600, SERVICE_FLAG_AFFINITY], [1, 1, SERVICE_FLAG_AFFINITY], [2, 2, SERVICE_FLAG_AFFINITY]]);
      const np = await runCli(['lb', 'service', 'add', '0.0.0.0:30080/tcp', '--nodeport', '--backend', '10.244.1.1:8080', '--session-affinity', '86400', '--pin', pin]);
      expect(np.stdout).toBe('added 0.0.0.0:30080/TCP (NodePort, sessionAffinity=ClientIP 86400s) -> 10.244.1.1:8080\n');

      const text = await runCli(['lb', 'service', 'list', '--pin', pin]);
      expect(text.stdout).toBe(
        '0.0.0.0:30080/TCP (NodePort, sessionAffinity=ClientIP 86400s) -> 10.244.1.1:8080\n10.96.0.10:80/TCP (sessionAffinity=ClientIP 600s) -> 10.244.1.1:8080, 10.244.1.2:8080\n',
      );
      const listed = JSON.parse((await runCli(['lb', 'service', 'list', '--json', '--pin', pin])).stdout) as { frontend: { port: number }; sessionAffinity?: unknown }[];
      expect(listed.map((s) => [s.frontend.port, s.sessionAffinity])).toEqual([[30080, { timeoutSeconds: 86400 }], [80, { timeoutSeconds: 600 }]]);

      const before = dumpPinnedMaps(pin);
      for (const value of ['0', '86401', 'ten', '1.5', '1e3', '']) {
        const r = await runCli(['lb', 'service', 'add', '10.96.0.10:80/tcp', '--backend', '10.244.1.1:8080', '--session-affinity', value, '--pin', pin]);
        expect(r.code, value).toBe(1);
        expect(r.stderr).toContain(`--session-affinity must be whole seconds in 1..86400, got ${JSON.stringify(value)}`);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
      expect(dumpPinnedMaps(pin)).toEqual(before);

      // A new timeout rewrites the frontend entry; no option drops the affinity from every entry.
      expect((await runCli(['lb', 'service', 'add', '10.96.0.10:80/tcp', '--backend', '10.244.1.1:8080', '--backend', '10.244.1.2:8080', '--session-affinity', '30', '--pin', pin])).stdout).toMatch(/^updated .*ClientIP 30s/);
      expect(entries(pin, 80)[0]).toEqual([0, 30, SERVICE_FLAG_AFFINITY]);
      const plain = await runCli(['lb', 'service', 'add', '10.96.0.10:80/tcp', '--backend', '10.244.1.1:8080', '--backend', '10.244.1.2:8080', '--pin', pin]);
      expect(plain.stdout).toBe('updated 10.96.0.10:80/TCP -> 10.244.1.1:8080, 10.244.1.2:8080\n');
      expect(entries(pin, 80)).toEqual([[0, 0, 0], [1, 1, 0], [2, 2, 0]]);
      const again = JSON.parse((await runCli(['lb', 'service', 'list', '--json', '--pin', pin])).stdout) as { frontend: { port: number }; sessionAffinity?: unknown }[];
      expect(again.find((s) => s.frontend.port === 80)).not.toHaveProperty('sessionAffinity');
    });
  });
});
