/**
 * What callers of the service manager describe: a frontend (virtual IP, or the
 * wildcard address for NodePort, plus port and protocol) and its backends.
 * `normalizeService` checks a spec completely and puts addresses into
 * canonical text, so two spellings of one address are one frontend, before
 * anything is written.
 */
import { formatIpv6, parseIpv4, parseIpv6 } from '../../dsl/types/index.js';
import { ServiceError } from './errors.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './schemas.js';

/** Transport protocol of a service. */
export type Protocol = 'TCP' | 'UDP';
/** Address family of a service (its frontend and all its backends). */
export type AddressFamily = 'ipv4' | 'ipv6';
/**
 * Kubernetes' `externalTrafficPolicy` of a NodePort or external frontend:
 * `Cluster` sends traffic from outside the node to any backend (SNATed when
 * remote), `Local` only to backends on this node (`local`), never SNATed.
 */
export type ExternalTrafficPolicy = 'Cluster' | 'Local';

/** Where clients connect: a virtual IP (`0.0.0.0`/`::` for a NodePort wildcard), a port and a protocol. */
export interface FrontendSpec {
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** Where connections go. */
export interface BackendSpec {
  readonly address: string;
  readonly port: number;
  /**
   * A draining backend: kept in the maps so flows that already use it keep
   * working, but never picked for a new connection.
   */
  readonly terminating?: boolean;
  /**
   * The backend runs on this node (written as `BACKEND_FLAG_LOCAL`): the
   * NodePort datapath hands it packets directly, and it is one of the
   * backends an `externalTrafficPolicy: 'Local'` frontend picks from.
   */
  readonly local?: boolean;
  /**
   * A terminating backend that still serves (Kubernetes' `serving`
   * condition). A Local-policy frontend with no active local backend uses
   * the local ones that are terminating and serving (kube-proxy's fallback
   * for local endpoints, so a node's last pod rolling over keeps answering).
   */
  readonly serving?: boolean;
}

/** A service to create or replace. Backends take the frontend's protocol. */
export interface ServiceSpec {
  readonly frontend: FrontendSpec;
  /** Every backend, draining ones included; an empty list makes connects fail fast. */
  readonly backends: readonly BackendSpec[];
  /**
   * A NodePort frontend: the address must be the family's wildcard
   * (`0.0.0.0` or `::`); it matches the node's own addresses (loopback
   * included) at `frontend.port`.
   */
  readonly nodePort?: boolean;
  /** An ExternalIP/LoadBalancer frontend (flag only; looked up like a ClusterIP). */
  readonly externalIP?: boolean;
  /**
   * Default `Cluster`. `Local` (only on a `nodePort` or `externalIP` frontend,
   * else `LB_INVALID_SPEC`) sets `SERVICE_FLAG_EXTERNAL_LOCAL` and adds the
   * frontend's second, `SERVICE_SCOPE_INTERNAL` entry listing only the active
   * `local` backends, which the tc NodePort datapath picks from for traffic
   * arriving from outside. The socket LB (connects made on the node) keeps
   * using every backend, as Kubernetes does for traffic from the node itself.
   */
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;
  /**
   * Kubernetes' `sessionAffinity: ClientIP`: a client keeps its backend while
   * it keeps coming back within `timeoutSeconds` (an integer in 1..86400,
   * Kubernetes' bounds) of its last connection. Written as
   * `SERVICE_FLAG_AFFINITY` on every entry and the timeout in the frontend
   * entries' `backendId`; the datapaths keep the client → backend table.
   */
  readonly sessionAffinity?: SessionAffinity;
}

/** ClientIP session affinity of a service: how long a client's backend is remembered since its last use. */
export interface SessionAffinity {
  readonly timeoutSeconds: number;
}

/** Kubernetes' bounds of `sessionAffinityConfig.clientIP.timeoutSeconds` (the upper one is a day). */
export const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

/** A backend as the manager holds it. */
export interface ServiceBackend {
  readonly address: string;
  readonly port: number;
  readonly terminating: boolean;
  /** On this node (`BACKEND_FLAG_LOCAL`). */
  readonly local: boolean;
  /** Key of the backend in the backends map. */
  readonly id: number;
}

/** A service as the manager holds it (canonical addresses, allocated ids). */
export interface Service {
  readonly frontend: FrontendSpec;
  readonly family: AddressFamily;
  readonly nodePort: boolean;
  readonly externalIP: boolean;
  readonly externalTrafficPolicy: ExternalTrafficPolicy;
  /** ClientIP session affinity, when the service has it. */
  readonly sessionAffinity?: SessionAffinity;
  /** Key of the frontend in the reverse-NAT map. */
  readonly revNatIndex: number;
  /** Backends new connections pick from (slot order), then draining ones. */
  readonly backends: readonly ServiceBackend[];
}

/** Largest per-service backend count the manager accepts unless told otherwise (the `count` field is a u16). */
export const DEFAULT_MAX_BACKENDS_PER_SERVICE = 4096;
/** Upper bound for `maxBackendsPerService`: slots are u16 and slot 0 is the frontend. */
export const MAX_BACKEND_SLOTS = 65535;

/** A backend after validation. */
export interface NormalizedBackend {
  /** `address:port` in canonical text, unique within a service. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly terminating: boolean;
  readonly local: boolean;
  readonly serving: boolean;
  /** The address in network order. */
  readonly bytes: Uint8Array;
}

/** A frontend after validation: canonical text, family, protocol number. */
export interface NormalizedFrontend {
  /** Canonical frontend text, e.g. `10.96.0.10:53/UDP`, `[fd00::a]:443/TCP`. */
  readonly id: string;
  readonly family: AddressFamily;
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly proto: number;
  /** The frontend address in network order. */
  readonly addressBytes: Uint8Array;
}

/** A service after validation: its frontend, flags and backends. */
export interface NormalizedService extends NormalizedFrontend {
  readonly nodePort: boolean;
  readonly externalIP: boolean;
  /** `externalTrafficPolicy: 'Local'`. */
  readonly externalLocal: boolean;
  /** ClientIP affinity timeout in seconds (0: no affinity). */
  readonly affinityTimeout: number;
  readonly backends: readonly NormalizedBackend[];
}

/** Canonical text, family and network-order bytes of an address, or undefined if it is none. */
export function canonicalAddress(text: unknown): { address: string; family: AddressFamily; bytes: Uint8Array } | undefined {
  if (typeof text !== 'string') return undefined;
  if (text.includes(':')) {
    const bytes = parseIpv6(text);
    return bytes ? { address: formatIpv6(bytes), family: 'ipv6', bytes } : undefined;
  }
  const v4 = parseIpv4(text);
  if (v4 === undefined) return undefined;
  const bytes = new Uint8Array(4);
  bytes[0] = v4 >>> 24;
  bytes[1] = v4 >>> 16;
  bytes[2] = v4 >>> 8;
  bytes[3] = v4;
  // parseIpv4 accepts only the canonical spelling (no leading zeros), so the text is already canonical.
  return { address: text, family: 'ipv4', bytes };
}

/** Whether a canonical address is its family's unspecified (wildcard) address. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** `10.0.0.1:80` / `[fd00::1]:80`. */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** `10.0.0.1:80/TCP` / `[fd00::1]:80/TCP`: how frontends are named in messages, reports and the CLI. */
export function formatFrontend(frontend: FrontendSpec): string {
  return `${formatEndpoint(frontend.address, frontend.port)}/${frontend.protocol}`;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

/** Parses `IP:PORT` (`[IPv6]:PORT`) into canonical parts; the CLI's `--backend` syntax. */
export function parseEndpoint(text: string, path = ''): { address: string; port: number; family: AddressFamily } {
  const m = /^\[([^\]]+)\]:([^:]+)$/.exec(text) ?? /^([^:[\]]+):([^:]+)$/.exec(text);
  if (!m) throw new ServiceError('LB_INVALID_ADDRESS', `expected IP:PORT (IPv6 as [IP]:PORT), got ${describe(text)}`, { path });
  const addr = canonicalAddress(m[1]);
  if (!addr) throw new ServiceError('LB_INVALID_ADDRESS', `${describe(m[1])} is not an IPv4 or IPv6 address`, { path });
  if (addr.family === 'ipv6' && !text.startsWith('[')) throw new ServiceError('LB_INVALID_ADDRESS', `write IPv6 endpoints as [IP]:PORT, got ${describe(text)}`, { path });
  const port = /^[0-9]{1,5}$/.test(m[2]!) ? Number(m[2]) : NaN;
  checkPort(port, path, m[2]);
  return { ...addr, port };
}

/** Parses `IP:PORT/PROTO` (protocol defaults to TCP; `tcp`/`udp` accepted in any case); the CLI's frontend syntax. */
export function parseFrontend(text: string, path = ''): FrontendSpec {
  const slash = text.lastIndexOf('/');
  const endpoint = slash === -1 ? text : text.slice(0, slash);
  const protoText = slash === -1 ? 'TCP' : text.slice(slash + 1).toUpperCase();
  if (protoText !== 'TCP' && protoText !== 'UDP')
    throw new ServiceError('LB_INVALID_PROTOCOL', `protocol must be TCP or UDP, got ${describe(text.slice(slash + 1))}`, { path });
  const { address, port } = parseEndpoint(endpoint, path);
  return { address, port, protocol: protoText };
}

function checkPort(port: unknown, path: string, shown: unknown = port): asserts port is number {
  if (!isPort(port)) throw new ServiceError('LB_INVALID_PORT', `port must be an integer in 1..65535, got ${describe(shown)}`, { path });
}

function isPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** The first own field of `v` not in `allowed` (for-in: no key array per spec in a large sync). */
function unknownField(v: object, allowed: readonly string[]): string | undefined {
  for (const k in v) if (Object.hasOwn(v, k) && !allowed.includes(k)) return k;
  return undefined;
}

function checkObject(v: unknown, path: string, what: string, allowed: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ServiceError('LB_INVALID_SPEC', `${what} must be an object, got ${describe(v)}`, { path });
  const k = unknownField(v, allowed);
  if (k !== undefined) throw new ServiceError('LB_INVALID_SPEC', `unknown field '${k}' in ${what} (fields: ${allowed.join(', ')})`, { path });
  return v as Record<string, unknown>;
}

function checkFlag(v: unknown, path: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new ServiceError('LB_INVALID_SPEC', `must be true or false, got ${describe(v)}`, { path });
  return v;
}

/** The timeout of a `sessionAffinity` object (exactly `timeoutSeconds`, an integer in 1..86400). */
function checkAffinity(v: unknown, path: string): number {
  const a = checkObject(v, path, 'sessionAffinity', ['timeoutSeconds']);
  const t = a.timeoutSeconds;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_AFFINITY_TIMEOUT_SECONDS)
    throw new ServiceError('LB_INVALID_SPEC', `timeoutSeconds must be an integer in 1..${MAX_AFFINITY_TIMEOUT_SECONDS}, got ${describe(t)}`, { path: at(path, 'timeoutSeconds') });
  return t;
}

