/**
 * IPv4 forward translation, shared by `connect4` (TCP, connected UDP) and
 * `sendmsg4` (unconnected UDP) — and by connect6/sendmsg6 for IPv4-mapped
 * destinations (`::ffff:a.b.c.d`, dual-stack sockets): service lookup on the
 * destination the application asked for, backend selection, rewrite of the
 * socket address, and the socket reverse-NAT entry that recvmsg/getpeername read back.
 */
import type { B, Place, SockAddrCtx, Value } from '../../dsl/program/index.js';
import { u8, u16 } from '../../dsl/types/index.js';
import { backends4, nodeAddrs4, services4, sockBackend4, sockRevNat4 } from '../lb/maps.js';
import { IPPROTO_TCP, IPPROTO_UDP, ServiceKey4, SockRevNat4, SockRevNatKey4 } from '../lb/schemas.js';
import { sessionAffinity } from './affinity.js';
import { ATTEMPTS, pickSlot, refuse, skipForeignNetns } from './common.js';
import type { SocketLbFeatures } from './features.js';
import type { ResolvedSocketLbOptions } from './options.js';

/** 127.0.0.0/8. */
const LOOPBACK4 = 0x7f000000;
const LOOPBACK4_MASK = 0xff000000;

/** The socket-address fields an IPv4 translation reads and rewrites. */
export interface Dest4 {
  readonly protocol: Value<'u32'>;
  readonly port: Place<'be16', 'ctx'>;
  /** The IPv4 address: `user_ip4`, or word 3 of an IPv4-mapped `user_ip6`. */
  readonly address: Place<'be32', 'ctx'>;
  /** The program's context (for bpf_get_netns_cookie). */
  readonly ctx: object;
}

/** Leaves the program for anything but TCP and UDP. */
export function onlyTcpUdp(b: B, proto: Value<'u32'>): void {
  b.if(proto.ne(IPPROTO_TCP).and(proto.ne(IPPROTO_UDP)), () => b.return(1));
}

/** The body of connect4/sendmsg4 for `o` on a target with features `f`. */
export function forward4(b: B, ctx: SockAddrCtx<'connect4'> | SockAddrCtx<'sendmsg4'>, o: ResolvedSocketLbOptions, f: SocketLbFeatures): void {
  skipForeignNetns(b, ctx, o);
  onlyTcpUdp(b, ctx.protocol);
  translate4(b, { protocol: ctx.protocol, port: ctx.user_port, address: ctx.user_ip4, ctx }, o, f);
}

/** Service lookup, backend choice and rewrite of `d`; every path ends the program. */
export function translate4(b: B, d: Dest4, o: ResolvedSocketLbOptions, f: SocketLbFeatures): void {
  const proto = d.protocol;
  const key = b.local(ServiceKey4, { address: d.address, port: d.port, proto: proto.to(u8) });

  if (o.nodePorts) {
    // NodePort from the node itself: loopback or a node address, a node port, and no
    // exact frontend there ⇒ the wildcard frontend (address 0.0.0.0).
    const { first, last } = o.nodePorts;
    const port = d.port.to(u16);
    b.if(port.ge(first).and(port.le(last)), () => {
      const local = b.let(u8, 0);
      b.if(
        d.address.and(LOOPBACK4_MASK).eq(LOOPBACK4),
        () => local.set(1),
        () => b.lookup(nodeAddrs4, key.address).ifPresent(() => local.set(1)),
      );
      b.if(local.ne(0), () => b.lookup(services4, key).ifPresent(() => {}, () => key.address.set(0)));
    });
  }

  const cookie = b.socketCookie();
  const affinity = f.affinity ? sessionAffinity(b, d.ctx, 4) : undefined;
  // A slot or backend can vanish between reading the frontend and the slot when the
  // manager shrinks the service right then; the second attempt reads the new count.
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    key.backendSlot.set(0);
    const svc = b.lookup(services4, key).orReturn(1);
    b.if(svc.count.eq(0), () => refuse(b, f));
    const random = () => pickSlot(b, proto, cookie, svc.count);
    // Affinity on the first attempt only: a retry happens under a shrink, where a fresh pick is as good.
    if (affinity && attempt === 0) affinity.pick(svc, key.backendSlot, () => b.lookup(services4, key), random);
    else key.backendSlot.set(random());
    b.lookup(services4, key).ifPresent((entry) => {
      b.lookup(backends4, entry.backendId).ifPresent((be) => {
        // What the application asked for, kept for replies and getpeername.
        const frontend = b.local(SockRevNat4, { address: d.address, port: d.port, revNatIndex: svc.revNatIndex });
        d.address.set(be.address);
        d.port.set(be.port);
        const remember = () => {
          b.update(sockRevNat4, b.local(SockRevNatKey4, { cookie, address: be.address, port: be.port }), frontend);
          if (f.release) b.update(sockBackend4, cookie, { address: be.address, port: be.port });
        };
        // UDP replies need the entry (recvmsg); TCP only for getpeername.
        if (f.getpeername) remember();
        else if (f.recvmsg) b.if(proto.eq(IPPROTO_UDP), remember);
        affinity?.remember(key.backendSlot, entry.backendId);
        b.return(1);
      });
    });
  }
  // Still no backend: the service is being changed; refuse rather than send to the VIP.
  refuse(b, f);
}
