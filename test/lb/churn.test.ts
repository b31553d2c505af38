/**
 * Churn: while a client makes thousands of new connections to a service (a few
 * in flight at a time, bounded in count and time), the service manager
 * rewrites the service over and over — backends added, removed, the set
 * replaced. No connection may fail, except those that went to a backend the
 * test removes and then kills mid-flight; those are counted and reported
 * separately (a failure is attributed to it only if the connection started
 * before the removal was written and failed after the kill). And `lb up`
 * repeated under the same traffic swaps the programs in their links without a
 * connect ever going untranslated.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPodLab, startEchoServer, type EchoServer } from '../../programs/lab/index.js';
import { startClient } from '../../programs/demo/traffic.js';
import { lbDown, lbUp } from '../../programs/lb/deploy.js';
import { ServiceManager } from '../../programs/lb/manager.js';
import { createPinDir } from '../support/bpffs.js';
import { createTestCgroup } from '../support/cgroup.js';
import { need } from '../support/env.js';

const VIP = '10.96.0.20';
const PORT = 8080;
const CONNECTIONS = 3000;

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills the echo servers (by their children), waits for them, and takes the balancer down. */
async function tearDown(servers: readonly EchoServer[], pinDir: string): Promise<void> {
  for (const s of servers) s.child.stop('SIGKILL');
  await Promise.all(servers.map((s) => s.child.done.catch(() => undefined)));
  try {
    lbDown({ pinDir, purge: true });
  } catch {
    // Gone with the bpffs.
  }
}

