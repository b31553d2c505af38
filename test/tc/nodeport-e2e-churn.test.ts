/**
 * NodePort end to end under change, in the two-node namespace topology:
 * - backend churn: 1,000 TCP connections (4 at a time) from the outside client
 *   to a NodePort while the service's backend list is rewritten every few
 *   milliseconds (local A, remote B and a second remote B2 in varying sets,
 *   written in an order that never exposes a missing slot). Halfway B2 is
 *   deliberately removed from the service and, after a grace period, its
 *   server stopped: connections answered by it are counted separately and none
 *   may start after the grace period. Zero connections may fail.
 * - datapath reload: a second copy of the programs is loaded on the same pins
 *   (flows, SNAT, service tables reused) and replaces the attached programs
 *   atomically while 1,000 connections run and two long TCP connections (one
 *   to the local backend, one SNATed to the remote one) are open; both long
 *   connections keep working afterwards and no connection fails.
 * IPv4 for every build, and IPv6 for 4.19 (its ingress program split into tail
 * calls). The 6.6 build attaches with tcx, the 4.19 build with netlink tc.
 * Loops are bounded by count and every child by a time limit.
 */
import { describe, expect, it } from 'vitest';
import { listTcFilters, queryTcx } from '../../loader/links/index.js';
import type { LoadedObject } from '../../loader/object/index.js';
import { dropCounters } from '../../programs/tc/nodeport-agent.js';
import { createPinDir } from '../support/bpffs.js';
import { need } from '../support/env.js';
import { runBounded } from '../support/netns.js';
import { attachNodePort, E2E_BUILDS, loadNodePort, writeNodePortService, type E2eBackend, type E2eLink } from './nodeport-e2e-datapath.js';
import { ADDRS, createNodePortTopology, LONG, runClient, startBackend, startClient, type Backend, type TcpResult } from './nodeport-e2e-topology.js';

const ok = need({ kernel: true, tools: ['ip'] });
const CONNECTIONS = 1000;
/** Every build with IPv4, and 4.19 with IPv6 too (its ingress program is the one split into tail calls). */
const CASES = E2E_BUILDS.flatMap(({ build, mode }) => (build === '4.19' ? [false, true] : [false]).map((v6) => ({ build, mode, v6 })));

