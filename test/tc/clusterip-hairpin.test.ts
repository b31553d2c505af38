/**
 * Hairpin: a pod reaching its own service and picked as the backend. For every
 * profile's build and both families the request's source becomes the loopback
 * address (so the pod accepts a packet "from someone else"), the reply's
 * destination becomes the pod again and its source the frontend, both go back
 * out of the interface they came from (TC_ACT_REDIRECT) with the Ethernet
 * addresses swapped (the frame was addressed to the gateway side), with exact
 * checksums.
 */
import { describe, expect, it } from 'vitest';
import { CT_F_LB_LOOPBACK, CT_OUT } from '../../programs/tc/conntrack-schemas.js';
import { TC_ACT_REDIRECT } from '../../programs/tc/conntrack-drops.js';
import { HAIRPIN_IPV4, HAIRPIN_IPV6 } from '../../programs/tc/parse-family.js';
import { need } from '../support/env.js';
import { describeEachBuild, type Datapath } from './clusterip-harness.js';
import { ACK, l4Frame, SYN } from './clusterip-packets.js';

const kernel = need({ kernel: true });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const FAMILIES = [
  { name: 'IPv4', pod: '10.0.0.4', vip: '10.96.0.40', loopback: HAIRPIN_IPV4 },
  { name: 'IPv6', pod: 'fd00::4', vip: 'fd00:96::40', loopback: HAIRPIN_IPV6 },
] as const;

describe.skipIf(!kernel)('ClusterIP hairpin', () => {
  describeEachBuild((dp) => {
    for (const f of FAMILIES) {
      for (const proto of ['tcp', 'udp'] as const) {
        it(`${f.name} ${proto}: the pod reaches itself through its service`, () => {
          dp.addService({ vip: f.vip, port: 80, proto, revNatIndex: 41, backends: [{ id: 81, address: f.pod, port: 8080 }] });
          const flags = proto === 'tcp' ? { flags: SYN } : {};
          const out = dp.run(l4Frame(f.pod, f.vip, { proto, sport: 45000, dport: 80, payload: [4, 2], ...flags }));
          expect(out.retval).toBe(TC_ACT_REDIRECT);
          expect(hex(out.data)).toBe(hex(l4Frame(f.loopback, f.pod, { proto, sport: 45000, dport: 8080, payload: [4, 2], ...flags }, true)));
          const e = dp.ct({ saddr: f.loopback, daddr: f.pod, sport: 45000, dport: 8080, proto, flags: CT_OUT })!;
          expect(e.flags & CT_F_LB_LOOPBACK).toBe(CT_F_LB_LOOPBACK);
          expect(e.revNatIndex).toBe(41);

          const replyFlags = proto === 'tcp' ? { flags: SYN | ACK } : {};
          const back = dp.run(l4Frame(f.pod, f.loopback, { proto, sport: 8080, dport: 45000, payload: [7], ...replyFlags }));
          expect(back.retval).toBe(TC_ACT_REDIRECT);
          expect(hex(back.data)).toBe(hex(l4Frame(f.vip, f.pod, { proto, sport: 80, dport: 45000, payload: [7], ...replyFlags }, true)));
          expect(dp.ct({ saddr: f.loopback, daddr: f.pod, sport: 45000, dport: 8080, proto, flags: CT_OUT })!.rxPackets).toBe(1n);
        });
      }
    }
  });
});
