/**
 * ICMP errors about NodePort flows (programs/tc/nodeport-icmp.ts), for every
 * profile's build and both families, with BPF_PROG_TEST_RUN inside the node
 * namespace of nodeport-env.ts: a flow is set up with real requests first, then
 * errors about its request (from the backend, from a router) and about its
 * reply (from a router, from the client) are run, and every output is compared
 * byte for byte with one built and checksummed independently
 * (nodeport-icmp-packets.ts). Errors NodePort must not touch pass untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcAct } from '../../dsl/kernel/index.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../programs/lb/schemas.js';
import { npDrops, npFlows4, npFlows6, npPaths } from '../../programs/tc/nodeport-maps.js';
import { NpDrop, NpPath } from '../../programs/tc/nodeport-schemas.js';
import { snat4, snat6 } from '../../programs/tc/snat-maps.js';
import { need } from '../support/env.js';
import { addService, counter, createNodeNs, NET, PROFILES, table, type Bench, type NodeNs, withBench as withNodeBench } from './nodeport-env.js';
import { expectPacket, hashedPort } from './nodeport-expect.js';
import { FORWARDED_TTL, packet } from './nodeport-packets.js';
import {
  ICMP6_PACKET_TOO_BIG, ICMP6_PORT_UNREACH, ICMP6_TIME_EXCEEDED, ICMP6_UNREACH, ICMP_FRAG_NEEDED, ICMP_PORT_UNREACH, ICMP_TIME_EXCEEDED, ICMP_UNREACH,
  icmpError, keepTcpCsum, quote,
} from './nodeport-icmp-packets.js';

const ok = need({ kernel: true });

/** An ICMP error's type, code and rest-of-header word. */
interface Kind {
  readonly type: number;
  readonly code: number;
  readonly rest?: number;
}

const FAMILIES = [
  {
    v6: false, name: 'IPv4', node: NET.node4, client: NET.client4, remote: NET.remote4, pod: NET.pod4, router: NET.gw4, vip: '203.0.113.80', other: NET.lonely4,
    ingress: 'np4_ingress', fromPod: 'np4_from_pod', egress: 'np4_egress', snat: snat4, flows: npFlows4, l3: 20,
    portUnreach: { type: ICMP_UNREACH, code: ICMP_PORT_UNREACH }, tooBig: { type: ICMP_UNREACH, code: ICMP_FRAG_NEEDED, rest: 1400 }, timeExceeded: { type: ICMP_TIME_EXCEEDED, code: 0 },
    echo: { type: 8, code: 0 },
  },
  {
    v6: true, name: 'IPv6', node: NET.node6, client: NET.client6, remote: NET.remote6, pod: NET.pod6, router: NET.gw6, vip: 'fd00:5::80', other: NET.lonely6,
    ingress: 'np6_ingress', fromPod: 'np6_from_pod', egress: 'np6_egress', snat: snat6, flows: npFlows6, l3: 40,
    portUnreach: { type: ICMP6_UNREACH, code: ICMP6_PORT_UNREACH }, tooBig: { type: ICMP6_PACKET_TOO_BIG, code: 0, rest: 1400 }, timeExceeded: { type: ICMP6_TIME_EXCEEDED, code: 0 },
    echo: { type: 128, code: 0 },
  },
] as const;
type Fam = (typeof FAMILIES)[number];

const REV = 7;
const PAYLOAD = [0x71, 0x72, 0x73, 0x74, 0x75];
const PROTOS = [IPPROTO_TCP, IPPROTO_UDP] as const;
const l4Name = (proto: number) => (proto === IPPROTO_TCP ? 'TCP' : 'UDP');

