/** The Prometheus text exposition of the agent's metrics registry, and the ops server serving it. */
import { describe, expect, it } from 'vitest';
import { exponentialBuckets, Registry } from '../../programs/agent/metrics.js';
import { parseListen, startOpsServer } from '../../programs/agent/ops-server.js';
import { AgentError } from '../../programs/agent/errors.js';

describe('metrics registry', () => {
  it('renders counters, gauges (set and collected) and histograms in the text format', () => {
    const r = new Registry();
    const c = r.counter('x_total', 'Things.\nSecond line');
    c.inc({ kind: 'a"b' });
    c.series({ kind: 'a"b' }).inc(2);
    r.gauge('g', 'A gauge.', () => [[{ map: 'lb4_services' }, 7]]).set(1.5, { other: 'y' });
    const h = r.histogram('lat_seconds', 'Latency.', [0.001, 0.01]);
    h.observe(0.0005);
    h.observe(0.005);
    h.observe(5);
    expect(r.render()).toBe(
      [
        '# HELP x_total Things.\\nSecond line',
        '# TYPE x_total counter',
        'x_total{kind="a\\"b"} 3',
        '# HELP g A gauge.',
        '# TYPE g gauge',
        'g{map="lb4_services"} 7',
        'g{other="y"} 1.5',
        '# HELP lat_seconds Latency.',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{le="0.001"} 1',
        'lat_seconds_bucket{le="0.01"} 2',
        'lat_seconds_bucket{le="+Inf"} 3',
        'lat_seconds_sum 5.0055',
        'lat_seconds_count 3',
        '',
      ].join('\n'),
    );
  });

  it('refuses bad names, duplicates and unordered buckets', () => {
    const r = new Registry();
    r.counter('a_total', 'x');
    expect(() => r.counter('a_total', 'x')).toThrow(/registered twice/);
    expect(() => r.gauge('1bad', 'x')).toThrow(/not a valid Prometheus name/);
    expect(() => r.histogram('h', 'x', [1, 1])).toThrow(/must increase/);
    expect(exponentialBuckets(0.001, 2, 4)).toEqual([0.001, 0.002, 0.004, 0.008]);
  });
});

describe('ops server', () => {
  it('serves /healthz (200/503 with the reason) and /metrics; 404 elsewhere', async () => {
    let ok = false;
    const ops = await startOpsServer('127.0.0.1:0', () => (ok ? { ok } : { ok, reason: 'first sync not written yet' }), () => 'm 1\n');
    try {
      const base = `http://${ops.address}`;
      let res = await fetch(`${base}/healthz`);
      expect([res.status, await res.text()]).toEqual([503, 'not ready: first sync not written yet\n']);
      ok = true;
      res = await fetch(`${base}/healthz`);
      expect(res.status).toBe(200);
      res = await fetch(`${base}/metrics`);
      expect(res.headers.get('content-type')).toContain('version=0.0.4');
      expect(await res.text()).toBe('m 1\n');
      expect((await fetch(`${base}/other`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await ops.close();
    }
  });

  it('parses listen addresses and refuses bad ones with a typed error', async () => {
    expect(parseListen(':10256')).toEqual({ host: undefined, port: 10256 });
    expect(parseListen('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(() => parseListen('10256')).toThrow(AgentError);
    expect(() => parseListen('h:70000')).toThrow(/not HOST:PORT/);
    const first = await startOpsServer('127.0.0.1:0', () => ({ ok: true }), () => '');
    try {
      await expect(startOpsServer(`127.0.0.1:${first.port}`, () => ({ ok: true }), () => '')).rejects.toMatchObject({ code: 'AGENT_LISTEN' });
    } finally {
      await first.close();
    }
  });
});
