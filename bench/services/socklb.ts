/**
 * Variant (d), tsbpf socket LB: a cgroup `connect4` program over the shared
 * service tables of programs/lb/maps.ts, attached to the client's test cgroup
 * only, and a service table written straight into those maps in the order the
 * service manager uses (backends, then slots, then the frontend that makes the
 * service visible; removal in reverse).
 *
 * Until programs/sock and programs/lb/manager.ts are on main this file holds a
 * minimal connect4 of its own; swapping them in means replacing
 * `benchConnect4` in `loadSockLb` by `socketLbPrograms()` and
 * `DirectServiceTable` by a {@link ServiceTable} that calls the
 * `ServiceManager`.
 */
import { buildObject, program } from '../../dsl/program/index.js';
import { writeObject } from '../../dsl/elf/index.js';
import { u16, u32, u8 } from '../../dsl/types/index.js';
import { hostProfile } from '../../dsl/kernel/profiles.js';
import { BpfMap, loadObject, type LoadedObject } from '../../loader/index.js';
import { attachCgroup, BpfLink } from '../../loader/links/index.js';
import { backends4, REV_NAT_MAP_ENTRIES, revNat4, services4 } from '../../programs/lb/maps.js';
import { Backend4, IPPROTO_TCP, RevNat4, ServiceEntry, ServiceKey4 } from '../../programs/lb/schemas.js';
import type { BenchService } from './model.js';

/** Lets the connect() go on (rewritten or not). */
const ALLOW = 1;

/** ClusterIP connect4: frontend lookup, random slot, backend lookup, rewrite of the socket address. */
export const benchConnect4 = program('cgroup/connect4', 'bench_connect4', (b, ctx) => {
  const key = b.local(ServiceKey4, { address: ctx.user_ip4, port: ctx.user_port, proto: ctx.protocol.to(u8) });
  const frontend = b.lookup(services4, key).orReturn(ALLOW);
  const count = frontend.count.to(u32);
  b.if(count.eq(0), () => b.return(ALLOW));
  key.backendSlot.set(b.prandom().mod(count).add(1).to(u16));
  const slot = b.lookup(services4, key).orReturn(ALLOW);
  const backend = b.lookup(backends4, slot.backendId).orReturn(ALLOW);
  ctx.user_ip4.set(backend.address);
  ctx.user_port.set(backend.port);
  b.return(ALLOW);
});

/** What the bench needs from a service table: the same four steps for every variant. */
export interface ServiceTable {
  /** Writes every service (an empty table before). */
  install(services: readonly BenchService[]): void;
  /** Adds one service. */
  add(service: BenchService): void;
  /** Removes one service. */
  remove(service: BenchService): void;
  /** Removes every service `install`/`add` wrote and is still there. */
  clear(): void;
}

/** The socket LB loaded and attached to one cgroup. */
export interface SockLb extends Disposable {
  readonly object: LoadedObject;
  readonly table: ServiceTable;
  close(): void;
}

/** Builds and loads the program (maps pinned by name under `pinRoot`, a private bpffs) and attaches it to `cgroup` only. */
export function loadSockLb(cgroup: string, pinRoot: string): SockLb {
  const object = loadObject(writeObject(buildObject({ benchConnect4 }, { target: hostProfile() })), { objectName: 'bench_socklb', pinRoot });
  let attachment: ReturnType<typeof attachCgroup> | undefined;
  try {
    attachment = attachCgroup(object.program('bench_connect4'), { hook: 'connect4', cgroup });
  } catch (e) {
    object.close();
    throw e;
  }
  const table = new DirectServiceTable(object);
  const close = () => {
    table.close();
    if (attachment instanceof BpfLink) attachment.close();
    else attachment?.detach();
    attachment = undefined;
    object.close();
  };
  return { object, table, close, [Symbol.dispose]: close };
}

/** Backend ids of a service: 2 per service, from 1. */
const backendId = (s: BenchService, k: number) => s.index * 2 + k + 1;
/** Reverse-NAT index of a service (u16; 0 means none). */
const revNatIndex = (s: BenchService) => s.index + 1;