/** A tuple (IP packet fields without MACs) as one end saw it; TTL of a packet the node forwarded. */
interface Tuple {
  readonly saddr: string;
  readonly daddr: string;
  readonly sport: number;
  readonly dport: number;
  readonly proto: 6 | 17;
  readonly noUdpCsum?: boolean;
}
const MAC0 = '00:00:00:00:00:00';
/** The L3 packet `t` (as the node sent it: TTL already down by one), quoted in full or its first `bytes`. */
const quoted = (t: Tuple, bytes?: number) => quote(packet({ ...t, smac: MAC0, dmac: MAC0, ttl: FORWARDED_TTL, payload: PAYLOAD }), bytes);

describe.skipIf(!ok)('NodePort ICMP errors (BPF_PROG_TEST_RUN)', () => {
  let ns: NodeNs;
  beforeAll(() => {
    ns = createNodeNs();
  });
  afterAll(() => ns?.cleanup());

  const withBench = (target: string, fn: (b: Bench) => void) => withNodeBench(target, ns, fn);

  /** Runs `err` through `prog` and expects it redirected as `want`. */
  const translated = (bench: Bench, prog: string, err: Uint8Array, want: Uint8Array, what: string) => {
    const r = bench.run(prog, err);
    expect(r.retval, what).toBe(TcAct.REDIRECT);
    expectPacket(r.data, want, what);
  };
  /** Runs `err` through `prog` and expects it passed untouched (`pass`: TC_ACT_OK, or UNSPEC where the program hands it on). */
  const untouched = (bench: Bench, prog: string, err: Uint8Array, what: string, pass: number = TcAct.OK) => {
    const r = bench.run(prog, err);
    expect(r.retval | 0, what).toBe(pass);
    expectPacket(r.data, err, what);
  };

  /** A remote-backend flow from the client's `cport` (outside the SNAT range: the node-side port differs); its SNAT port. */
  const remoteFlow = (bench: Bench, f: Fam, proto: 6 | 17, cport: number, dport: number = NET.nodePort, daddr: string = f.node): number => {
    const r = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr, sport: cport, dport, proto }));
    expect(r.retval, 'request').toBe(TcAct.REDIRECT);
    return hashedPort(cport, 32768, 65535);
  };

  for (const target of PROFILES) {
    for (const f of FAMILIES) {
      for (const proto of PROTOS) {
        const l4 = l4Name(proto);
        const noCsum = !f.v6 && proto === IPPROTO_UDP;

        it(`${target} ${f.name} ${l4}: errors about a request to a remote backend go back to the client`, () =>
          withBench(target, (bench) => {
            addService(bench, f.v6, { revNatIndex: REV, proto, backends: [{ id: 21, address: f.remote, port: NET.backendPort }] });
            const cport = 1234;
            const snatPort = remoteFlow(bench, f, proto, cport);
            expect(snatPort).not.toBe(cport);
            const sent: Tuple = { saddr: f.node, daddr: f.remote, sport: snatPort, dport: NET.backendPort, proto };
            const asClient: Tuple = { saddr: f.client, daddr: f.node, sport: cport, dport: NET.nodePort, proto };
            const toClient = { ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.clientMac, daddr: f.client };
            // From the backend (port unreachable), the whole request quoted: it comes from the frontend, about client → frontend.
            translated(
              bench, f.ingress,
              icmpError({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, ...f.portUnreach, embedded: quoted(sent) }),
              icmpError({ ...toClient, saddr: f.node, ...f.portUnreach, embedded: keepTcpCsum(quoted(asClient), quoted(sent)) }),
              'port unreachable from the backend',
            );
            // From a router on the way (fragmentation needed / packet too big), the IP header + 8 bytes quoted: the router stays the sender.
            translated(
              bench, f.ingress,
              icmpError({ smac: NET.gwMac, dmac: NET.nodeMac, saddr: f.router, daddr: f.node, ...f.tooBig, embedded: quoted(sent, f.l3 + 8) }),
              icmpError({ ...toClient, saddr: f.router, ...f.tooBig, embedded: quoted(asClient, f.l3 + 8) }),
              'too big from a router',
            );
            translated(
              bench, f.ingress,
              icmpError({ ttl: 30, smac: NET.gwMac, dmac: NET.nodeMac, saddr: f.router, daddr: f.node, ...f.timeExceeded, embedded: quoted(sent, f.l3 + 12) }),
              icmpError({ ...toClient, ttl: 29, saddr: f.router, ...f.timeExceeded, embedded: keepTcpCsum(quoted(asClient, f.l3 + 12), quoted(sent, f.l3 + 12)) }),
              'time exceeded from a router',
            );
            let errors = 3n;
            if (noCsum) {
              // An embedded UDP datagram without checksum keeps 0.
              translated(
                bench, f.ingress,
                icmpError({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, ...f.portUnreach, embedded: quoted({ ...sent, noUdpCsum: true }) }),
                icmpError({ ...toClient, saddr: f.node, ...f.portUnreach, embedded: quoted({ ...asClient, noUdpCsum: true }) }),
                'embedded UDP without checksum',
              );
              errors++;
            }
            expect(counter(bench, npPaths, NpPath.ICMP_ERROR)).toBe(errors);
            expect(counter(bench, npPaths, NpPath.FIB)).toBe(1n + errors);
          }));

        it(`${target} ${f.name} ${l4}: errors about a reply from a remote backend go to the backend`, () =>
          withBench(target, (bench) => {
            addService(bench, f.v6, { revNatIndex: REV, proto, backends: [{ id: 21, address: f.remote, port: NET.backendPort }] });
            const cport = 1240;
            const snatPort = remoteFlow(bench, f, proto, cport);
            const reply = bench.run(f.ingress, packet({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: snatPort, proto }));
            expect(reply.retval, 'reply').toBe(TcAct.REDIRECT);
            const sent: Tuple = { saddr: f.node, daddr: f.client, sport: NET.nodePort, dport: cport, proto };
            const asBackend: Tuple = { saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: snatPort, proto };
            const toBackend = { ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.remoteMac, daddr: f.remote };
            // A router between node and client: the backend learns the path MTU towards the node; the router stays the sender.
            translated(
              bench, f.ingress,
              icmpError({ smac: NET.gwMac, dmac: NET.nodeMac, saddr: f.router, daddr: f.node, ...f.tooBig, embedded: quoted(sent) }),
              icmpError({ ...toBackend, saddr: f.router, ...f.tooBig, embedded: keepTcpCsum(quoted(asBackend), quoted(sent)) }),
              'too big from a router',
            );
            // The client itself (port unreachable): it is the embedded destination, now the node.
            translated(
              bench, f.ingress,
              icmpError({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, ...f.portUnreach, embedded: quoted(sent, f.l3 + 8) }),
              icmpError({ ...toBackend, saddr: f.node, ...f.portUnreach, embedded: quoted(asBackend, f.l3 + 8) }),
              'port unreachable from the client',
            );
            expect(counter(bench, npPaths, NpPath.ICMP_ERROR)).toBe(2n);
          }));

        it(`${target} ${f.name} ${l4}: a local backend's errors about requests go to the client; errors about its replies go to the pod`, () =>
          withBench(target, (bench) => {
            addService(bench, f.v6, { revNatIndex: REV, proto, backends: [{ id: 11, address: f.pod, port: NET.backendPort, local: true }] });
            const cport = 40001;
            const r = bench.run(f.ingress, packet({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, sport: cport, dport: NET.nodePort, proto }));
            expect(r.retval, 'request').toBe(TcAct.REDIRECT);
            // The pod has no listener: its port unreachable (on its veth) comes from the frontend, about client → frontend.
            translated(
              bench, f.fromPod,
              icmpError({ smac: NET.podMac, dmac: NET.vethMac, saddr: f.pod, daddr: f.client, ...f.portUnreach, embedded: quoted({ saddr: f.client, daddr: f.pod, sport: cport, dport: NET.backendPort, proto }) }),
              icmpError({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.clientMac, saddr: f.node, daddr: f.client, ...f.portUnreach, embedded: keepTcpCsum(quoted({ saddr: f.client, daddr: f.node, sport: cport, dport: NET.nodePort, proto }), quoted({ saddr: f.client, daddr: f.pod, sport: cport, dport: NET.backendPort, proto })) }),
              'port unreachable from the local backend',
            );
            // About a reply to the client (not SNATed: the client stays the embedded destination), to the pod on its veth.
            const sent: Tuple = { saddr: f.node, daddr: f.client, sport: NET.nodePort, dport: cport, proto };
            const asPod: Tuple = { saddr: f.pod, daddr: f.client, sport: NET.backendPort, dport: cport, proto };
            const toPod = { ttl: FORWARDED_TTL, smac: NET.vethMac, dmac: NET.podMac, daddr: f.pod };
            translated(
              bench, f.ingress,
              icmpError({ smac: NET.gwMac, dmac: NET.nodeMac, saddr: f.router, daddr: f.node, ...f.tooBig, embedded: quoted(sent, f.l3 + 8) }),
              icmpError({ ...toPod, saddr: f.router, ...f.tooBig, embedded: quoted(asPod, f.l3 + 8) }),
              'too big from a router to the pod',
            );
            translated(
              bench, f.ingress,
              icmpError({ smac: NET.clientMac, dmac: NET.nodeMac, saddr: f.client, daddr: f.node, ...f.portUnreach, embedded: quoted(sent) }),
              icmpError({ ...toPod, saddr: f.client, ...f.portUnreach, embedded: keepTcpCsum(quoted(asPod), quoted(sent)) }),
              'port unreachable from the client to the pod',
            );
            expect(counter(bench, npPaths, NpPath.ICMP_ERROR)).toBe(3n);
          }));
      }

      it(`${target} ${f.name}: an ExternalIP frontend is restored in errors to the client and found for errors about its replies`, () =>
        withBench(target, (bench) => {
          addService(bench, f.v6, { revNatIndex: 51, port: 80, address: f.vip, backends: [{ id: 51, address: f.remote, port: NET.backendPort }] });
          const cport = 1250;
          const snatPort = remoteFlow(bench, f, IPPROTO_TCP, cport, 80, f.vip);
          translated(
            bench, f.ingress,
            icmpError({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, ...f.portUnreach, embedded: quoted({ saddr: f.node, daddr: f.remote, sport: snatPort, dport: NET.backendPort, proto: 6 }, f.l3 + 8) }),
            icmpError({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.clientMac, saddr: f.vip, daddr: f.client, ...f.portUnreach, embedded: quoted({ saddr: f.client, daddr: f.vip, sport: cport, dport: 80, proto: 6 }, f.l3 + 8) }),
            'from the backend: from the external address',
          );
          translated(
            bench, f.ingress,
            icmpError({ smac: NET.gwMac, dmac: NET.nodeMac, saddr: f.router, daddr: f.vip, ...f.tooBig, embedded: quoted({ saddr: f.vip, daddr: f.client, sport: 80, dport: cport, proto: 6 }, f.l3 + 8) }),
            icmpError({ ttl: FORWARDED_TTL, smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.router, daddr: f.remote, ...f.tooBig, embedded: quoted({ saddr: f.remote, daddr: f.node, sport: NET.backendPort, dport: snatPort, proto: 6 }, f.l3 + 8) }),
            'about a reply from the external address',
          );
        }));

      it(`${target} ${f.name}: errors NodePort must not translate pass untouched; one with TTL 1 is dropped`, () =>
        withBench(target, (bench) => {
          addService(bench, f.v6, { revNatIndex: REV, proto: IPPROTO_UDP, backends: [{ id: 21, address: f.remote, port: NET.backendPort }] });
          const cport = 1260;
          const snatPort = remoteFlow(bench, f, IPPROTO_UDP, cport);
          const sent: Tuple = { saddr: f.node, daddr: f.remote, sport: snatPort, dport: NET.backendPort, proto: 17 };
          const fromBackend = (embedded: Uint8Array, kind: Kind = f.portUnreach, daddr: string = f.node) =>
            icmpError({ smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr, ...kind, embedded });
          // Less than the embedded IP header + 8 bytes.
          untouched(bench, f.ingress, fromBackend(quoted(sent, f.l3 + 7)), 'embedded packet too short');
          untouched(bench, f.ingress, fromBackend(quoted(sent, f.l3)), 'embedded IP header alone');
          // No flow: another node port, another client port.
          untouched(bench, f.ingress, fromBackend(quoted({ ...sent, sport: snatPort + 1 })), 'unknown flow');
          untouched(bench, f.ingress, fromBackend(quoted({ ...sent, proto: 6 })), 'unknown flow (other protocol)');
          untouched(bench, f.ingress, icmpError({ smac: NET.gwMac, dmac: NET.nodeMac, saddr: f.router, daddr: f.node, ...f.tooBig, embedded: quoted({ saddr: f.node, daddr: f.client, sport: NET.nodePort, dport: cport + 1, proto: 17 }) }), 'reply of an unknown flow');
          // Not an error (echo request with a quoted-looking body), or not to the embedded source.
          untouched(bench, f.ingress, fromBackend(quoted(sent), f.echo), 'echo request');
          untouched(bench, f.ingress, fromBackend(quoted(sent), f.portUnreach, f.other), 'to another address than the embedded source');
          if (!f.v6) {
            const opts = quoted(sent);
            opts[0] = 0x46;
            untouched(bench, f.ingress, fromBackend(opts), 'embedded IPv4 header with options');
            const frag = quoted(sent);
            frag[7] = 0x10; // fragment offset 16
            untouched(bench, f.ingress, fromBackend(frag), 'embedded later fragment');
          }
          // The node's own flow (registered on egress) to the backend: its errors are the node's.
          const host = packet({ smac: NET.nodeMac, dmac: NET.remoteMac, saddr: f.node, daddr: f.remote, sport: 40003, dport: NET.backendPort, proto: IPPROTO_UDP });
          expect(bench.run(f.egress, host).retval).toBe(TcAct.OK);
          untouched(bench, f.ingress, fromBackend(quote(host)), 'error about a host flow');
          // From the pod's veth only errors about NodePort requests are handled; the rest goes on to the next program there (tc ClusterIP).
          untouched(bench, f.fromPod, icmpError({ smac: NET.podMac, dmac: NET.vethMac, saddr: f.pod, daddr: f.node, ...f.portUnreach, embedded: quoted({ saddr: f.node, daddr: f.pod, sport: 40004, dport: NET.backendPort, proto: 17 }) }), 'unknown flow from a pod', TcAct.UNSPEC);
          untouched(bench, f.fromPod, icmpError({ smac: NET.podMac, dmac: NET.vethMac, saddr: f.pod, daddr: f.client, ...f.portUnreach, embedded: quoted({ saddr: f.client, daddr: f.pod, sport: 40005, dport: NET.backendPort, proto: 17 }, f.l3 + 7) }), 'too short from a pod', TcAct.UNSPEC);
          expect(counter(bench, npPaths, NpPath.ICMP_ERROR)).toBe(0n);
          // The node forwards the error: with TTL 1 it is dropped and counted, untouched.
          const last = icmpError({ ttl: 1, smac: NET.remoteMac, dmac: NET.nodeMac, saddr: f.remote, daddr: f.node, ...f.portUnreach, embedded: quoted(sent) });
          const r = bench.run(f.ingress, last);
          expect(r.retval).toBe(TcAct.SHOT);
          expectPacket(r.data, last, 'TTL 1 dropped untouched');
          expect(counter(bench, npDrops, NpDrop.TTL_EXCEEDED)).toBe(1n);
          expect(table(bench, f.snat).entries()).toHaveLength(3);
          expect(table(bench, f.flows).entries()).toHaveLength(1);
        }));
    }
  }
});
