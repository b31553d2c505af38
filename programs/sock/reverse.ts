/**
 * Reverse translation for `recvmsg4/6` (the source of a UDP reply) and
 * `getpeername4/6` (the peer of a translated socket): when this socket's cookie
 * and the backend it talks to have a socket reverse-NAT entry, the address the
 * application sees becomes the frontend it asked for. A socket that talked to the
 * backend directly has no entry (its cookie was never recorded), so it is left
 * alone. The entry only counts while its service exists: the service's reverse-NAT
 * entry (by `revNatIndex`) must still name the same port and address (or the
 * wildcard, for NodePort frontends reached at a local address). IPv6 sockets with
 * IPv4-mapped peers use the IPv4 entries.
 */
import type { B, Place, SockAddrCtx } from '../../dsl/program/index.js';
import { isV4Mapped } from './forward6.js';
import { revNat4, revNat6, sockRevNat4, sockRevNat6 } from '../lb/maps.js';
import { SockRevNatKey4, SockRevNatKey6 } from '../lb/schemas.js';

/** The body of recvmsg4/getpeername4 (these hooks must return 1). */
export function reverse4(b: B, ctx: SockAddrCtx<'recvmsg4'> | SockAddrCtx<'getpeername4'>): void {
  restore4(b, ctx.user_ip4, ctx.user_port);
}

/** Restores the IPv4 frontend of (`address`, `port`) if this socket has one; ends the program. */
function restore4(b: B, address: Place<'be32', 'ctx'>, port: Place<'be16', 'ctx'>): void {
  const key = b.local(SockRevNatKey4, { cookie: b.socketCookie(), address, port });
  const frontend = b.lookup(sockRevNat4, key).orReturn(1);
  const service = b.lookup(revNat4, frontend.revNatIndex).orReturn(1);
  b.if(service.port.ne(frontend.port), () => b.return(1));
  b.if(service.address.ne(frontend.address).and(service.address.ne(0)), () => b.return(1));
  address.set(frontend.address);
  port.set(frontend.port);
  b.return(1);
}

/** The body of recvmsg6/getpeername6 (`ipv4`: also IPv4-mapped peers of dual-stack sockets). */
export function reverse6(b: B, ctx: SockAddrCtx<'recvmsg6'> | SockAddrCtx<'getpeername6'>, ipv4: boolean): void {
  if (ipv4) b.if(isV4Mapped(ctx.user_ip6), () => restore4(b, ctx.user_ip6.at(3), ctx.user_port));
  const key = b.local(SockRevNatKey6, { cookie: b.socketCookie(), port: ctx.user_port });
  key.address.set(ctx.user_ip6);
  const frontend = b.lookup(sockRevNat6, key).orReturn(1);
  const service = b.lookup(revNat6, frontend.revNatIndex).orReturn(1);
  b.if(service.port.ne(frontend.port), () => b.return(1));
  const [s, f] = [service.address, frontend.address];
  const w = [0, 1, 2, 3] as const;
  const same = w.map((i) => s.word(i).eq(f.word(i))).reduce((x, y) => x.and(y));
  const wildcard = w.map((i) => s.word(i).eq(0)).reduce((x, y) => x.and(y));
  b.if(same.not().and(wildcard.not()), () => b.return(1));
  ctx.user_ip6.set(frontend.address);
  ctx.user_port.set(frontend.port);
  b.return(1);
}
