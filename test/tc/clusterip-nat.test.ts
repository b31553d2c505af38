/**
 * ClusterIP request and reply through the pod-side datapath, IPv4 and IPv6, for
 * every profile's build: DNAT of the request and reverse NAT of the reply with
 * the exact bytes (all checksums computed here from scratch), the conntrack
 * entries created (service, egress, related), unknown ports and addresses
 * passing untouched, a service without backends dropping with its counter, and
 * backend selection (random across flows, sticky within one, redone when the
 * backend disappeared).
 */
import { describe, expect, it } from 'vitest';
import { CT_OUT, CT_RELATED, CT_SERVICE, CT_LIFETIME_SYN, CT_LIFETIME_NONTCP } from '../../programs/tc/conntrack-schemas.js';
import { DROP_NO_BACKEND } from '../../programs/tc/conntrack-maps.js';
import { need } from '../support/env.js';
import { describeEachBuild, monotonicSeconds, type Datapath } from './clusterip-harness.js';
import { ACK, l4Frame, SYN } from './clusterip-packets.js';

const kernel = need({ kernel: true });

const FAMILIES = [
  { name: 'IPv4', client: '10.0.0.1', vip: '10.96.0.10', backend: '10.1.0.5', other: ['10.1.0.6', '10.1.0.7'] },
  { name: 'IPv6', client: 'fd00::1', vip: 'fd00:96::10', backend: 'fd00:1::5', other: ['fd00:1::6', 'fd00:1::7'] },
] as const;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe.skipIf(!kernel)('ClusterIP request + reply', () => {
  describeEachBuild((dp) => {
    for (const f of FAMILIES) {
      const v6 = f.name === 'IPv6';
      it(`${f.name} TCP: SYN DNATed to the backend, SYN-ACK reverse-NATed to the frontend`, () => {
        dp.addService({ vip: f.vip, port: 80, proto: 'tcp', revNatIndex: 7, backends: [{ id: 42, address: f.backend, port: 8080 }] });
        const t0 = monotonicSeconds();
        const syn = l4Frame(f.client, f.vip, { proto: 'tcp', sport: 40000, dport: 80, flags: SYN, payload: [1, 2, 3] });
        const out = dp.run(syn);
        const t1 = monotonicSeconds();
        expect(out.retval).toBe(0);
        expect(hex(out.data)).toBe(hex(l4Frame(f.client, f.backend, { proto: 'tcp', sport: 40000, dport: 8080, flags: SYN, payload: [1, 2, 3] })));
        const egress = dp.ct({ saddr: f.client, daddr: f.backend, sport: 40000, dport: 8080, proto: 'tcp', flags: CT_OUT })!;
        expect(egress).toBeDefined();
        expect(egress.revNatIndex).toBe(7);
        expect(egress.backendId).toBe(42);
        expect(egress.txPackets).toBe(1n);
        expect(egress.txBytes).toBe(BigInt(syn.length));
        expect(egress.rxPackets).toBe(0n);
        expect(egress.txFlagsSeen).toBe(SYN);
        expect(egress.flags).toBe(0);
        expect(egress.lifetime).toBeGreaterThanOrEqual(t0 + CT_LIFETIME_SYN);
        expect(egress.lifetime).toBeLessThanOrEqual(t1 + CT_LIFETIME_SYN);
        expect(egress.created).toBeGreaterThanOrEqual(t0);
        const service = dp.ct({ saddr: f.client, daddr: f.vip, sport: 40000, dport: 80, proto: 'tcp', flags: CT_SERVICE })!;
        expect(service.backendId).toBe(42);
        expect(service.revNatIndex).toBe(7);
        const related = dp.ct({ saddr: f.client, daddr: f.backend, sport: 40000, dport: 8080, proto: 'tcp', flags: CT_RELATED })!;
        expect(related.revNatIndex).toBe(7);

        const synAck = l4Frame(f.backend, f.client, { proto: 'tcp', sport: 8080, dport: 40000, flags: SYN | ACK });
        const back = dp.run(synAck);
        expect(back.retval).toBe(0);
        expect(hex(back.data)).toBe(hex(l4Frame(f.vip, f.client, { proto: 'tcp', sport: 80, dport: 40000, flags: SYN | ACK })));
        const after = dp.ct({ saddr: f.client, daddr: f.backend, sport: 40000, dport: 8080, proto: 'tcp', flags: CT_OUT })!;
        expect(after.rxPackets).toBe(1n);
        expect(after.rxBytes).toBe(BigInt(synAck.length));
        expect(after.rxFlagsSeen).toBe(SYN | ACK);
        expect(after.txPackets).toBe(1n);
      });

      it(`${f.name} UDP: request and reply with exact UDP checksums`, () => {
        dp.addService({ vip: f.vip, port: 53, proto: 'udp', revNatIndex: 9, backends: [{ id: 43, address: f.backend, port: 5353 }] });
        const q = [0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7];
        const t0 = monotonicSeconds();
        const out = dp.run(l4Frame(f.client, f.vip, { proto: 'udp', sport: 41000, dport: 53, payload: q }));
        expect(out.retval).toBe(0);
        expect(hex(out.data)).toBe(hex(l4Frame(f.client, f.backend, { proto: 'udp', sport: 41000, dport: 5353, payload: q })));
        const e = dp.ct({ saddr: f.client, daddr: f.backend, sport: 41000, dport: 5353, proto: 'udp', flags: CT_OUT })!;
        expect(e.revNatIndex).toBe(9);
        expect(e.lifetime).toBeGreaterThanOrEqual(t0 + CT_LIFETIME_NONTCP);
        expect(e.lifetime).toBeLessThanOrEqual(monotonicSeconds() + CT_LIFETIME_NONTCP);
        const answer = [0xab, 0xcd, 0x81, 0x80, 9, 9, 9];
        const back = dp.run(l4Frame(f.backend, f.client, { proto: 'udp', sport: 5353, dport: 41000, payload: answer }));
        expect(back.retval).toBe(0);
        expect(hex(back.data)).toBe(hex(l4Frame(f.vip, f.client, { proto: 'udp', sport: 53, dport: 41000, payload: answer })));
      });

      if (!v6) {
        it('IPv4 UDP without a checksum keeps it zero through DNAT and reverse NAT', () => {
          dp.addService({ vip: f.vip, port: 53, proto: 'udp', revNatIndex: 9, backends: [{ id: 43, address: f.backend, port: 5353 }] });
          const out = dp.run(l4Frame(f.client, f.vip, { proto: 'udp', sport: 41001, dport: 53, payload: [5, 6], noChecksum: true }));
          expect(hex(out.data)).toBe(hex(l4Frame(f.client, f.backend, { proto: 'udp', sport: 41001, dport: 5353, payload: [5, 6], noChecksum: true })));
          const back = dp.run(l4Frame(f.backend, f.client, { proto: 'udp', sport: 5353, dport: 41001, payload: [7], noChecksum: true }));
          expect(hex(back.data)).toBe(hex(l4Frame(f.vip, f.client, { proto: 'udp', sport: 53, dport: 41001, payload: [7], noChecksum: true })));
        });
      }

      it(`${f.name}: an unknown port or address passes untouched and creates no entry`, () => {
        dp.addService({ vip: f.vip, port: 80, proto: 'tcp', revNatIndex: 7, backends: [{ id: 42, address: f.backend, port: 8080 }] });
        const before = dp.ctCount(v6);
        for (const pkt of [
          l4Frame(f.client, f.vip, { proto: 'tcp', sport: 40100, dport: 81, flags: SYN }),
          l4Frame(f.client, f.vip, { proto: 'udp', sport: 40100, dport: 80 }),
          l4Frame(f.client, f.other[0], { proto: 'tcp', sport: 40100, dport: 80, flags: SYN }),
        ]) {
          const out = dp.run(pkt);
          expect(out.retval).toBe(0);
          expect(hex(out.data)).toBe(hex(pkt));
        }
        expect(dp.ctCount(v6)).toBe(before);
      });

      it(`${f.name}: a service without backends drops and counts DROP_NO_BACKEND`, () => {
        dp.addService({ vip: f.vip, port: 9000, proto: 'tcp', revNatIndex: 11, backends: [] });
        const before = dp.drops(DROP_NO_BACKEND);
        const pkt = l4Frame(f.client, f.vip, { proto: 'tcp', sport: 40200, dport: 9000, flags: SYN });
        expect(dp.run(pkt).retval).toBe(2);
        expect(dp.run(pkt).retval).toBe(2);
        expect(dp.drops(DROP_NO_BACKEND)).toBe(before + 2);
      });

      it(`${f.name}: random backend per flow, sticky within a flow, reselected when the backend is gone`, () => {
        const backends = [f.backend, ...f.other].map((address, i) => ({ id: 100 + i, address, port: 8443 }));
        dp.addService({ vip: f.vip, port: 443, proto: 'tcp', revNatIndex: 12, backends });
        const chosen = new Map<number, string>();
        const backendOf = (sport: number) => {
          const out = dp.run(l4Frame(f.client, f.vip, { proto: 'tcp', sport, dport: 443, flags: ACK, payload: [sport & 0xff] }));
          expect(out.retval).toBe(0);
          const hit = backends.find((be) => hex(out.data) === hex(l4Frame(f.client, be.address, { proto: 'tcp', sport, dport: 8443, flags: ACK, payload: [sport & 0xff] })));
          expect(hit, `flow ${sport} went to one of the backends`).toBeDefined();
          return hit!.address;
        };
        for (let sport = 42000; sport < 42030; sport++) chosen.set(sport, backendOf(sport));
        expect(new Set(chosen.values()).size).toBeGreaterThan(1);
        for (const [sport, address] of chosen) expect(backendOf(sport)).toBe(address);
        const gone = backends.find((be) => be.address === chosen.get(42000))!;
        // The manager's order: the service's slots first, then the backend entry.
        dp.addService({ vip: f.vip, port: 443, proto: 'tcp', revNatIndex: 12, backends: backends.filter((be) => be !== gone) });
        dp.removeBackend(v6, gone.id);
        const again = backendOf(42000);
        expect(again).not.toBe(gone.address);
        const service = dp.ct({ saddr: f.client, daddr: f.vip, sport: 42000, dport: 443, proto: 'tcp', flags: CT_SERVICE })!;
        expect(service.backendId).toBe(backends.find((be) => be.address === again)!.id);
      });
    }
  });
});