const at = (path: string, field: string) => (path ? `${path}.${field}` : field);
const BACKEND_FIELDS = ['address', 'port', 'terminating', 'local', 'serving'] as const;

/** Validates a frontend and gives its canonical form. */
export function normalizeFrontend(frontend: unknown, path = 'frontend'): NormalizedFrontend {
  const f = checkObject(frontend, path, 'a frontend', ['address', 'port', 'protocol']);
  const addr = canonicalAddress(f.address);
  if (!addr) throw new ServiceError('LB_INVALID_ADDRESS', `${describe(f.address)} is not an IPv4 or IPv6 address`, { path: at(path, 'address') });
  if (!isPort(f.port)) checkPort(f.port, at(path, 'port'));
  const port = f.port as number;
  if (f.protocol !== 'TCP' && f.protocol !== 'UDP')
    throw new ServiceError('LB_INVALID_PROTOCOL', `protocol must be 'TCP' or 'UDP', got ${describe(f.protocol)}`, { path: at(path, 'protocol') });
  const protocol: Protocol = f.protocol;
  const { address, family, bytes } = addr;
  const id = `${formatEndpoint(address, port)}/${protocol}`;
  return { id, family, address, port, protocol, proto: protocol === 'TCP' ? IPPROTO_TCP : IPPROTO_UDP, addressBytes: bytes };
}

