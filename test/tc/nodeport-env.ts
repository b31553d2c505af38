/**
 * The NodePort test bench: the programs of programs/tc/nodeport.ts built for a
 * profile and loaded (maps unpinned: every load gets fresh tables), the service
 * tables filled for a test, and a network namespace that plays the node's
 * routing state for bpf_fib_lookup.
 *
 * Namespace: BPF_PROG_TEST_RUN builds its skb on the loopback device of the
 * *calling thread's* network namespace and bpf_fib_lookup resolves routes and
 * neighbours there, so runs happen inside `withNetns(ns, …)` (loader/netlink:
 * setns(2) on the calling thread, switched back right after the synchronous
 * run). The namespace has a veth pair np0/np1 (np0 = the "native device", node
 * address 10.99.0.1/24 and fd99::1/64), permanent neighbours for the client and
 * the remote backend, none for a second client, and a route to 10.98.0.0/24 /
 * fd98::/64 via a gateway (a client behind a router); forwarding is on, as on a node.
 */
import { compile } from '../../dsl/compile/index.js';
import { profileByName } from '../../dsl/kernel/index.js';
import type { ObjectSpec } from '../../dsl/object/index.js';
import { loadObject, type LoadedObject } from '../../loader/object/index.js';
import { withNetns } from '../../loader/netlink/netns.js';
import type { RunResult } from '../../loader/programs/program.js';
import * as nodeport from '../../programs/tc/nodeport.js';
import { BACKEND_FLAG_LOCAL, IPPROTO_TCP, SERVICE_FLAG_AFFINITY, SERVICE_FLAG_EXTERNAL_IP, SERVICE_FLAG_EXTERNAL_LOCAL, SERVICE_FLAG_NODEPORT, SERVICE_SCOPE_EXTERNAL, SERVICE_SCOPE_INTERNAL } from '../../programs/lb/schemas.js';
import { createNetns, deleteNetns, ip, nsExec } from '../support/netns.js';
import type { MapDef } from '../../dsl/program/index.js';
import type { AnySchema } from '../../dsl/types/index.js';
import { backends4, backends6, revNat4, revNat6, services4, services6 } from '../../programs/lb/maps.js';
import { setLocalEndpoint, setNodeConfig } from '../../programs/tc/nodeport-agent.js';
import { CTX_STRUCT_LAYOUTS } from '../../dsl/kernel/generated/ctx-layouts.js';

const SKB = CTX_STRUCT_LAYOUTS.__sk_buff;
const SKB_MARK = SKB.fields.find((f) => f.name === 'mark')!.offset;

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Every named profile the programs must build and run for. */
export const PROFILES = ['4.19', '5.4', '5.10', '5.15', '6.1', '6.6'] as const;

/** Addresses and MACs of the test topology. */
export const NET = {
  node4: '10.99.0.1', node6: 'fd99::1',
  client4: '10.99.0.2', client6: 'fd99::2', clientMac: '02:00:00:00:00:c1',
  /** A client the namespace has no neighbour entry for. */
  lonely4: '10.99.0.9', lonely6: 'fd99::9', lonelyMac: '02:00:00:00:00:c9',
  remote4: '10.99.0.3', remote6: 'fd99::3', remoteMac: '02:00:00:00:00:b1',
  /** Behind the gateway. */
  far4: '10.98.0.7', far6: 'fd98::7', gw4: '10.99.0.254', gw6: 'fd99::fe', gwMac: '02:00:00:00:00:fe',
  /** A local backend pod. */
  pod4: '10.244.0.5', pod6: 'fd44::5', podMac: '02:00:00:00:00:a5', vethMac: '02:00:00:00:00:a6', vethIfindex: 4242,
  /** MAC of np0, set explicitly. */
  nodeMac: '02:00:00:00:00:01',
  nodePort: 30080,
  backendPort: 8080,
} as const;

/** The namespace with its native device. */
export interface NodeNs extends Disposable {
  readonly name: string;
  readonly ifindex: number;
  cleanup(): void;
}

