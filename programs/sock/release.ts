/**
 * `cgroup/sock_release`: when a translated socket closes, delete its socket
 * reverse-NAT entry (found through the cookie → last backend table) so the LRU
 * holds live sockets only. A UDP socket that sent to several services keeps only
 * its last backend here; the older entries age out of the LRU.
 */
import type { B, SockCtx } from '../../dsl/program/index.js';
import { sockBackend4, sockBackend6, sockRevNat4, sockRevNat6 } from '../lb/maps.js';
import { SockRevNatKey4, SockRevNatKey6 } from '../lb/schemas.js';
import type { ResolvedSocketLbOptions } from './options.js';

const AF_INET = 2;
const AF_INET6 = 10;

/** The body of the sock_release program. */
export function release(b: B, ctx: SockCtx<'sock_release'>, o: ResolvedSocketLbOptions): void {
  const cookie = b.socketCookie();
  // IPv4 entries belong to IPv4 sockets and to dual-stack IPv6 sockets that dialled an IPv4-mapped service.
  if (o.ipv4)
    b.if(ctx.family.eq(AF_INET).or(ctx.family.eq(AF_INET6)), () =>
      b.lookup(sockBackend4, cookie).ifPresent((last) => {
        b.delete(sockRevNat4, b.local(SockRevNatKey4, { cookie, address: last.address, port: last.port }));
        b.delete(sockBackend4, cookie);
      }),
    );
  if (o.ipv6)
    b.if(ctx.family.eq(AF_INET6), () =>
      b.lookup(sockBackend6, cookie).ifPresent((last) => {
        const key = b.local(SockRevNatKey6, { cookie, port: last.port });
        key.address.set(last.address);
        b.delete(sockRevNat6, key);
        b.delete(sockBackend6, cookie);
      }),
    );
  b.return(1);
}
