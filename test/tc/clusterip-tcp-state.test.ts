/**
 * TCP state in the conntrack entries of the ClusterIP datapath, for every
 * profile's build and both families: SYN-only flows live 60 s, a packet without
 * SYN makes the connection established (6 h), a FIN closes its direction, FIN
 * both ways or an RST leave 10 s, a SYN on a closing entry reopens it; an
 * expired entry counts as absent and is replaced. Every step's packet is also
 * checked byte for byte.
 */
import { describe, expect, it } from 'vitest';
import {
  CT_F_RX_CLOSING, CT_F_SEEN_NON_SYN, CT_F_TX_CLOSING, CT_LIFETIME_CLOSE, CT_LIFETIME_SYN, CT_LIFETIME_TCP, CT_OUT, CT_SERVICE,
} from '../../programs/tc/conntrack-schemas.js';
import { need } from '../support/env.js';
import { describeEachBuild, monotonicSeconds, type Datapath, type TestTuple } from './clusterip-harness.js';
import { ACK, FIN, l4Frame, RST, SYN } from './clusterip-packets.js';

const kernel = need({ kernel: true });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const FAMILIES = [
  { name: 'IPv4', client: '10.0.0.2', vip: '10.96.0.20', backend: '10.1.0.9' },
  { name: 'IPv6', client: 'fd00::2', vip: 'fd00:96::20', backend: 'fd00:1::9' },
] as const;

describe.skipIf(!kernel)('ClusterIP TCP state and lifetimes', () => {
  describeEachBuild((dp) => {
    for (const f of FAMILIES) {
      const sport = 43000;
      const egress: TestTuple = { saddr: f.client, daddr: f.backend, sport, dport: 8080, proto: 'tcp', flags: CT_OUT };
      /** Sends `flags` from the client (through DNAT) or the backend (through reverse NAT); checks the bytes and the new lifetime. */
      const step = (from: 'client' | 'backend', flags: number, lifetime: number, ctFlags: number) => {
        const t0 = monotonicSeconds();
        const out =
          from === 'client'
            ? dp.run(l4Frame(f.client, f.vip, { proto: 'tcp', sport, dport: 80, flags }))
            : dp.run(l4Frame(f.backend, f.client, { proto: 'tcp', sport: 8080, dport: sport, flags }));
        const t1 = monotonicSeconds();
        expect(out.retval).toBe(0);
        const want =
          from === 'client'
            ? l4Frame(f.client, f.backend, { proto: 'tcp', sport, dport: 8080, flags })
            : l4Frame(f.vip, f.client, { proto: 'tcp', sport: 80, dport: sport, flags });
        expect(hex(out.data)).toBe(hex(want));
        const e = dp.ct(egress)!;
        expect(e.flags, `CT flags after ${from} ${flags}`).toBe(ctFlags);
        expect(e.lifetime).toBeGreaterThanOrEqual(t0 + lifetime);
        expect(e.lifetime).toBeLessThanOrEqual(t1 + lifetime);
        return e;
      };

      it(`${f.name}: SYN, SYN-ACK, ACK, FIN each way, SYN reopening, RST`, () => {
        dp.addService({ vip: f.vip, port: 80, proto: 'tcp', revNatIndex: 21, backends: [{ id: 61, address: f.backend, port: 8080 }] });
        step('client', SYN, CT_LIFETIME_SYN, 0);
        const synAck = step('backend', SYN | ACK, CT_LIFETIME_SYN, 0);
        expect(synAck.rxFlagsSeen).toBe(SYN | ACK);
        step('client', ACK, CT_LIFETIME_TCP, CT_F_SEEN_NON_SYN);
        const svc = dp.ct({ ...egress, daddr: f.vip, dport: 80, flags: CT_SERVICE })!;
        expect(svc.flags).toBe(CT_F_SEEN_NON_SYN);
        expect(svc.txPackets).toBe(2n);
        step('client', FIN | ACK, CT_LIFETIME_TCP, CT_F_SEEN_NON_SYN | CT_F_TX_CLOSING);
        const closed = step('backend', FIN | ACK, CT_LIFETIME_CLOSE, CT_F_SEEN_NON_SYN | CT_F_TX_CLOSING | CT_F_RX_CLOSING);
        expect(closed.txFlagsSeen).toBe(SYN | ACK | FIN);
        expect(closed.rxFlagsSeen).toBe(SYN | ACK | FIN);
        expect(closed.txPackets).toBe(3n);
        expect(closed.rxPackets).toBe(2n);
        const reopened = step('client', SYN, CT_LIFETIME_SYN, 0);
        expect(reopened.txFlagsSeen).toBe(SYN);
        expect(reopened.rxFlagsSeen).toBe(0);
        step('backend', SYN | ACK, CT_LIFETIME_SYN, 0);
        step('client', ACK, CT_LIFETIME_TCP, CT_F_SEEN_NON_SYN);
        step('backend', RST, CT_LIFETIME_CLOSE, CT_F_SEEN_NON_SYN | CT_F_TX_CLOSING | CT_F_RX_CLOSING);
      });

      it(`${f.name}: an expired entry counts as absent and is created anew`, () => {
        dp.addService({ vip: f.vip, port: 80, proto: 'tcp', revNatIndex: 21, backends: [{ id: 61, address: f.backend, port: 8080 }] });
        const old = { ...egress, sport: 43001 };
        dp.setCt(old, { lifetime: 1, txPackets: 50n, revNatIndex: 21, backendId: 61, flags: CT_F_SEEN_NON_SYN });
        dp.setCt({ ...old, daddr: f.vip, dport: 80, flags: CT_SERVICE }, { lifetime: 1, txPackets: 50n, revNatIndex: 21, backendId: 61 });
        const pkt = l4Frame(f.client, f.vip, { proto: 'tcp', sport: 43001, dport: 80, flags: SYN });
        expect(hex(dp.run(pkt).data)).toBe(hex(l4Frame(f.client, f.backend, { proto: 'tcp', sport: 43001, dport: 8080, flags: SYN })));
        const e = dp.ct(old)!;
        expect(e.txPackets).toBe(1n);
        expect(e.flags).toBe(0);
        expect(e.lifetime).toBeGreaterThan(monotonicSeconds());
        // A reply to an expired egress entry is not reverse-NATed.
        dp.setCt(old, { lifetime: 1, revNatIndex: 21, backendId: 61 });
        const reply = l4Frame(f.backend, f.client, { proto: 'tcp', sport: 8080, dport: 43001, flags: ACK });
        expect(hex(dp.run(reply).data)).toBe(hex(reply));
      });
    }
  });
});