/** Creates the node namespace (see the file comment). */
export function createNodeNs(): NodeNs {
  const name = createNetns('np');
  try {
    const n = (...a: string[]) => ip('-n', name, ...a);
    n('link', 'add', 'np0', 'address', NET.nodeMac, 'type', 'veth', 'peer', 'name', 'np1');
    n('addr', 'add', `${NET.node4}/24`, 'dev', 'np0');
    n('addr', 'add', `${NET.node6}/64`, 'dev', 'np0', 'nodad');
    // bpf_fib_lookup refuses devices that do not forward (FWD_DISABLED), OUTPUT flag or not; a node forwards anyway.
    nsExec(name, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
    n('link', 'set', 'np0', 'up');
    n('link', 'set', 'np1', 'up');
    for (const [a, m] of [[NET.client4, NET.clientMac], [NET.client6, NET.clientMac], [NET.remote4, NET.remoteMac], [NET.remote6, NET.remoteMac], [NET.gw4, NET.gwMac], [NET.gw6, NET.gwMac]] as const)
      n('neigh', 'replace', a, 'lladdr', m, 'dev', 'np0', 'nud', 'permanent');
    n('route', 'add', '10.98.0.0/24', 'via', NET.gw4, 'dev', 'np0');
    n('-6', 'route', 'add', 'fd98::/64', 'via', NET.gw6, 'dev', 'np0');
    const ifindex = Number(JSON.parse(n('-j', 'link', 'show', 'np0'))[0].ifindex);
    const cleanup = () => deleteNetns(name);
    return { name, ifindex, cleanup, [Symbol.dispose]: cleanup };
  } catch (e) {
    deleteNetns(name);
    throw e;
  }
}

const specs = new Map<string, ObjectSpec>();

/**
 * How the NodePort object is compiled for `target`: on 4.19 the IPv6 ingress
 * program is always split (pieces of at most 3,584 instructions), so the tail-call
 * chain is exercised whether or not the optimised program needs it to fit 4,096.
 */
export function compileNodePort(target: string) {
  return compile(nodeport, { target, ...(target === '4.19' ? { split: (p: { name: string }) => (p.name === 'np6_ingress' ? { force: true, limit: 3584 } : undefined) } : {}) });
}

/** The fitted object for a profile (built once per profile): pins dropped so each load has its own maps. */
export function nodePortSpec(target: string): ObjectSpec {
  let spec = specs.get(target);
  if (!spec) {
    const { object } = compileNodePort(target);
    spec = { ...object, maps: (object.maps ?? []).map((m) => ({ ...m, pinning: 'none' as const })) };
    specs.set(target, spec);
  }
  return spec;
}

/** A loaded NodePort object plus helpers to fill its tables. */
export interface Bench extends Disposable {
  readonly obj: LoadedObject;
  readonly spec: ObjectSpec;
  readonly ns: NodeNs;
  /** Runs program `name` on `data` inside the node namespace. */
  run(name: string, data: Uint8Array): RunResult;
  /** Like {@link run} with the packet's `skb->mark` set to `mark`; also returns the mark the program left. */
  runMarked(name: string, data: Uint8Array, mark: number): RunResult & { mark: number };
  close(): void;
}

/** Loads the object for `target` (verifier log level 1 for the stats) and writes the node configuration. */
export function loadBench(target: string, ns: NodeNs, opts: { portMin?: number; portMax?: number } = {}): Bench {
  const spec = nodePortSpec(target);
  const obj = loadObject(spec, { profile: profileByName(target), logLevel: 1 });
  try {
    const range = { portMin: opts.portMin ?? 32768, portMax: opts.portMax ?? 65535 };
    setNodeConfig(obj, { nodeIp: NET.node4, ifindex: ns.ifindex, mac: NET.nodeMac, ...range });
    setNodeConfig(obj, { nodeIp: NET.node6, ifindex: ns.ifindex, mac: NET.nodeMac, ...range });
  } catch (e) {
    obj.close();
    throw e;
  }
  const close = () => obj.close();
  return {
    obj, spec, ns, close, [Symbol.dispose]: close,
    run: (name, data) => withNetns(ns.name, () => obj.program(name).run({ data })),
    runMarked: (name, data, mark) => {
      const ctx = new Uint8Array(SKB.size);
      new DataView(ctx.buffer).setUint32(SKB_MARK, mark, true);
      const r = withNetns(ns.name, () => obj.program(name).run({ data, ctx }));
      return { ...r, mark: new DataView(r.ctx!.buffer, r.ctx!.byteOffset).getUint32(SKB_MARK, true) };
    },
  };
}

/** Runs `fn` with a freshly loaded {@link Bench} for `target` in `ns`, closed afterwards. */
export function withBench(target: string, ns: NodeNs, fn: (b: Bench) => void, opts?: { portMin?: number; portMax?: number }): void {
  const bench = loadBench(target, ns, opts);
  try {
    fn(bench);
  } finally {
    bench.close();
  }
}

/** A backend for {@link addService}. */
export interface TestBackend {
  readonly id: number;
  readonly address: string;
  readonly port: number;
  readonly local?: boolean;
}

/**
 * Writes a NodePort service (wildcard frontend, `NET.nodePort`) with backends
 * into the IPv4 or IPv6 tables, its reverse-NAT entry (wildcard address: the
 * program restores the node address) and local endpoints for local backends.
 * `externalLocal` sets externalTrafficPolicy=Local: an INTERNAL-scope frontend
 * lists only the local backends. With `address` the frontend is that address's
 * instead (an ExternalIP / LoadBalancer one, flagged SERVICE_FLAG_EXTERNAL_IP,
 * or with `clusterIp` a plain ClusterIP frontend, no flag). `affinity` is a
 * session-affinity timeout in seconds: SERVICE_FLAG_AFFINITY on every entry of
 * both scopes, the timeout in each frontend's (slot 0) backendId.
 */
export function addService(
  bench: Bench,
  v6: boolean,
  opts: { revNatIndex: number; backends: readonly TestBackend[]; externalLocal?: boolean; proto?: number; port?: number; address?: string; clusterIp?: boolean; affinity?: number },
): void {
  const [services, backends, revNat] = v6 ? [services6, backends6, revNat6] : [services4, backends4, revNat4];
  const proto = opts.proto ?? IPPROTO_TCP;
  const port = opts.port ?? NET.nodePort;
  const zero = v6 ? '::' : '0.0.0.0';
  const address = opts.address ?? zero;
  const kind = opts.address === undefined ? SERVICE_FLAG_NODEPORT : opts.clusterIp ? 0 : SERVICE_FLAG_EXTERNAL_IP;
  const flags = kind | (opts.externalLocal ? SERVICE_FLAG_EXTERNAL_LOCAL : 0) | (opts.affinity === undefined ? 0 : SERVICE_FLAG_AFFINITY);
  const write = (scope: number, list: readonly TestBackend[]) => {
    const key = { address, port, proto, scope };
    table(bench, services).set({ ...key, backendSlot: 0 }, { backendId: opts.affinity ?? 0, count: list.length, revNatIndex: opts.revNatIndex, flags, flags2: 0 });
    list.forEach((be, i) => table(bench, services).set({ ...key, backendSlot: i + 1 }, { backendId: be.id, count: list.length, revNatIndex: opts.revNatIndex, flags, flags2: 0 }));
  };
  write(SERVICE_SCOPE_EXTERNAL, opts.backends);
  if (opts.externalLocal) write(SERVICE_SCOPE_INTERNAL, opts.backends.filter((b) => b.local));
  table(bench, revNat).set(opts.revNatIndex, { address, port });
  for (const be of opts.backends) {
    table(bench, backends).set(be.id, { address: be.address, port: be.port, proto, flags: be.local ? BACKEND_FLAG_LOCAL : 0 });
    if (be.local) setLocalEndpoint(bench.obj, be.address, { ifindex: NET.vethIfindex, podMac: NET.podMac, hostMac: NET.vethMac });
  }
}

/** Typed access to one of the object's maps through its declaration's schemas. */
export interface Table {
  set(key: unknown, value: unknown, mode?: 'any' | 'noexist'): void;
  get(key: unknown): any;
  delete(key: unknown): boolean;
  /** Every entry, decoded. */
  entries(): [any, any][];
}

/** {@link Table} for map declaration `def` in the loaded object. */
export function table(bench: Bench, def: MapDef): Table {
  const m = bench.obj.map(def.name);
  const k = def.key as AnySchema;
  const v = def.value as AnySchema;
  return {
    set: (key, value, mode = 'any') => void m.update(k.encode(key as never) as never, v.encode(value as never) as never, mode),
    get: (key) => {
      const raw = m.get(k.encode(key as never) as never) as Uint8Array | undefined;
      return raw === undefined ? undefined : v.decode(raw);
    },
    delete: (key) => m.delete(k.encode(key as never) as never),
    entries: () => m.lookupBatch().map(([a, b]) => [k.decode(a as Uint8Array), v.decode(b as Uint8Array)]),
  };
}

/** Reads counter `i` of an ARRAY of u64 counters. */
export function counter(bench: Bench, def: MapDef, i: number): bigint {
  return table(bench, def).get(i) as bigint;
}
