/**
 * The NodePort datapath as the end-to-end tests run it on node A: the
 * programs of programs/tc/nodeport.ts built for a profile (4.19: the IPv6 ingress
 * program is cut into tail calls, see compileNodePort), loaded with their maps pinned in a
 * private bpffs (a second load with the same pins is a reload that keeps the
 * tables), the node configuration written through the agent, NodePort services
 * written into the shared service tables, and the attachments: tcx for the 6.6
 * build, netlink tc (clsact + direct-action cls_bpf) for 4.19.
 */
import type { CompileResult } from '../../dsl/compile/index.js';
import { profileByName } from '../../dsl/kernel/index.js';
import type { MapDef } from '../../dsl/program/index.js';
import type { AnySchema } from '../../dsl/types/index.js';
import { attachTc } from '../../loader/links/index.js';
import { loadObject, type LoadedObject } from '../../loader/object/index.js';
import { backends4, backends6, revNat4, revNat6, services4, services6 } from '../../programs/lb/maps.js';
import {
  BACKEND_FLAG_LOCAL, IPPROTO_TCP, IPPROTO_UDP, SERVICE_FLAG_EXTERNAL_LOCAL, SERVICE_FLAG_NODEPORT, SERVICE_SCOPE_EXTERNAL, SERVICE_SCOPE_INTERNAL,
} from '../../programs/lb/schemas.js';
import { setLocalEndpoint, setNodeConfig } from '../../programs/tc/nodeport-agent.js';
import type { PinDir } from '../support/bpffs.js';
import { ADDRS, type NodePortTopology } from './nodeport-e2e-topology.js';
import { compileNodePort } from './nodeport-env.js';

/** The builds the end-to-end tests run, with how they attach. */
export const E2E_BUILDS = [
  { build: '6.6', mode: 'tcx' },
  { build: '4.19', mode: 'netlink' },
] as const;
/** One of {@link E2E_BUILDS}' build names. */
export type E2eBuild = (typeof E2E_BUILDS)[number]['build'];
/** Attach mode. */
export type E2eMode = (typeof E2E_BUILDS)[number]['mode'];

const built = new Map<string, CompileResult>();

/** The compiled NodePort object for a profile (memoised: building is pure). */
export function buildNodePort(target: E2eBuild): CompileResult {
  let r = built.get(target);
  if (!r) {
    r = compileNodePort(target);
    built.set(target, r);
  }
  return r;
}

/** An attachment the tests can swap atomically and detach. */
export interface E2eLink {
  replace(prog: { fd: number }): void;
  close(): void;
}

/** Loads the NodePort object for `build` with maps pinned under `pins`, and writes node A's configuration for both families. */
export function loadNodePort(build: E2eBuild, pins: PinDir, topo: NodePortTopology): LoadedObject {
  const obj = loadObject(buildNodePort(build).object, { pinRoot: pins.path, profile: profileByName(build) });
  try {
    for (const nodeIp of [ADDRS.v4.nodeA, ADDRS.v6.nodeA]) setNodeConfig(obj, { nodeIp, ifindex: topo.native.ifindex, mac: topo.native.mac });
    for (const address of [ADDRS.v4.podA, ADDRS.v6.podA])
      setLocalEndpoint(obj, address, { ifindex: topo.podAVeth.ifindex, podMac: topo.podAVeth.podMac, hostMac: topo.podAVeth.hostMac });
    return obj;
  } catch (e) {
    obj.close();
    throw e;
  }
}

/**
 * Attaches one family's NodePort programs on node A: `npX_ingress` on the
 * native device's ingress and `npX_from_pod` on the local backend's veth (the
 * dual-stack test attaches both families itself).
 */
export function attachNodePort(obj: LoadedObject, topo: NodePortTopology, v6: boolean, mode: E2eMode): { native: E2eLink; fromPod: E2eLink } {
  const f = v6 ? '6' : '4';
  const native = attachTc(obj.program(`np${f}_ingress`), { iface: topo.native.ifname, netns: topo.nodeA, direction: 'ingress', mode }) as unknown as E2eLink;
  try {
    const fromPod = attachTc(obj.program(`np${f}_from_pod`), { iface: topo.podAVeth.ifname, netns: topo.nodeA, direction: 'ingress', mode }) as unknown as E2eLink;
    return { native, fromPod };
  } catch (e) {
    native.close();
    throw e;
  }
}

/** A backend of a NodePort service. */
export interface E2eBackend {
  readonly id: number;
  readonly address: string;
  readonly port: number;
  /** On node A (DNAT + redirect to its veth); else on node B (SNAT + FIB + redirect). */
  readonly local: boolean;
}

/** A NodePort service (wildcard frontend at `port`). */
export interface E2eService {
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
  readonly revNatIndex: number;
  readonly backends: readonly E2eBackend[];
  /** externalTrafficPolicy=Local. */
  readonly externalLocal?: boolean;
}

function enc(def: MapDef, part: 'key' | 'value', v: unknown): Uint8Array {
  return (def[part] as AnySchema).encode(v as never) as Uint8Array;
}

/**
 * Writes or rewrites a NodePort service so that concurrent lookups always see
 * a usable state: backends, then slots 1..n, then the frontend's count, then the
 * slots beyond the new count are deleted. Backend entries and local endpoints
 * of backends no longer listed stay (flows already on them keep working; the
 * flows table names the backend address itself).
 */
export function writeNodePortService(obj: LoadedObject, v6: boolean, s: E2eService, previousCount = 0): void {
  const [services, backends, revNat] = v6 ? [services6, backends6, revNat6] : [services4, backends4, revNat4];
  const proto = s.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
  const flags = SERVICE_FLAG_NODEPORT | (s.externalLocal ? SERVICE_FLAG_EXTERNAL_LOCAL : 0);
  const svc = obj.map(services.name);
  for (const be of s.backends)
    obj.map(backends.name).update(enc(backends, 'key', be.id) as never, enc(backends, 'value', { address: be.address, port: be.port, proto, flags: be.local ? BACKEND_FLAG_LOCAL : 0 }) as never);
  obj.map(revNat.name).update(enc(revNat, 'key', s.revNatIndex) as never, enc(revNat, 'value', { address: v6 ? '::' : '0.0.0.0', port: s.port }) as never);
  const write = (scope: number, list: readonly E2eBackend[]) => {
    const key = (backendSlot: number) => enc(services, 'key', { address: v6 ? '::' : '0.0.0.0', port: s.port, proto, scope, backendSlot }) as never;
    const entry = (backendId: number) => enc(services, 'value', { backendId, count: list.length, revNatIndex: s.revNatIndex, flags, flags2: 0 }) as never;
    list.forEach((be, i) => svc.update(key(i + 1), entry(be.id)));
    svc.update(key(0), entry(0));
    for (let slot = list.length + 1; slot <= previousCount; slot++) svc.delete(key(slot));
  };
  write(SERVICE_SCOPE_EXTERNAL, s.backends);
  if (s.externalLocal) write(SERVICE_SCOPE_INTERNAL, s.backends.filter((b) => b.local));
}
