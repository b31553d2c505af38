/**
 * The quick tc benchmark, run for real: `bench/tc.ts --quick` in a child, then
 * its report checked for shape and for what makes the numbers meaningful —
 * every path ran packets on both sides, rewrote the frame, and both sides gave
 * the same return code, frame and state. Also: the twin check really fails when
 * the two sides disagree (different map contents). The NodePort throughput and
 * ClusterIP latency parts carried every connection through each variant and the
 * datapath really translated them (SNAT and conntrack entries). No timing thresholds.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listNetns, startChild } from '../../programs/lab/index.js';
import { CLUSTERIP_SCENARIOS, fillServices } from '../../bench/tc/clusterip-scenarios.js';
import { measureScenario } from '../../bench/tc/measure.js';
import { NODEPORT_SCENARIOS } from '../../bench/tc/nodeport-scenarios.js';
import { THROUGHPUT_VARIANTS } from '../../bench/tc/nodeport-throughput.js';
import type { TcBenchReport } from '../../bench/tc/report.js';
import { loadClusterIpTwins } from '../../bench/tc/twins.js';
import { Backend4 } from '../../programs/lb/schemas.js';
import { u32 } from '../../dsl/types/index.js';
import { need } from '../support/env.js';

const root = join(import.meta.dirname, '..', '..');

describe('bench:tc --quick', () => {
  it.skipIf(!need({ kernel: true, tools: ['clang-19', 'ip', 'iptables-nft-restore'] }))('measures every path on both sides with identical output, NodePort vs iptables and ClusterIP vs direct with traffic through each', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tsbpf-bench-tc-quick-'));
    try {
      const child = startChild([process.execPath, '--import', 'tsx', join(root, 'bench', 'tc.ts'), '--quick', '--out', out], { timeoutMs: 240_000 });
      const r = await child.done;
      expect(r.timedOut).toBe(false);
      expect(r.stderr.includes('bench:tc:') ? r.stderr : '').toBe('');
      expect(r.code).toBe(0);

      const report = JSON.parse(readFileSync(join(out, 'tc.json'), 'utf8')) as TcBenchReport;
      expect(report).toMatchObject({ benchmark: 'tc', quick: true });
      expect(report.machine.loadavgStart).toHaveLength(3);
      const ids = [...CLUSTERIP_SCENARIOS, ...NODEPORT_SCENARIOS].map((s) => s.id);
      expect(report.results.map((x) => x.id)).toEqual(ids);
      for (const x of report.results) {
        expect(x.identical, x.id).toBe(true);
        expect(x.rewritten, x.id).toBe(true);
        // ClusterIP passes the rewritten packet on; NodePort redirects it (TC_ACT_REDIRECT).
        expect(x.retval, x.id).toBe(x.id.startsWith('clusterip') ? 0 : 7);
        for (const side of [x.tsbpf, x.clang]) {
          expect(side.retval, x.id).toBe(x.retval);
          expect(side.roundsNs, x.id).toHaveLength(report.settings.rounds);
          expect(side.packets, x.id).toBeGreaterThan(0);
          expect(side.nsPerPacket, x.id).toBeGreaterThan(0);
        }
        expect(x.ratio, x.id).toBeCloseTo(x.tsbpf.nsPerPacket / x.clang.nsPerPacket, 6);
      }
      expect(report.sizes.map((s) => s.program)).toEqual(['tc_clusterip', 'np4_ingress', 'np4_from_pod']);
      for (const s of report.sizes) for (const v of [s.tsbpf, s.clang]) expect(v.xlatedInsns, s.program).toBeGreaterThan(0);

      // NodePort throughput: every variant carried every connection; the tsbpf node really translated them.
      const t = report.throughput;
      for (const id of THROUGHPUT_VARIANTS) {
        const v = t.variants[id];
        expect(v.connections, id).toBe(t.settings.rounds * t.settings.connectionsPerRound);
        expect(v.failures, `${id}: ${JSON.stringify(v.errors)}`).toBe(0);
        expect(v.latency.samples, id).toBe(v.connections);
        expect(v.connectionsPerS, id).toBeGreaterThan(0);
      }
      // The tsbpf node translated: SNAT entries in pairs (forward + reverse; fewer than 2 per connection when the client reuses a port).
      expect(t.tsbpfSnatEntries).toBeGreaterThanOrEqual(2);
      expect(t.tsbpfSnatEntries % 2).toBe(0);
      expect(t.ratioVsIptables).toBeCloseTo(t.variants.tsbpf.connectionsPerS / t.variants.iptables.connectionsPerS, 6);
      // ClusterIP latency: 1 and 10,000 services, both variants carried everything, the datapath tracked the flows.
      expect(report.latency.rows.map((x) => x.services)).toEqual([1, 10_000]);
      const perVariant = report.latency.settings.rounds * report.latency.settings.connectionsPerRound;
      for (const row of report.latency.rows) {
        for (const v of [row.direct, row.tc]) {
          expect(v.connections, `N=${row.services}`).toBe(perVariant);
          expect(v.failures, `N=${row.services}: ${JSON.stringify(v.errors)}`).toBe(0);
          expect(v.backends, `N=${row.services}`).toEqual({ backend: perVariant });
          expect(v.latency.p99Us).toBeGreaterThanOrEqual(v.latency.p50Us);
        }
        expect(row.ratioP50).toBeCloseTo(row.tc.latency.p50Us / row.direct.latency.p50Us, 6);
        // Conntrack entries come in threes (service, egress, related) per flow through the VIP.
        expect(row.ctEntries, `N=${row.services}`).toBeGreaterThanOrEqual(3);
        expect(row.ctEntries % 3, `N=${row.services}`).toBe(0);
      }
      const present = new Set(listNetns());
      expect([...t.namespaces, ...report.latency.lab.namespaces].filter((n) => present.has(n))).toEqual([]);

      const md = readFileSync(join(out, 'tc.md'), 'utf8');
      for (const id of ids) expect(md).toMatch(new RegExp(`^\\| ${id} \\| [0-9.]+ \\| [0-9.]+ \\| [0-9.]+× \\|`, 'm'));
      const svg = readFileSync(join(out, 'tc.svg'), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      // Bars: two per path, one per throughput variant, four per latency row.
      expect(svg.match(/<rect x="230" y="\d+" width="[0-9.]+" height="14"/g)).toHaveLength(2 * ids.length + 3 + 4 * 2);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);

  it.skipIf(!need({ kernel: true, tools: ['clang-19'] }))('fails loudly when the twin does not produce the same packet', () => {
    using twins = loadClusterIpTwins();
    for (const side of twins.sides) fillServices(side.obj, 0);
    // The clang side's backend listens on another port: same path, different output frame.
    twins.sides[1].obj.map('lb4_backends').set(u32.encode(1), Backend4.encode({ address: '10.0.1.5', port: 8081, proto: 6, flags: 0 }));
    const run = (obj: (typeof twins.sides)[0]['obj'], program: string, data: Uint8Array, repeat?: number) => obj.program(program).run({ data, repeat: repeat ?? 0 });
    const s = CLUSTERIP_SCENARIOS.find((x) => x.id === 'clusterip-request-established')!;
    expect(() => measureScenario(twins.sides, s, { rounds: 1, runs: 1 }, run)).toThrow(/clusterip-request-established \(first run\): the C twin is not a twin/);
  });
});
