/**
 * The to-pod program (tc egress of a pod's veth), for every profile's build and
 * both families: a reply from a remote backend (whose veth does not run the
 * datapath) is reverse-NATed to the frontend with exact checksums; a reply the
 * backend side already reverse-NATed passes unchanged (no second translation);
 * an ICMP error from a remote backend is translated; a DNATed request reaching
 * its local backend, and any other inbound flow, is accounted in a CT_IN entry.
 */
import { describe, expect, it } from 'vitest';
import { CT_F_SEEN_NON_SYN, CT_IN, CT_LIFETIME_SYN } from '../../programs/tc/conntrack-schemas.js';
import { need } from '../support/env.js';
import { describeEachBuild, monotonicSeconds, type Datapath } from './clusterip-harness.js';
import { ACK, icmpErrorFrame, ipPacket, l4Frame, segment, SYN } from './clusterip-packets.js';

const kernel = need({ kernel: true });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const FAMILIES = [
  { name: 'IPv4', client: '10.0.0.5', vip: '10.96.0.50', backend: '10.2.0.5', quote: 28, unreach: [3, 3] },
  { name: 'IPv6', client: 'fd00::5', vip: 'fd00:96::50', backend: 'fd00:2::5', quote: 48, unreach: [1, 4] },
] as const;

describe.skipIf(!kernel)('ClusterIP to-pod program', () => {
  describeEachBuild((dp) => {
    for (const f of FAMILIES) {
      it(`${f.name}: a remote backend's reply is reverse-NATed on its way into the client pod`, () => {
        dp.addService({ vip: f.vip, port: 80, proto: 'tcp', revNatIndex: 51, backends: [{ id: 91, address: f.backend, port: 8080 }] });
        const syn = dp.run(l4Frame(f.client, f.vip, { proto: 'tcp', sport: 46000, dport: 80, flags: SYN }));
        expect(hex(syn.data)).toBe(hex(l4Frame(f.client, f.backend, { proto: 'tcp', sport: 46000, dport: 8080, flags: SYN })));
        const reply = dp.runToPod(l4Frame(f.backend, f.client, { proto: 'tcp', sport: 8080, dport: 46000, flags: SYN | ACK, payload: [1] }));
        expect(reply.retval).toBe(0);
        expect(hex(reply.data)).toBe(hex(l4Frame(f.vip, f.client, { proto: 'tcp', sport: 80, dport: 46000, flags: SYN | ACK, payload: [1] })));
      });

      it(`${f.name}: a reply already reverse-NATed passes unchanged and is only accounted`, () => {
        const pkt = l4Frame(f.vip, f.client, { proto: 'tcp', sport: 80, dport: 46002, flags: ACK });
        const out = dp.runToPod(pkt);
        expect(out.retval).toBe(0);
        expect(hex(out.data)).toBe(hex(pkt));
        const e = dp.ct({ saddr: f.vip, daddr: f.client, sport: 80, dport: 46002, proto: 'tcp', flags: CT_IN })!;
        expect(e.txPackets).toBe(1n);
        expect(e.revNatIndex).toBe(0);
      });

      it(`${f.name}: an ICMP error from a remote backend is translated`, () => {
        dp.addService({ vip: f.vip, port: 53, proto: 'udp', revNatIndex: 52, backends: [{ id: 92, address: f.backend, port: 5353 }] });
        const q = { proto: 'udp' as const, sport: 46003, dport: 53, payload: [3, 1] };
        dp.run(l4Frame(f.client, f.vip, q));
        const natted = ipPacket(f.client, f.backend, 17, segment(f.client, f.backend, { ...q, dport: 5353 }));
        const [type, code] = f.unreach;
        const out = dp.runToPod(icmpErrorFrame(f.backend, f.client, type, code, natted, f.quote));
        const original = ipPacket(f.client, f.vip, 17, segment(f.client, f.vip, q));
        expect(hex(out.data)).toBe(hex(icmpErrorFrame(f.vip, f.client, type, code, original, f.quote)));
      });

      it(`${f.name}: a DNATed request reaching its local backend gets a CT_IN entry`, () => {
        const t0 = monotonicSeconds();
        const pkt = l4Frame(f.client, f.backend, { proto: 'tcp', sport: 46004, dport: 8080, flags: SYN });
        expect(hex(dp.runToPod(pkt).data)).toBe(hex(pkt));
        const key = { saddr: f.client, daddr: f.backend, sport: 46004, dport: 8080, proto: 'tcp' as const, flags: CT_IN };
        const e = dp.ct(key)!;
        expect(e.txPackets).toBe(1n);
        expect(e.txBytes).toBe(BigInt(pkt.length));
        expect(e.lifetime).toBeGreaterThanOrEqual(t0 + CT_LIFETIME_SYN);
        dp.runToPod(l4Frame(f.client, f.backend, { proto: 'tcp', sport: 46004, dport: 8080, flags: ACK }));
        expect(dp.ct(key)!.txPackets).toBe(2n);
        expect(dp.ct(key)!.flags).toBe(CT_F_SEEN_NON_SYN);
      });
    }
  });
});
