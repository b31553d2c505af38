/**
 * The connect4 sketch of DESIGN.md: socket-level load balancing. On `connect()`
 * to a service address (ClusterIP:port), pick a backend at random and rewrite the
 * destination before the socket ever sends a packet — what Cilium's
 * `sock4_connect` does. Service entries with `backendSlot = 0` hold the backend
 * count; slots 1..count map to backend ids.
 *
 *   tsbpf build examples/connect4.ts --target 5.10 --explain
 */
import { hashMap, program } from '../dsl/program/index.js';
import { be16, be32, pad, struct, u16, u32, u8 } from '../dsl/types/index.js';

/** Service lookup key: address, port and a backend slot (0 = the service entry itself). */
export const Lb4Key = struct('lb4_key', { address: be32, dport: be16, backendSlot: u16, proto: u8, scope: u8, _pad: pad(2) });
/** Service entry (slot 0): number of backends; backend slot entry: the backend id. */
export const Lb4Service = struct('lb4_service', { backendId: u32, count: u16, revNat: u16 });
/** A backend: where connections really go. */
export const Lb4Backend = struct('lb4_backend', { address: be32, port: be16, proto: u8, _pad: pad(1) });

export const services = hashMap('lb4_services', Lb4Key, Lb4Service, { maxEntries: 65536 });
export const backends = hashMap('lb4_backends', u32, Lb4Backend, { maxEntries: 65536 });

/** Returning 1 lets the connect() proceed (with the rewritten address). */
const ALLOW = 1;

export const connect4 = program('cgroup/connect4', 'sock4_connect', (b, ctx) => {
  const key = b.local(Lb4Key, { address: ctx.user_ip4, dport: ctx.user_port.to(be16) });
  const svc = b.lookup(services, key).orReturn(ALLOW);
  const count = svc.count.to(u32);
  b.if(count.eq(0), () => b.return(ALLOW));
  key.backendSlot.set(b.prandom().mod(count).add(1).to(u16));
  const slot = b.lookup(services, key).orReturn(ALLOW);
  const be = b.lookup(backends, slot.backendId).orReturn(ALLOW);
  ctx.user_ip4.set(be.address);
  ctx.user_port.set(be.port);
  b.return(ALLOW);
});