/** Service table entries written with map updates (batched for a full install). */
export class DirectServiceTable implements ServiceTable {
  readonly #services;
  readonly #backends;
  readonly #revNat;
  readonly #present = new Map<number, BenchService>();

  /**
   * The reverse-NAT table is written as the manager writes it, so install and
   * update times are comparable; the minimal connect4 does not read it, so it is
   * not in the object and this table creates (and closes) it.
   */
  constructor(object: LoadedObject) {
    this.#services = object.map(services4.name);
    this.#backends = object.map(backends4.name);
    this.#revNat = BpfMap.create({ type: 'HASH', name: revNat4.name, key: u16.size, value: RevNat4.size, maxEntries: REV_NAT_MAP_ENTRIES });
  }

  /** Closes what the table opened itself. */
  close(): void {
    this.#revNat.close();
  }

  install(services: readonly BenchService[]): void {
    const backends: [Uint8Array, Uint8Array][] = [];
    const slots: [Uint8Array, Uint8Array][] = [];
    const frontends: [Uint8Array, Uint8Array][] = [];
    const revNats: [Uint8Array, Uint8Array][] = [];
    for (const s of services) {
      const e = entries(s);
      backends.push(...e.backends);
      slots.push(...e.slots);
      frontends.push(e.frontend);
      revNats.push(e.revNat);
      this.#present.set(s.index, s);
    }
    this.#backends.updateBatch(backends as never);
    this.#revNat.updateBatch(revNats as never);
    this.#services.updateBatch(slots as never);
    this.#services.updateBatch(frontends as never);
  }

  add(s: BenchService): void {
    const e = entries(s);
    for (const [k, v] of e.backends) this.#backends.set(k as never, v as never);
    this.#revNat.set(e.revNat[0] as never, e.revNat[1] as never);
    for (const [k, v] of e.slots) this.#services.set(k as never, v as never);
    this.#services.set(e.frontend[0] as never, e.frontend[1] as never);
    this.#present.set(s.index, s);
  }

  remove(s: BenchService): void {
    const e = entries(s);
    this.#services.delete(e.frontend[0] as never);
    for (const [k] of e.slots) this.#services.delete(k as never);
    this.#revNat.delete(e.revNat[0] as never);
    for (const [k] of e.backends) this.#backends.delete(k as never);
    this.#present.delete(s.index);
  }

  clear(): void {
    const all = [...this.#present.values()].map(entries);
    this.#services.deleteBatch(all.map((e) => e.frontend[0]) as never);
    this.#services.deleteBatch(all.flatMap((e) => e.slots.map(([k]) => k)) as never);
    this.#revNat.deleteBatch(all.map((e) => e.revNat[0]) as never);
    this.#backends.deleteBatch(all.flatMap((e) => e.backends.map(([k]) => k)) as never);
    this.#present.clear();
  }
}

/** Encoded map entries of one service. */
function entries(s: BenchService) {
  const count = s.endpoints.length;
  const key = (slot: number) => ServiceKey4.encode({ address: s.vip, port: s.port, backendSlot: slot, proto: IPPROTO_TCP, scope: 0 });
  const value = (id: number) => ServiceEntry.encode({ backendId: id, count, revNatIndex: revNatIndex(s), flags: 0, flags2: 0 });
  return {
    backends: s.endpoints.map((e, k): [Uint8Array, Uint8Array] => [u32.encode(backendId(s, k)), Backend4.encode({ address: e.address, port: e.port, proto: IPPROTO_TCP, flags: 0 })]),
    slots: s.endpoints.map((_, k): [Uint8Array, Uint8Array] => [key(k + 1), value(backendId(s, k))]),
    frontend: [key(0), value(0)] as [Uint8Array, Uint8Array],
    revNat: [u16.encode(revNatIndex(s)), RevNat4.encode({ address: s.vip, port: s.port })] as [Uint8Array, Uint8Array],
  };
}
