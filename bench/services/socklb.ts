/**
 * Variant (d), tsbpf socket LB as an agent deploys it: every program of
 * `socketLbPrograms()` (programs/sock, compiled for this host) loaded with its
 * maps pinned in a private bpffs and attached to the client's test cgroup
 * only, and the service table written by the `ServiceManager`
 * (programs/lb/manager.ts) — `apply` for the full install, `upsertService` /
 * `deleteService` for one service.
 */
import { loadObject, type LoadedObject } from '../../loader/index.js';
import { attachCgroup, BpfLink, type CgroupLegacyAttachment } from '../../loader/links/index.js';
import { mapsOf, ServiceManager, type ServiceSpec } from '../../programs/lb/index.js';
import { compileSocketLb } from '../../programs/sock/index.js';
import type { BenchService } from './model.js';

/** What the bench needs from a service table: the same four steps for every variant. */
export interface ServiceTable {
  /** Writes every service (an empty table before). */
  install(services: readonly BenchService[]): void;
  /** Adds one service. */
  add(service: BenchService): void;
  /** Removes one service. */
  remove(service: BenchService): void;
  /** Removes every service. */
  clear(): void;
}

/** The socket LB loaded and attached to one cgroup. */
export interface SockLb extends Disposable {
  readonly object: LoadedObject;
  readonly table: ServiceTable;
  /** Programs attached (`program@hook`). */
  readonly attached: readonly string[];
  close(): void;
}

/** Compiles and loads the socket LB (maps pinned by name under `pinRoot`, a private bpffs) and attaches it to `cgroup` only. */
export function loadSockLb(cgroup: string, pinRoot: string): SockLb {
  const { elf, lb } = compileSocketLb({ target: 'host' });
  const object = loadObject(elf, { objectName: 'bench_socklb', pinRoot });
  const links: (BpfLink | CgroupLegacyAttachment)[] = [];
  let manager: ServiceManager | undefined;
  const close = () => {
    manager?.close();
    manager = undefined;
    for (const l of links.splice(0)) l instanceof BpfLink ? l.close() : l.detach();
    object.close();
  };
  try {
    for (const a of lb.attach) links.push(attachCgroup(object.program(a.program), { hook: a.hook, cgroup }));
    manager = ServiceManager.fromMaps(mapsOf(object));
    const m = manager;
    const table: ServiceTable = {
      install: (all) => void m.apply({ upsert: all.map(specOf) }),
      add: (s) => void m.upsertService(specOf(s)),
      remove: (s) => void m.deleteService(specOf(s).frontend),
      clear: () => void m.sync([]),
    };
    return { object, table, attached: lb.attach.map((a) => `${a.program}@${a.hook}`), close, [Symbol.dispose]: close };
  } catch (e) {
    close();
    throw e;
  }
}

/** The manager's spec of a bench service. */
export function specOf(s: BenchService): ServiceSpec {
  return { frontend: { address: s.vip, port: s.port, protocol: 'TCP' }, backends: s.endpoints.map((e) => ({ address: e.address, port: e.port })) };
}