describe('lb churn', () => {
  it.skipIf(!need({ kernel: true, tools: ['ip'] }))(
    'thousands of connections while backends are added, removed and the service rewritten: none fail but those to a backend killed mid-flight',
    async () => {
      using pins = createPinDir('lbchurn');
      using cg = createTestCgroup('lbchurn');
      using lab = createPodLab({ pods: ['client', 'b1', 'b2', 'b3', 'b4'], tag: 'lbchurn' });
      const pinDir = join(pins.path, 'lb');
      const servers: EchoServer[] = [];
      try {
        const pods = ['b1', 'b2', 'b3', 'b4'].map((n) => lab.pod(n));
        for (const p of pods) servers.push(await startEchoServer({ netns: p.ns, id: p.name, tcpPort: PORT, lifetimeMs: 90_000 }));
        lbUp({ cgroup: cg.path, pinDir });
        using mgr = ServiceManager.fromPins(pinDir);
        const frontend = { address: VIP, port: PORT, protocol: 'TCP' as const };
        let last: string[] = [];
        const set = (names: string[]) => {
          mgr.upsertService({ frontend, backends: names.map((n) => ({ address: lab.pod(n).address, port: PORT })) });
          last = names;
        };
        set(['b1', 'b2', 'b4']);

        let finished = 0;
        const client = startClient({
          netns: lab.pod('client').ns, cgroup: cg.path, host: VIP, port: PORT, count: CONNECTIONS, parallel: 4, timeoutMs: 30_000,
          onProgress: (n) => (finished = n),
        });
        let running = true;
        void client.report.finally(() => (running = false)).catch(() => undefined);

        // Churn over b1..b3 (b4 stays until it is removed and killed mid-flight).
        const cycle = [['b1', 'b2'], ['b1', 'b2', 'b3'], ['b2', 'b3'], ['b3'], ['b1', 'b3'], ['b3', 'b2', 'b1'], ['b1']];
        let updates = 0;
        let removedAt: number | undefined;
        let killedAt: number | undefined;
        while (running) {
          const withB4 = removedAt === undefined;
          set([...cycle[updates % cycle.length]!, ...(withB4 ? ['b4'] : [])]);
          updates++;
          if (withB4 && finished >= CONNECTIONS / 3) {
            // Deliberately remove b4 and kill it while connections to it may be in flight.
            set([...cycle[updates % cycle.length]!]);
            removedAt = now();
            servers[3]!.child.stop('SIGKILL');
            killedAt = now();
            updates++;
          }
          await sleep(5);
        }
        const report = await client.report;
        expect(removedAt, 'b4 was never removed').toBeDefined();

        const toRemoved = report.failures.filter((f) => f.startMs <= removedAt! && f.endMs >= killedAt! - 1);
        const real = report.failures.filter((f) => !toRemoved.includes(f));
        const summary = {
          attempted: report.attempted,
          succeeded: report.latenciesUs.length,
          answers: report.answers,
          updates,
          failedToRemovedBackend: toRemoved.map((f) => f.code),
          failedOtherwise: real,
        };
        console.log(`churn: ${JSON.stringify(summary)}`);
        expect(report.attempted).toBe(CONNECTIONS);
        expect(real).toEqual([]);
        expect(report.latenciesUs.length + toRemoved.length).toBe(CONNECTIONS);
        // Only connections in flight at the kill can fail: at most the client's parallelism.
        expect(toRemoved.length).toBeLessThanOrEqual(4);
        expect(updates).toBeGreaterThan(50);
        for (const n of ['b1', 'b2', 'b3', 'b4']) expect(report.answers[n] ?? 0, n).toBeGreaterThan(0);
        expect(mgr.list().map((s) => s.backends.map((b) => b.address).sort())).toEqual([last.map((n) => lab.pod(n).address).sort()]);
      } finally {
        await tearDown(servers, pinDir);
      }
    },
    120_000,
  );

  it.skipIf(!need({ kernel: true, tools: ['ip'] }))(
    'lb up again and again while connections are made: the programs are swapped in place, no connect misses the balancer',
    async () => {
      using pins = createPinDir('lbswap');
      using cg = createTestCgroup('lbswap');
      using lab = createPodLab({ pods: ['client', 'b1', 'b2'], tag: 'lbswap' });
      const pinDir = join(pins.path, 'lb');
      const servers: EchoServer[] = [];
      try {
        for (const n of ['b1', 'b2']) servers.push(await startEchoServer({ netns: lab.pod(n).ns, id: n, tcpPort: PORT, lifetimeMs: 90_000 }));
        const first = lbUp({ cgroup: cg.path, pinDir });
        {
          using mgr = ServiceManager.fromPins(pinDir);
          mgr.upsertService({ frontend: { address: VIP, port: PORT, protocol: 'TCP' }, backends: ['b1', 'b2'].map((n) => ({ address: lab.pod(n).address, port: PORT })) });
        }
        const client = startClient({ netns: lab.pod('client').ns, cgroup: cg.path, host: VIP, port: PORT, count: 1500, parallel: 2, timeoutMs: 30_000 });
        let running = true;
        void client.report.finally(() => (running = false)).catch(() => undefined);
        const progIds = new Set<number>([first.programs[0]!.progId]);
        let swaps = 0;
        while (running && swaps < 20) {
          const r = lbUp({ cgroup: cg.path, pinDir });
          expect(r.programs.every((p) => p.action === 'replaced')).toBe(true);
          expect(r.programs.map((p) => p.linkId)).toEqual(first.programs.map((p) => p.linkId));
          progIds.add(r.programs[0]!.progId);
          swaps++;
          await sleep(20);
        }
        const report = await client.report;
        console.log(`swaps: ${JSON.stringify({ swaps, attempted: report.attempted, answers: report.answers, failures: report.failures.length })}`);
        expect(swaps).toBeGreaterThanOrEqual(3);
        expect(progIds.size).toBe(swaps + 1);
        expect(report.failures).toEqual([]);
        expect(report.latenciesUs).toHaveLength(1500);
        expect(Object.keys(report.answers).sort()).toEqual(['b1', 'b2']);
      } finally {
        await tearDown(servers, pinDir);
      }
    },
    120_000,
  );
});
