/**
 * The quick services benchmark, run for real: `bench/services.ts --quick` in a
 * child, then its report checked for shape and for traffic — every variant
 * carried every connection to both backend pods, the three service tables
 * report install/add/remove times — and the run left no namespace or cgroup
 * behind. No timing thresholds: numbers are for the report, not for tests.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroup2Mount, listNetns, startChild } from '../../programs/lab/index.js';
import type { BenchReport } from '../../bench/services/run.js';
import { VARIANT_IDS } from '../../bench/services/variants.js';
import { need } from '../support/env.js';

const root = join(import.meta.dirname, '..', '..');

describe('bench:services --quick', () => {
  it.skipIf(!need({ kernel: true, tools: ['clang-19', 'iptables-nft-restore', 'nft', 'ip'] }))('runs all four variants and reports traffic through each', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tsbpf-bench-quick-'));
    try {
      const child = startChild([process.execPath, '--import', 'tsx', join(root, 'bench', 'services.ts'), '--quick', '--out', out], { timeoutMs: 120_000 });
      const r = await child.done;
      expect(r.timedOut).toBe(false);
      expect(r.stderr.includes('bench:services:') ? r.stderr : '').toBe('');
      expect(r.code).toBe(0);

      const report = JSON.parse(readFileSync(join(out, 'services.json'), 'utf8')) as BenchReport;
      // Nothing left behind: the namespaces, cgroup and pin dir the run reports are gone.
      expect(report.lab.namespaces).toHaveLength(7);
      const present = new Set(listNetns());
      expect(report.lab.namespaces.filter((n) => present.has(n))).toEqual([]);
      expect(report.lab.cgroup.startsWith(cgroup2Mount())).toBe(true);
      expect(existsSync(report.lab.cgroup)).toBe(false);
      expect(existsSync(report.lab.pinDir)).toBe(false);

      expect(report).toMatchObject({ benchmark: 'services', quick: true });
      expect(report.machine.iptables).toMatch(/nf_tables|legacy/);
      expect(report.machine.loadavgStart).toHaveLength(3);
      expect(report.results.map((x) => x.services)).toEqual([1, 1000]);
      expect(report.tsbpfPrograms).toContain('sock4_connect@connect4');
      const perVariant = report.settings.rounds * report.settings.connectionsPerRound;
      expect(perVariant).toBeGreaterThan(0);
      for (const row of report.results) {
        expect(Object.keys(row.variants).sort()).toEqual([...VARIANT_IDS].sort());
        for (const id of VARIANT_IDS) {
          const v = row.variants[id];
          const where = `N=${row.services} ${id}`;
          expect(v.connections, where).toBe(perVariant);
          expect(v.failures, `${where}: ${JSON.stringify(v.errors)}`).toBe(0);
          expect(v.latency.samples, where).toBe(perVariant);
          // Each variant spread its connections over both backend pods (random for the three balancers, in turn for the floor).
          expect(Object.keys(v.backends).sort(), where).toEqual(['backend-1', 'backend-2']);
          expect(v.backends['backend-1']! + v.backends['backend-2']!, where).toBe(perVariant);
          expect(Math.min(v.backends['backend-1']!, v.backends['backend-2']!), where).toBeGreaterThan(perVariant / 10);
          expect(v.latency.p50Us, where).toBeGreaterThan(0);
          expect(v.latency.p99Us, where).toBeGreaterThanOrEqual(v.latency.p50Us);
          expect(v.ratioP50, where).toBeCloseTo(v.latency.p50Us / row.variants.direct.latency.p50Us, 2);
          if (id === 'direct') expect(v.installMs, where).toBeUndefined();
          else for (const t of [v.installMs, v.addMs, v.removeMs]) expect(t, where).toBeGreaterThan(0);
        }
      }

      const md = readFileSync(join(out, 'services.md'), 'utf8');
      expect(md).toContain('## Connection latency (µs) and ratio to (a)');
      expect(md.split('\n').filter((l) => /^\| 1(,000)? \|/.test(l))).toHaveLength(6);
      const svg = readFileSync(join(out, 'services.svg'), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.match(/<polyline /g)).toHaveLength(2 * VARIANT_IDS.length);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
