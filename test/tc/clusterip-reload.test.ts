/**
 * A datapath reload through backend churn keeps established flows: an open TCP
 * connection from a pod to a service survives loading a new copy of the
 * datapath (its pinned conntrack and service maps reused) that replaces the
 * attached programs atomically, while the service's only backend slot now
 * points at a port nobody listens on. The flow's SERVICE entry keeps it on its
 * backend; a new connection goes to the new backend (and is refused), which
 * shows the churn took effect. tcx for the 6.6 build, netlink tc for 4.19.
 */
import { describe, expect, it } from 'vitest';
import { attachTc } from '../../loader/links/index.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { runBounded } from '../support/netns.js';
import { loadDatapath, type BuildName, type Datapath } from './clusterip-harness.js';
import { BACKEND_SERVER, createClusterIpTopology, LONG_CLIENT, POD_CLIENT } from './clusterip-e2e-topology.js';

const ok = need({ kernel: true, tools: ['ip', 'tc'] });
const VIP = '10.96.0.10';

describe.skipIf(!ok)('ClusterIP datapath reload with pinned maps', () => {
  for (const [build, mode] of [['4.19', 'netlink'], ['6.6', 'tcx']] as [BuildName, 'netlink' | 'tcx'][]) {
    it(`${build} (${mode}): an established connection survives the reload and the backend change`, async () => {
      const topo = createClusterIpTopology();
      const pins = createPinDir('tcctreload');
      const loaded: Datapath[] = [];
      const links: { close(): void; replace(p: { fd: number }): void }[] = [];
      const children: ReturnType<typeof runBounded>[] = [];
      try {
        const first = loadDatapath(build, pins);
        loaded.push(first);
        first.addService({ vip: VIP, port: 81, proto: 'tcp', revNatIndex: 3, backends: [{ id: 5, address: topo.backendAddr4, port: 8081 }] });
        for (const iface of [topo.podVeth, topo.backendVeth])
          links.push(attachTc(first.obj.program('tc_clusterip'), { iface, netns: topo.node, direction: 'ingress', mode }) as never);
        let ready!: () => void;
        const serverUp = new Promise<void>((r) => (ready = r));
        const server = runBounded(['ip', 'netns', 'exec', topo.backend, process.execPath, '-e', BACKEND_SERVER, '8080', '5353', '25000'], 30_000, (c) => {
          if (c.includes('ready')) ready();
        });
        children.push(server);
        await serverUp;

        let answers = '';
        let gotFirst!: () => void;
        const firstAnswer = new Promise<void>((r) => (gotFirst = r));
        const client = runBounded(['ip', 'netns', 'exec', topo.pod, process.execPath, '-e', LONG_CLIENT, VIP, '81'], 20_000, (c) => {
          answers += c;
          if (answers.includes('got:echo:one')) gotFirst();
        });
        children.push(client);
        await Promise.race([firstAnswer, client.then((r) => Promise.reject(new Error(`client ended early: ${r.stdout} ${r.stderr}`)))]);

        const second = loadDatapath(build, pins);
        loaded.push(second);
        expect(second.obj.mapOrigin('tc_ct4')).toBe('reused');
        expect(second.obj.mapOrigin('lb4_services')).toBe('reused');
        // Churn: the only slot now names backend 6 (nobody listens on its port); backend 5 stays for its flows.
        second.addService({ vip: VIP, port: 81, proto: 'tcp', revNatIndex: 3, backends: [{ id: 6, address: topo.backendAddr4, port: 8089 }] });
        for (const l of links) l.replace(second.obj.program('tc_clusterip'));
        first.close();
        loaded.shift();

        client.child.stdin!.write('go\n');
        const done = await client;
        expect(done.code).toBe(0);
        expect(done.stdout.split('\n').filter((l) => l.startsWith('got:'))).toEqual(['got:echo:one', 'got:echo:two']);

        const fresh = await runBounded(['ip', 'netns', 'exec', topo.pod, process.execPath, '-e', POD_CLIENT, VIP, '81', '53', '1'], 10_000);
        const line = fresh.stdout.split('\n').find((l) => l.startsWith('{'))!;
        expect(JSON.parse(line).tcp).toEqual([{ ok: false, code: 'ECONNREFUSED' }]);
      } finally {
        for (const c of children) {
          if (c.child.exitCode === null) c.child.stdin!.end();
          await c.catch(() => undefined);
        }
        for (const l of links) l.close();
        for (const d of loaded) d.close();
        topo.cleanup();
        pins.cleanup();
      }
    }, 60_000);
  }
});