/**
 * Validates a whole service spec (frontend, flags, every backend, the limit)
 * and gives its canonical form; throws a {@link ServiceError} naming the first
 * problem. Pure: nothing is written.
 */
export function normalizeService(spec: unknown, path = '', maxBackends = DEFAULT_MAX_BACKENDS_PER_SERVICE): NormalizedService {
  // Paths are built only when something is wrong: a full sync validates tens of thousands of specs.
  const s = checkObject(spec, path, 'a service spec', ['frontend', 'backends', 'nodePort', 'externalIP', 'externalTrafficPolicy', 'sessionAffinity']);
  const frontend = normalizeFrontend(s.frontend, at(path, 'frontend'));
  const nodePort = s.nodePort === undefined ? false : checkFlag(s.nodePort, at(path, 'nodePort'));
  const externalIP = s.externalIP === undefined ? false : checkFlag(s.externalIP, at(path, 'externalIP'));
  if (nodePort && !isWildcard(frontend.address))
    throw new ServiceError('LB_INVALID_ADDRESS', `a NodePort frontend has the wildcard address (0.0.0.0 or ::), got '${frontend.address}'`, { path: at(path, 'frontend.address') });
  if (!nodePort && isWildcard(frontend.address))
    throw new ServiceError('LB_INVALID_ADDRESS', `'${frontend.address}' is only valid for a NodePort frontend (set nodePort: true)`, { path: at(path, 'frontend.address') });
  if (frontend.family === 'ipv6' && frontend.address.startsWith('::ffff:') && frontend.address.includes('.'))
    throw new ServiceError('LB_INVALID_ADDRESS', `'${frontend.address}' is IPv4-mapped: the datapath looks such destinations up in the IPv4 tables, so give the IPv4 address ${frontend.address.slice(7)}`, { path: at(path, 'frontend.address') });
  if (nodePort && externalIP) throw new ServiceError('LB_INVALID_SPEC', 'a frontend is either nodePort or externalIP, not both', { path });
  const policy = s.externalTrafficPolicy;
  if (policy !== undefined && policy !== 'Cluster' && policy !== 'Local')
    throw new ServiceError('LB_INVALID_SPEC', `externalTrafficPolicy must be 'Cluster' or 'Local', got ${describe(policy)}`, { path: at(path, 'externalTrafficPolicy') });
  const externalLocal = policy === 'Local';
  // Kubernetes applies the policy to node ports and external addresses only; on a ClusterIP it would mean nothing.
  if (externalLocal && !nodePort && !externalIP)
    throw new ServiceError('LB_INVALID_SPEC', `externalTrafficPolicy 'Local' applies to NodePort and external frontends only (set nodePort or externalIP), not to ${frontend.id}`, { path: at(path, 'externalTrafficPolicy') });
  const affinityTimeout = s.sessionAffinity === undefined ? 0 : checkAffinity(s.sessionAffinity, at(path, 'sessionAffinity'));
  const list = s.backends;
  if (!Array.isArray(list)) throw new ServiceError('LB_INVALID_SPEC', `backends must be an array, got ${describe(list)}`, { path: at(path, 'backends') });
  if (list.length > maxBackends)
    throw new ServiceError('LB_TOO_MANY_BACKENDS', `${list.length} backends for ${frontend.id}; at most ${maxBackends} per service`, { path: at(path, 'backends') });
  const backends: NormalizedBackend[] = [];
  // Few backends (the usual case): a scan beats building a set.
  const seen = list.length > 8 ? new Set<string>() : undefined;
  for (let i = 0; i < list.length; i++) {
    const b: unknown = list[i];
    const bp = () => `${at(path, 'backends')}[${i}]`;
    if (typeof b !== 'object' || b === null || Array.isArray(b) || unknownField(b, BACKEND_FIELDS) !== undefined) checkObject(b, bp(), 'a backend', BACKEND_FIELDS);
    const o = b as Record<string, unknown>;
    const addr = canonicalAddress(o.address);
    if (!addr) throw new ServiceError('LB_INVALID_ADDRESS', `${describe(o.address)} is not an IPv4 or IPv6 address`, { path: at(bp(), 'address') });
    if (isWildcard(addr.address)) throw new ServiceError('LB_INVALID_ADDRESS', `a backend cannot have the unspecified address '${addr.address}'`, { path: at(bp(), 'address') });
    if (addr.family !== frontend.family)
      throw new ServiceError('LB_MIXED_FAMILY', `${addr.family === 'ipv6' ? 'IPv6' : 'IPv4'} backend ${addr.address} for ${frontend.family === 'ipv6' ? 'IPv6' : 'IPv4'} frontend ${frontend.id}`, { path: at(bp(), 'address') });
    if (!isPort(o.port)) checkPort(o.port, at(bp(), 'port'));
    const port = o.port as number;
    const terminating = o.terminating === undefined ? false : checkFlag(o.terminating, at(bp(), 'terminating'));
    const local = o.local === undefined ? false : checkFlag(o.local, at(bp(), 'local'));
    const serving = o.serving === undefined ? false : checkFlag(o.serving, at(bp(), 'serving'));
    const key = formatEndpoint(addr.address, port);
    if (seen ? seen.has(key) : backends.some((x) => x.key === key))
      throw new ServiceError('LB_DUPLICATE_BACKEND', `backend ${key} appears twice in ${frontend.id}`, { path: bp() });
    seen?.add(key);
    backends.push({ key, address: addr.address, port, terminating, local, serving, bytes: addr.bytes });
  }
  const { id, family, address, port, protocol, proto, addressBytes } = frontend;
  return { id, family, address, port, protocol, proto, addressBytes, nodePort, externalIP, externalLocal, affinityTimeout, backends };
}
