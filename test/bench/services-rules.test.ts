/**
 * The benchmark's kube-proxy rule sets: chain names come out of the same hash
 * as kube-proxy's (checked against names in kube-proxy's own tests), and the
 * iptables and nftables texts have kube-proxy's shape.
 */
import { describe, expect, it } from 'vitest';
import { benchService, benchServices, kubeHash, MEASURED_VIP, serviceVip } from '../../bench/services/model.js';
import { iptablesSync, sepChain, svcChain } from '../../bench/services/iptables-rules.js';
import { endpointChain, nftAddService, nftDeleteService, serviceChain } from '../../bench/services/nftables-rules.js';
import { quantile, summarize } from '../../bench/services/stats.js';

const real = [{ address: '10.244.1.2', port: 8080 }, { address: '10.244.2.2', port: 8080 }];

describe('kube-proxy chain names', () => {
  it('match the names in kube-proxy tests for ns1/svc1:p80 and endpoint 10.180.0.1:80', () => {
    expect(kubeHash('ns1/svc1:p80tcp', 16)).toBe('XPGD46QRK7WJZT7O');
    expect(kubeHash('ns1/svc1:p80tcp10.180.0.1:80', 16)).toBe('SXIVWICOYRO3J4NJ');
    expect(kubeHash('ns1/svc1/tcp/p80', 8)).toBe('ULMVA6XW');
    expect(kubeHash('ns1/svc1/tcp/p80__10.180.0.1/80', 8)).toBe('5OJB2KTY');
  });

  it('are derived from the service and endpoint', () => {
    const s = { index: 0, portName: 'ns1/svc1:p80', vip: '172.30.0.41', port: 80, endpoints: [{ address: '10.180.0.1', port: 80 }] };
    expect(svcChain(s)).toBe('KUBE-SVC-XPGD46QRK7WJZT7O');
    expect(sepChain(s, 0)).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(serviceChain(s)).toBe('service-ULMVA6XW-ns1/svc1/tcp/p80');
    expect(endpointChain(s, 0)).toBe('endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
  });
});

describe('service set', () => {
  it('numbers VIPs from 10.96.0.1 and makes the last service the measured one (real endpoints, the fixed VIP)', () => {
    expect([serviceVip(0), serviceVip(254), serviceVip(255), serviceVip(9999)]).toEqual(['10.96.0.1', '10.96.0.255', '10.96.1.0', '10.96.39.16']);
    const all = benchServices(3, real);
    expect(all[2]!.endpoints).toEqual(real);
    expect(all.map((s) => s.vip)).toEqual(['10.96.0.1', '10.96.0.2', MEASURED_VIP]);
    expect(all[0]!.endpoints.map((e) => e.address)).toEqual(['10.128.0.1', '10.128.0.2']);
    expect(benchService(59_999).endpoints.map((e) => e.address)).toEqual(['10.129.212.191', '10.129.212.192']);
    expect(new Set(benchServices(10_000, real).map((s) => s.vip)).size).toBe(10_000);
    expect(() => benchService(-1)).toThrow(RangeError);
  });
});

describe('iptables-restore text', () => {
  it('dispatches every service from KUBE-SERVICES in order, NodePort catch-all last, statistic 1/n then fall-through', () => {
    const all = benchServices(3, real);
    const text = iptablesSync(all, all);
    const lines = text.split('\n');
    const dispatch = lines.filter((l) => l.startsWith('-A KUBE-SERVICES'));
    expect(dispatch).toHaveLength(4);
    expect(dispatch.slice(0, 3).map((l) => /-d (\S+)\/32/.exec(l)?.[1])).toEqual(['10.96.0.1', '10.96.0.2', MEASURED_VIP]);
    expect(dispatch[3]).toMatch(/--dst-type LOCAL -j KUBE-NODEPORTS$/);
    const svc = lines.filter((l) => l.startsWith(`-A ${svcChain(all[2]!)} `));
    expect(svc[0]).toContain('! -s 10.244.0.0/16 -j KUBE-MARK-MASQ');
    expect(svc[1]).toContain('-m statistic --mode random --probability 0.5000000000 -j ' + sepChain(all[2]!, 0));
    expect(svc[2]).not.toContain('statistic');
    expect(lines).toContain(`-A ${sepChain(all[2]!, 1)} -m comment --comment bench/svc-2:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:8080`);
    expect(lines.at(-2)).toBe('COMMIT');
  });

  it('an update rewrites KUBE-SERVICES in full but only the changed chains; a removal deletes its chains', () => {
    const all = benchServices(3, real);
    const extra = benchService(3);
    const add = iptablesSync([...all, extra], [extra]);
    expect(add.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES'))).toHaveLength(5);
    expect(add).not.toContain(`-A ${svcChain(all[0]!)} `);
    expect(add).toContain(`-A ${svcChain(extra)} `);
    const del = iptablesSync(all, [], [extra]);
    expect(del).toContain(`-X ${svcChain(extra)}`);
    expect(del).toContain(`-X ${sepChain(extra, 1)}`);
    expect(del).not.toContain(`-A ${svcChain(extra)}`);
  });
});

describe('nft text', () => {
  it('adds endpoint chains before the service chain that jumps to them, then the dispatch element', () => {
    const s = benchService(2, real);
    const lines = nftAddService(s).trim().split('\n');
    const order = lines.map((l) => (l.startsWith('add chain') ? l.split(' ').at(-1) : l.startsWith('add element') ? 'element' : undefined)).filter(Boolean);
    expect(order).toEqual([endpointChain(s, 0), endpointChain(s, 1), serviceChain(s), 'element']);
    expect(lines).toContain(`add rule ip kube-proxy ${serviceChain(s)} numgen random mod 2 vmap { 0 : goto ${endpointChain(s, 0)} , 1 : goto ${endpointChain(s, 1)} }`);
    expect(lines.at(-1)).toBe(`add element ip kube-proxy service-ips { ${MEASURED_VIP} . tcp . 80 : goto ${serviceChain(s)} }`);
    const del = nftDeleteService(s).trim().split('\n');
    expect(del[0]).toBe(`delete element ip kube-proxy service-ips { ${MEASURED_VIP} . tcp . 80 }`);
    expect(del).toContain(`delete chain ip kube-proxy ${endpointChain(s, 1)}`);
  });
});

describe('latency summary', () => {
  it('takes nearest-rank percentiles in microseconds', () => {
    const ns = Array.from({ length: 100 }, (_, i) => (i + 1) * 1000);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(summarize(ns)).toMatchObject({ samples: 100, p50Us: 50, p90Us: 90, p99Us: 99, minUs: 1, meanUs: 50.5 });
  });
});
