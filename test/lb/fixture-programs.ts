/**
 * A minimal connect4 balancer on the shared service tables (programs/lb/maps.ts),
 * for testing the deploy lifecycle apart from the full socket LB: it reads
 * the same pinned maps, so what a test writes through the tables is what it
 * balances by.
 */
import { program } from '../../dsl/program/index.js';
import { be16, u16, u32 } from '../../dsl/types/index.js';
import { backends4, services4 } from '../../programs/lb/maps.js';
import { ServiceKey4 } from '../../programs/lb/schemas.js';

/** connect4: VIP:port (TCP) → a random backend of the service. */
export const fixtureConnect4 = program('cgroup/connect4', 'fx_connect4', (b, ctx) => {
  const key = b.local(ServiceKey4, { address: ctx.user_ip4, port: ctx.user_port.to(be16), proto: 6 });
  const svc = b.lookup(services4, key).orReturn(1);
  const count = svc.count.to(u32);
  b.if(count.eq(0), () => b.return(1));
  key.backendSlot.set(b.prandom().mod(count).add(1).to(u16));
  const slot = b.lookup(services4, key).orReturn(1);
  const be = b.lookup(backends4, slot.backendId).orReturn(1);
  ctx.user_ip4.set(be.address);
  ctx.user_port.set(be.port);
  b.return(1);
});

/** getpeername4 that changes nothing: a second hook, to test replacing and dropping hooks. */
export const fixtureGetpeername4 = program('cgroup/getpeername4', 'fx_getpeer4', (b) => {
  b.return(1);
});
