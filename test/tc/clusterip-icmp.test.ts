/**
 * ICMP errors through the ClusterIP NAT (CT_RELATED), for every profile's build
 * and both families: a port unreachable from the backend about a DNATed UDP
 * datagram reaches the client from the frontend, quoting the datagram the client
 * sent (embedded IPv4 and UDP checksums restored); a time exceeded from a
 * router about a TCP segment keeps the router as sender and quotes the
 * frontend, as does a packet too big (IPv6) or fragmentation needed (IPv4) with
 * its MTU; a port unreachable from the client about a reply it got from the
 * frontend reaches the backend, quoting the reply the backend sent; errors about
 * flows the datapath does not know pass untouched.
 * Expected frames are built from scratch, the ICMP checksum included.
 */
import { describe, expect, it } from 'vitest';
import { CT_RELATED } from '../../programs/tc/conntrack-schemas.js';
import { need } from '../support/env.js';
import { describeEachBuild, type Datapath } from './clusterip-harness.js';
import { icmpErrorFrame, ipPacket, l4Frame, segment, SYN, type Segment } from './clusterip-packets.js';

const kernel = need({ kernel: true });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const FAMILIES = [
  { name: 'IPv4', client: '10.0.0.3', vip: '10.96.0.30', backend: '10.1.0.11', router: '10.0.0.254', unreach: [3, 3], exceeded: [11, 0], tooBig: [3, 4], quote: 28 },
  { name: 'IPv6', client: 'fd00::3', vip: 'fd00:96::30', backend: 'fd00:1::11', router: 'fd00::fe', unreach: [1, 4], exceeded: [3, 0], tooBig: [2, 0], quote: 48 },
] as const;

/** The IP packet (no Ethernet) `src` sent to `dst`. */
const sent = (src: string, dst: string, s: Segment) => ipPacket(src, dst, s.proto === 'tcp' ? 6 : 17, segment(src, dst, s));

