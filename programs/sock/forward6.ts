/**
 * IPv6 forward translation, shared by `connect6` and `sendmsg6`: the IPv6 twin of
 * forward4.ts (loopback is ::1; node addresses come from `lb6_node_addrs`).
 * IPv4-mapped destinations (`::ffff:a.b.c.d`) go through the IPv4 tables.
 */
import type { B, Cond, SockAddrCtx, Value } from '../../dsl/program/index.js';
import { ipv6, u8, u16 } from '../../dsl/types/index.js';
import { backends6, nodeAddrs6, services6, sockBackend6, sockRevNat6 } from '../lb/maps.js';
import { IPPROTO_UDP, ServiceKey6, SockRevNat6, SockRevNatKey6 } from '../lb/schemas.js';
import { onlyTcpUdp, translate4 } from './forward4.js';
import { sessionAffinity } from './affinity.js';
import { ATTEMPTS, pickSlot, refuse, skipForeignNetns } from './common.js';
import type { SocketLbFeatures } from './features.js';
import type { ResolvedSocketLbOptions } from './options.js';

/** The body of connect6/sendmsg6 for `o` on a target with features `f`. */
export function forward6(b: B, ctx: SockAddrCtx<'connect6'> | SockAddrCtx<'sendmsg6'>, o: ResolvedSocketLbOptions, f: SocketLbFeatures): void {
  skipForeignNetns(b, ctx, o);
  const proto = ctx.protocol;
  onlyTcpUdp(b, proto);
  // A dual-stack socket dialling an IPv4 service: the IPv4 tables, on word 3.
  if (o.ipv4) b.if(isV4Mapped(ctx.user_ip6), () => translate4(b, { protocol: proto, port: ctx.user_port, address: ctx.user_ip6.at(3), ctx }, o, f));
  const key = b.local(ServiceKey6, { port: ctx.user_port, proto: proto.to(u8) });
  key.address.set(ctx.user_ip6);

  if (o.nodePorts) {
    const { first, last } = o.nodePorts;
    const port = ctx.user_port.to(u16);
    b.if(port.ge(first).and(port.le(last)), () => {
      const local = b.let(u8, 0);
      const ip = ctx.user_ip6;
      b.if(
        ip.at(0).eq(0).and(ip.at(1).eq(0)).and(ip.at(2).eq(0)).and(ip.at(3).eq(1)),
        () => local.set(1),
        () => {
          const addr = b.local(ipv6);
          addr.set(ip);
          b.lookup(nodeAddrs6, addr).ifPresent(() => local.set(1));
        },
      );
      b.if(local.ne(0), () =>
        b.lookup(services6, key).ifPresent(
          () => {},
          () => key.address.set(b.local(ipv6)),
        ),
      );
    });
  }

  const cookie = b.socketCookie();
  const affinity = f.affinity ? sessionAffinity(b, ctx, 6) : undefined;
  // As in translate4: a second attempt when a slot or backend vanished under a shrink.
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    key.backendSlot.set(0);
    const svc = b.lookup(services6, key).orReturn(1);
    b.if(svc.count.eq(0), () => refuse(b, f));
    const random = () => pickSlot(b, proto, cookie, svc.count);
    // Affinity on the first attempt only: a retry happens under a shrink, where a fresh pick is as good.
    if (affinity && attempt === 0) affinity.pick(svc, key.backendSlot, () => b.lookup(services6, key), random);
    else key.backendSlot.set(random());
    b.lookup(services6, key).ifPresent((entry) => {
      b.lookup(backends6, entry.backendId).ifPresent((be) => {
        const frontend = b.local(SockRevNat6, { port: ctx.user_port, revNatIndex: svc.revNatIndex });
        frontend.address.set(ctx.user_ip6);
        ctx.user_ip6.set(be.address);
        ctx.user_port.set(be.port);
        const remember = () => {
          const rk = b.local(SockRevNatKey6, { cookie, port: be.port });
          rk.address.set(be.address);
          b.update(sockRevNat6, rk, frontend);
          if (f.release) {
            const last = b.local(sockBackend6.value, { port: be.port });
            last.address.set(be.address);
            b.update(sockBackend6, cookie, last);
          }
        };
        if (f.getpeername) remember();
        else if (f.recvmsg) b.if(proto.eq(IPPROTO_UDP), remember);
        affinity?.remember(key.backendSlot, entry.backendId);
        b.return(1);
      });
    });
  }
  refuse(b, f);
}

/** `::ffff:0:0/96`: an IPv4 address on an IPv6 socket. */
export function isV4Mapped(ip: { at(i: 0 | 1 | 2 | 3): Value<'be32'> }): Cond {
  return ip.at(0).eq(0).and(ip.at(1).eq(0)).and(ip.at(2).eq(0xffff));
}
