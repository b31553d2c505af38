/**
 * The benchmark's service set: N ClusterIP services with two endpoints each,
 * numbered in the order they are added. Only the last one (the one every
 * client connects to) points at the real backend pods; the others point at
 * pod addresses that no traffic ever reaches, as in a cluster where the
 * client talks to one service among many.
 */
import { createHash } from 'node:crypto';

/** A backend endpoint. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** A ClusterIP service as kube-proxy sees it. */
export interface BenchService {
  /** 0-based position in the order of adding. */
  readonly index: number;
  /** `namespace/name:port-name`, kube-proxy's ServicePortName. */
  readonly portName: string;
  readonly vip: string;
  readonly port: number;
  readonly endpoints: readonly Endpoint[];
}

/** Port of every service. */
export const SERVICE_PORT = 80;
/** Port the backend pods listen on. */
export const BACKEND_PORT = 8080;
/**
 * The VIP of the measured service, the same at every N: a client that keeps
 * connecting to one service reuses its ports against one VIP, as in a real
 * cluster. (With a new VIP per N, the client's reused ports met conntrack
 * TIME_WAIT entries of the previous N whose reply tuple — backend:port →
 * client:port — the new connection needs too, and the NAT variants paid
 * millisecond clash resolutions at p99: a property of conntrack, not of the
 * rule layouts being compared.)
 */
export const MEASURED_VIP = '10.100.0.10';
/** Most services one run may hold (VIPs are 10.96.0.1 … within 10.96.0.0/16). */
export const MAX_SERVICES = 60_000;

/** The VIP of service `index`: 10.96.0.0 + index + 1. */
export function serviceVip(index: number): string {
  const n = index + 1;
  return `10.96.${n >> 8}.${n & 255}`;
}

/** An unreachable endpoint address for service `index`, endpoint `k`: 10.128.0.1 upwards, clear of the lab's pods (10.244/16) and the VIPs. */
function fakeEndpoint(index: number, k: number): Endpoint {
  const n = index * 2 + k + 1;
  return { address: `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`, port: BACKEND_PORT };
}

/** Service `index`; with `real` endpoints it is the measured service (at {@link MEASURED_VIP}). */
export function benchService(index: number, real?: readonly Endpoint[]): BenchService {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_SERVICES) throw new RangeError(`service index ${index} out of 0..${MAX_SERVICES - 1}`);
  return {
    index,
    portName: `bench/svc-${index}:http`,
    vip: real ? MEASURED_VIP : serviceVip(index),
    port: SERVICE_PORT,
    endpoints: real ?? [fakeEndpoint(index, 0), fakeEndpoint(index, 1)],
  };
}

/** N services, the last the measured one (real endpoints, {@link MEASURED_VIP}). */
export function benchServices(n: number, real: readonly Endpoint[]): BenchService[] {
  return Array.from({ length: n }, (_, i) => benchService(i, i === n - 1 ? real : undefined));
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** kube-proxy's chain-name hash: the first `chars` of base32(sha256(text)). */
export function kubeHash(text: string, chars: number): string {
  const bytes = createHash('sha256').update(text).digest();
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += B32[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
    if (out.length >= chars) break;
  }
  return out;
}
