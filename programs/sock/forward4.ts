/**
 * IPv4 forward translation, shared by `connect4` (TCP, connected UDP) and
 * `sendmsg4` (unconnected UDP): service lookup on the destination the
 * application asked for, backend selection, rewrite of the socket address, and
 * the socket reverse-NAT entry that recvmsg4/getpeername4 read back.
 */
import type { B, SockAddrCtx } from '../../dsl/program/index.js';
import { u8, u16 } from '../../dsl/types/index.js';
import { backends4, nodeAddrs4, services4, sockBackend4, sockRevNat4 } from '../lb/maps.js';
import { IPPROTO_TCP, IPPROTO_UDP, ServiceKey4, SockRevNat4, SockRevNatKey4 } from '../lb/schemas.js';
import { pickSlot, refuse, skipForeignNetns } from './common.js';
import type { SocketLbFeatures } from './features.js';
import type { ResolvedSocketLbOptions } from './options.js';

/** 127.0.0.0/8. */
const LOOPBACK4 = 0x7f000000;
const LOOPBACK4_MASK = 0xff000000;

/** The body of connect4/sendmsg4 for `o` on a target with features `f`. */
export function forward4(b: B, ctx: SockAddrCtx<'connect4'> | SockAddrCtx<'sendmsg4'>, o: ResolvedSocketLbOptions, f: SocketLbFeatures): void {
  skipForeignNetns(b, ctx, o);
  const proto = ctx.protocol;
  b.if(proto.ne(IPPROTO_TCP).and(proto.ne(IPPROTO_UDP)), () => b.return(1));
  const key = b.local(ServiceKey4, { address: ctx.user_ip4, port: ctx.user_port, proto: proto.to(u8) });

  if (o.nodePorts) {
    // NodePort from the node itself: loopback or a node address, a node port, and no
    // exact frontend there ⇒ the wildcard frontend (address 0.0.0.0).
    const { first, last } = o.nodePorts;
    const port = ctx.user_port.to(u16);
    b.if(port.ge(first).and(port.le(last)), () => {
      const local = b.let(u8, 0);
      b.if(
        ctx.user_ip4.and(LOOPBACK4_MASK).eq(LOOPBACK4),
        () => local.set(1),
        () => b.lookup(nodeAddrs4, key.address).ifPresent(() => local.set(1)),
      );
      b.if(local.ne(0), () => b.lookup(services4, key).ifPresent(() => {}, () => key.address.set(0)));
    });
  }

  const svc = b.lookup(services4, key).orReturn(1);
  b.if(svc.count.eq(0), () => refuse(b, f));
  const cookie = b.socketCookie();
  key.backendSlot.set(pickSlot(b, proto, cookie, svc.count));
  b.lookup(services4, key).ifPresent((slot) => {
    b.lookup(backends4, slot.backendId).ifPresent((be) => {
      // What the application asked for, kept for replies and getpeername.
      const frontend = b.local(SockRevNat4, { address: ctx.user_ip4, port: ctx.user_port, revNatIndex: svc.revNatIndex });
      ctx.user_ip4.set(be.address);
      ctx.user_port.set(be.port);
      const remember = () => {
        b.update(sockRevNat4, b.local(SockRevNatKey4, { cookie, address: be.address, port: be.port }), frontend);
        if (f.release) b.update(sockBackend4, cookie, { address: be.address, port: be.port });
      };
      // UDP replies need the entry (recvmsg4); TCP only for getpeername4.
      if (f.getpeername) remember();
      else if (f.recvmsg) b.if(proto.eq(IPPROTO_UDP), remember);
      b.return(1);
    });
  });
  // A slot or backend missing: the service is being changed; refuse rather than send to the VIP.
  refuse(b, f);
}