/** Which backend answered a connection (`pong:<name>:…`). */
const answeredBy = (t: TcpResult) => t.data?.split(':')[1];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ok)('NodePort end to end through backend churn and a datapath reload', () => {
  for (const { build, mode, v6 } of CASES) {
    const fam = v6 ? ADDRS.v6 : ADDRS.v4;
    const f = v6 ? '6' : '4';
    const A: E2eBackend = { id: 1, address: fam.podA, port: 8080, local: true };
    const B: E2eBackend = { id: 2, address: fam.podB, port: 8080, local: false };
    const B2: E2eBackend = { id: 3, address: fam.podB, port: 8090, local: false };
    it(`${build} (${mode}) IPv${f}: ${CONNECTIONS} connections through backend churn, none failed; the removed backend gets none after its removal`, async () => {
      const topo = createNodePortTopology();
      const pins = createPinDir('tcnpchurn');
      const closers: { close(): void }[] = [];
      const servers: Backend[] = [];
      try {
        const obj = loadNodePort(build, pins, topo);
        closers.push(obj);
        const links = attachNodePort(obj, topo, v6, mode);
        closers.push(links.native, links.fromPod);
        const b2 = await startBackend(topo.podB, 'B2', { tcpPort: 8090, udpPort: 5390 });
        servers.push(await startBackend(topo.podA, 'A'), await startBackend(topo.podB, 'B'), b2);
        let count = 3;
        const set = (backends: E2eBackend[]) => {
          writeNodePortService(obj, v6, { port: 30090, proto: 'tcp', revNatIndex: 9, backends }, count);
          count = backends.length;
        };
        set([A, B, B2]);

        const client = startClient(topo.client, fam.nodeA, { tcpPort: 30090, count: CONNECTIONS, parallel: 4, timeoutMs: 5_000, limitMs: 120_000 });
        const withB2 = [[A, B, B2], [A], [B2, B], [B], [A, B2], [A, B]];
        const withoutB2 = [[A], [B, A], [B], [A, B], [A, A, B]];
        let changes = 0;
        // First half: churn including B2 (bounded by count and by the client's end).
        while (!client.finished() && client.progress() < CONNECTIONS * 0.4 && changes < 5000) {
          set(withB2[changes++ % withB2.length]!);
          await sleep(5);
        }
        // B2 is removed deliberately: off the service first (the client marks the moment), its server stopped after a grace period.
        set([A, B]);
        client.mark('removed');
        const runningAtRemoval = !client.finished();
        await sleep(300);
        await b2.stop();
        while (!client.finished() && changes < 10000) {
          set(withoutB2[changes++ % withoutB2.length]!);
          await sleep(5);
        }
        const r = await client.result;
        expect(runningAtRemoval).toBe(true);
        expect(r.tcp).toHaveLength(CONNECTIONS);
        const failed = r.tcp.filter((t) => !t.ok);
        expect(failed).toEqual([]);
        const by = { A: 0, B: 0, B2: 0 } as Record<string, number>;
        for (const t of r.tcp) {
          expect(t.peer).toBe(`${fam.nodeA}:30090`);
          by[answeredBy(t)!]! += 1;
        }
        // Everything answered, by a known backend, and the traffic did run while the tables changed.
        expect(by.A! + by.B! + by.B2!).toBe(CONNECTIONS);
        expect(changes).toBeGreaterThan(20);
        expect(by.A).toBeGreaterThan(0);
        expect(by.B).toBeGreaterThan(0);
        // The removed backend, counted separately: it served connections only before its removal (plus the grace).
        const removedAt = r.marks.removed!;
        expect(removedAt).toBeGreaterThan(0);
        expect(by.B2).toBeGreaterThan(0);
        const lateToB2 = r.tcp.filter((t) => answeredBy(t) === 'B2' && t.at > removedAt);
        expect(lateToB2).toEqual([]);
        const afterRemoval = r.tcp.filter((t) => t.at > removedAt).length;
        console.log(`${build} IPv${f} churn: ${changes} table changes, answered A ${by.A}, B ${by.B}, B2 ${by.B2} (removed at ${removedAt} ms; ${afterRemoval} connections started after, none to it), failed ${failed.length}`);
        // Nothing was dropped on the way (no missing slot or backend seen mid-change, no SNAT or FIB failure).
        expect(dropCounters(obj)).toEqual(Object.fromEntries(Object.keys(dropCounters(obj)).map((k) => [k, 0n])));
      } finally {
        for (const s of servers) await s.stop();
        for (const c of closers.reverse()) c.close();
        topo.cleanup();
        pins.cleanup();
      }
    }, 180_000);

    it(`${build} (${mode}) IPv${f}: a reload with the pinned maps kept keeps established connections and loses no new one`, async () => {
      const topo = createNodePortTopology();
      const pins = createPinDir('tcnpreload');
      const loaded: LoadedObject[] = [];
      const links: E2eLink[] = [];
      const servers: Backend[] = [];
      const children: ReturnType<typeof runBounded>[] = [];
      try {
        const first = loadNodePort(build, pins, topo);
        loaded.push(first);
        const attached = attachNodePort(first, topo, v6, mode);
        links.push(attached.native, attached.fromPod);
        writeNodePortService(first, v6, { port: 30090, proto: 'tcp', revNatIndex: 9, backends: [A, B] });
        // The echo ports (8081) of each backend, one service each.
        writeNodePortService(first, v6, { port: 30091, proto: 'tcp', revNatIndex: 10, backends: [{ ...A, id: 11, port: 8081 }] });
        writeNodePortService(first, v6, { port: 30092, proto: 'tcp', revNatIndex: 11, backends: [{ ...B, id: 12, port: 8081 }] });
        servers.push(await startBackend(topo.podA, 'A'), await startBackend(topo.podB, 'B'));

        const long = async (port: number, name: string) => {
          let out = '';
          let gotFirst!: () => void;
          const first = new Promise<void>((r) => (gotFirst = r));
          const c = runBounded(['ip', 'netns', 'exec', topo.client, process.execPath, '-e', LONG, fam.nodeA, String(port)], 40_000, (chunk) => {
            out += chunk;
            if (out.includes(`got:echo:${name}:one`)) gotFirst();
          });
          children.push(c);
          await Promise.race([first, c.then((r) => Promise.reject(new Error(`long client ended early: ${r.stdout} ${r.stderr}`)))]);
          return { c }; // Wrapped: the child is a promise, and returning it would wait for its end.
        };
        const { c: toLocal } = await long(30091, 'A');
        const { c: toRemote } = await long(30092, 'B');

        // The new copy is loaded (verified, its maps the pinned ones) while the old one runs; the swap happens under traffic.
        const second = loadNodePort(build, pins, topo);
        loaded.push(second);
        for (const m of [`np${f}_flows`, `snat${f}_map`, `lb${f}_services`, `lb${f}_backends`, `np${f}_local_eps`]) expect(second.mapOrigin(m), m).toBe('reused');
        const client = startClient(topo.client, fam.nodeA, { tcpPort: 30090, count: CONNECTIONS, parallel: 4, timeoutMs: 5_000, limitMs: 120_000 });
        while (client.progress() < 100 && !client.finished()) await sleep(5);
        links[0]!.replace(second.program(`np${f}_ingress`));
        links[1]!.replace(second.program(`np${f}_from_pod`));
        first.close();
        loaded.shift();
        const reloadedWhileRunning = !client.finished();
        client.mark('reloaded');
        // What is attached now is the second copy.
        const attachedIds = (iface: string) =>
          mode === 'tcx' ? queryTcx({ iface, netns: topo.nodeA }, 'ingress').progIds : listTcFilters({ iface, netns: topo.nodeA }, 'ingress').map((f) => f.progId);
        expect(attachedIds(topo.native.ifname)).toEqual([second.program(`np${f}_ingress`).info().id]);
        expect(attachedIds(topo.podAVeth.ifname)).toEqual([second.program(`np${f}_from_pod`).info().id]);

        for (const c of [toLocal, toRemote]) c.child.stdin!.write('go\n');
        const [doneLocal, doneRemote] = await Promise.all([toLocal, toRemote]);
        expect(doneLocal.stdout.split('\n').filter((l) => l.startsWith('got:'))).toEqual(['got:echo:A:one', 'got:echo:A:two']);
        expect(doneRemote.stdout.split('\n').filter((l) => l.startsWith('got:'))).toEqual(['got:echo:B:one', 'got:echo:B:two']);
        expect([doneLocal.code, doneRemote.code]).toEqual([0, 0]);

        const r = await client.result;
        expect(reloadedWhileRunning).toBe(true);
        // Connections did start after the programs were replaced.
        expect(r.tcp.filter((t) => t.at > r.marks.reloaded!).length).toBeGreaterThan(0);
        expect(r.tcp).toHaveLength(CONNECTIONS);
        expect(r.tcp.filter((t) => !t.ok)).toEqual([]);
        const after = await runClient(topo.client, fam.nodeA, { tcpPort: 30090, count: 20 });
        expect(after.tcp.filter((t) => !t.ok)).toEqual([]);
        expect(dropCounters(second)).toEqual(Object.fromEntries(Object.keys(dropCounters(second)).map((k) => [k, 0n])));
        const answered = new Set([...r.tcp, ...after.tcp].map(answeredBy));
        expect([...answered].sort()).toEqual(['A', 'B']);
      } finally {
        for (const c of children) {
          if (c.child.exitCode === null) c.child.stdin!.end();
          await c.catch(() => undefined);
        }
        for (const s of servers) await s.stop();
        for (const l of links) l.close();
        for (const o of loaded) o.close();
        topo.cleanup();
        pins.cleanup();
      }
    }, 180_000);
  }
});