describe.skipIf(!kernel)('ICMP errors through the ClusterIP NAT', () => {
  describeEachBuild((dp) => {
    for (const f of FAMILIES) {
      it(`${f.name}: port unreachable from the backend about a UDP datagram`, () => {
        dp.addService({ vip: f.vip, port: 53, proto: 'udp', revNatIndex: 31, backends: [{ id: 71, address: f.backend, port: 5353 }] });
        const q: Segment = { proto: 'udp', sport: 44000, dport: 53, payload: [1, 2, 3, 4, 5] };
        const natted: Segment = { ...q, dport: 5353 };
        expect(hex(dp.run(l4Frame(f.client, f.vip, q)).data)).toBe(hex(l4Frame(f.client, f.backend, natted)));
        const related = dp.ct({ saddr: f.client, daddr: f.backend, sport: 44000, dport: 5353, proto: 'udp', flags: CT_RELATED })!;
        expect(related.revNatIndex).toBe(31);
        const [type, code] = f.unreach;
        const err = icmpErrorFrame(f.backend, f.client, type, code, sent(f.client, f.backend, natted), f.quote);
        const out = dp.run(err);
        expect(out.retval).toBe(0);
        expect(hex(out.data)).toBe(hex(icmpErrorFrame(f.vip, f.client, type, code, sent(f.client, f.vip, q), f.quote)));
        expect(dp.ct({ saddr: f.client, daddr: f.backend, sport: 44000, dport: 5353, proto: 'udp', flags: CT_RELATED })!.rxPackets).toBe(1n);
      });

      it(`${f.name}: the whole datagram quoted is translated too`, () => {
        dp.addService({ vip: f.vip, port: 53, proto: 'udp', revNatIndex: 31, backends: [{ id: 71, address: f.backend, port: 5353 }] });
        const q: Segment = { proto: 'udp', sport: 44001, dport: 53, payload: [9, 8, 7, 6, 5, 4, 3, 2, 1] };
        dp.run(l4Frame(f.client, f.vip, q));
        const natted = sent(f.client, f.backend, { ...q, dport: 5353 });
        const [type, code] = f.unreach;
        const out = dp.run(icmpErrorFrame(f.backend, f.client, type, code, natted, natted.length));
        const original = sent(f.client, f.vip, q);
        expect(hex(out.data)).toBe(hex(icmpErrorFrame(f.vip, f.client, type, code, original, original.length)));
      });

      it(`${f.name}: time exceeded from a router about a TCP segment keeps the router as sender`, () => {
        dp.addService({ vip: f.vip, port: 80, proto: 'tcp', revNatIndex: 32, backends: [{ id: 72, address: f.backend, port: 8080 }] });
        const s: Segment = { proto: 'tcp', sport: 44100, dport: 80, flags: SYN };
        dp.run(l4Frame(f.client, f.vip, s));
        const natted = sent(f.client, f.backend, { ...s, dport: 8080 });
        const [type, code] = f.exceeded;
        const out = dp.run(icmpErrorFrame(f.router, f.client, type, code, natted, f.quote));
        expect(out.retval).toBe(0);
        expect(hex(out.data)).toBe(hex(icmpErrorFrame(f.router, f.client, type, code, sent(f.client, f.vip, s), f.quote)));
      });

      it(`${f.name}: ${f.name === 'IPv6' ? 'packet too big' : 'fragmentation needed'} from a router about a TCP segment: the MTU kept, the frontend quoted`, () => {
        dp.addService({ vip: f.vip, port: 80, proto: 'tcp', revNatIndex: 32, backends: [{ id: 72, address: f.backend, port: 8080 }] });
        const s: Segment = { proto: 'tcp', sport: 44200, dport: 80, flags: SYN };
        dp.run(l4Frame(f.client, f.vip, s));
        const natted = sent(f.client, f.backend, { ...s, dport: 8080 });
        const [type, code] = f.tooBig;
        const mtu = f.name === 'IPv6' ? 1280 : 1400;
        const out = dp.run(icmpErrorFrame(f.router, f.client, type, code, natted, f.quote, mtu));
        expect(out.retval).toBe(0);
        expect(hex(out.data)).toBe(hex(icmpErrorFrame(f.router, f.client, type, code, sent(f.client, f.vip, s), f.quote, mtu)));
        expect(dp.ct({ saddr: f.client, daddr: f.backend, sport: 44200, dport: 8080, proto: 'tcp', flags: CT_RELATED })!.rxPackets).toBe(1n);
      });

      it(`${f.name}: port unreachable from the client about a reply reaches the backend`, () => {
        dp.addService({ vip: f.vip, port: 53, proto: 'udp', revNatIndex: 31, backends: [{ id: 71, address: f.backend, port: 5353 }] });
        const q: Segment = { proto: 'udp', sport: 44600, dport: 53, payload: [1] };
        dp.run(l4Frame(f.client, f.vip, q));
        const answer: Segment = { proto: 'udp', sport: 5353, dport: 44600, payload: [2, 3] };
        const received = dp.run(l4Frame(f.backend, f.client, answer));
        expect(hex(received.data)).toBe(hex(l4Frame(f.vip, f.client, { ...answer, sport: 53 })));
        const [type, code] = f.unreach;
        const out = dp.run(icmpErrorFrame(f.client, f.vip, type, code, sent(f.vip, f.client, { ...answer, sport: 53 }), f.quote));
        expect(out.retval).toBe(0);
        expect(hex(out.data)).toBe(hex(icmpErrorFrame(f.client, f.backend, type, code, sent(f.backend, f.client, answer), f.quote)));
      });

      it(`${f.name}: an error about an unknown flow passes untouched`, () => {
        const stray = sent(f.client, f.backend, { proto: 'udp', sport: 44999, dport: 5353 });
        const [type, code] = f.unreach;
        const err = icmpErrorFrame(f.backend, f.client, type, code, stray, f.quote);
        const out = dp.run(err);
        expect(out.retval).toBe(0);
        expect(hex(out.data)).toBe(hex(err));
      });
    }

    it('IPv4: an embedded UDP datagram without a checksum keeps it zero', () => {
      const f = FAMILIES[0];
      dp.addService({ vip: f.vip, port: 53, proto: 'udp', revNatIndex: 31, backends: [{ id: 71, address: f.backend, port: 5353 }] });
      const q: Segment = { proto: 'udp', sport: 44002, dport: 53, payload: [1], noChecksum: true };
      dp.run(l4Frame(f.client, f.vip, q));
      const out = dp.run(icmpErrorFrame(f.backend, f.client, 3, 3, sent(f.client, f.backend, { ...q, dport: 5353 })));
      expect(hex(out.data)).toBe(hex(icmpErrorFrame(f.vip, f.client, 3, 3, sent(f.client, f.vip, q))));
    });
  });
});
