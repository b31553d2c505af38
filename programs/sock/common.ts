/**
 * Pieces every socket-LB program shares: leaving foreign namespaces alone,
 * refusing a connect to a service without backends, and picking a backend slot
 * (random per TCP connection, stable per UDP socket).
 */
import type { B, Int, Value } from '../../dsl/program/index.js';
import { u16, u32 } from '../../dsl/types/index.js';
import { IPPROTO_UDP } from '../lb/schemas.js';
import type { SocketLbFeatures } from './features.js';
import type { ResolvedSocketLbOptions } from './options.js';

/** errno a refused connect/sendmsg reports where the kernel lets the program choose. */
export const ECONNREFUSED = 111;

/** Tries at frontend → slot → backend before refusing (see translate4). */
export const ATTEMPTS = 2;

/** 2^32 / golden ratio: spreads consecutive socket cookies over the slots. */
const GOLDEN32 = 0x9e3779b1;

/**
 * In host-namespace-only mode: returns 1 (leave the socket alone) unless the
 * socket's netns cookie is the host's (configured, or the initial namespace's,
 * which bpf_get_netns_cookie(NULL) gives).
 */
export function skipForeignNetns(b: B, ctx: object, o: ResolvedSocketLbOptions): void {
  if (!o.hostNamespaceOnly) return;
  const mine = b.helper('get_netns_cookie', ctx);
  const host = o.hostNetnsCookie ?? b.helper('get_netns_cookie', 0);
  b.if(mine.ne(host), () => b.return(1));
}

/**
 * Ends the program refusing the operation: ECONNREFUSED through bpf_set_retval
 * where the target has it (6.1), else the kernel's default for a 0 verdict, EPERM.
 */
export function refuse(b: B, f: SocketLbFeatures): void {
  if (f.setRetval) b.helper('set_retval', BigInt.asUintN(64, BigInt(-ECONNREFUSED)));
  b.return(0);
}

/**
 * The backend slot (1..count) for a new connection: `bpf_get_prandom_u32` for TCP,
 * a hash of the socket cookie for UDP so every datagram of a socket goes to the
 * same backend. `count` must be non-zero.
 */
export function pickSlot(b: B, proto: Value<'u32'>, cookie: Int<'u64'>, count: Value<'u16'>): Int<'u16'> {
  const pick = b.let(u32, 0);
  b.if(
    proto.eq(IPPROTO_UDP),
    () => {
      const h = cookie.to(u32).mul(GOLDEN32);
      pick.set(h.xor(h.shr(16)));
    },
    () => pick.set(b.prandom()),
  );
  return pick.mod(count.to(u32)).add(1).to(u16);
}
