/**
 * The four ways the client reaches a backend, each in its own client pod so
 * one variant's netfilter state (rules, conntrack) never touches another's:
 * (a) direct to the backend pods, (b) kube-proxy's iptables rules, (c)
 * kube-proxy's nftables layout, (d) the tsbpf socket LB. Rules are installed
 * only inside the variant's own namespace (`ip netns exec`).
 */
import { nsRun, type Pod } from '../../programs/lab/index.js';
import { iptablesBase, iptablesSync } from './iptables-rules.js';
import { type BenchService, type Endpoint } from './model.js';
import { NFT_TABLE, nftAddService, nftBase, nftDeleteService } from './nftables-rules.js';
import type { ServiceTable } from './socklb.js';

/** Variant ids, in report order. */
export const VARIANT_IDS = ['direct', 'iptables', 'nftables', 'tsbpf'] as const;
/** A variant id. */
export type VariantId = (typeof VARIANT_IDS)[number];

/** One variant. Times are wall-clock milliseconds; the direct floor has none. */
export interface Variant {
  readonly id: VariantId;
  readonly label: string;
  /** The client pod it measures from. */
  readonly client: Pod;
  /** cgroup the client joins: each variant's own, so they differ only by the datapath (the socket LB's has the programs). */
  readonly cgroup?: string;
  /** Where the client connects for the measured service. */
  targets(measured: BenchService): string[];
  /** Back to no services (untimed). */
  reset(): void;
  /** Installs all services; returns the time taken, or undefined for the floor. */
  install(services: readonly BenchService[]): number | undefined;
  /** Adds `extra` with `present` installed; returns the time taken. */
  add(present: readonly BenchService[], extra: BenchService): number | undefined;
  /** Removes `extra` again; returns the time taken. */
  remove(present: readonly BenchService[], extra: BenchService): number | undefined;
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
/** Generous limit for one rules command at 10,000 services (iptables-nft-restore needed 6 min of wall time at load 20 on 2 cores). */
const RULES_TIMEOUT_MS = 3_600_000;

/** (a) the floor: straight to the backend pods, in turn. */
export function directVariant(client: Pod, backends: readonly Endpoint[], cgroup?: string): Variant {
  return {
    id: 'direct', label: '(a) direct to backend', client, cgroup,
    targets: () => backends.map((e) => `${e.address}:${e.port}`),
    reset: () => undefined, install: () => undefined, add: () => undefined, remove: () => undefined,
  };
}

/** Which iptables-restore to run: the nf_tables backend (Debian's default, what kube-proxy's images pick on such hosts) or legacy. */
export type IptablesBackend = 'nft' | 'legacy';

/** (b) kube-proxy's iptables mode, rules in the client pod's `nat` table (OUTPUT). */
export function iptablesVariant(client: Pod, backend: IptablesBackend, cgroup?: string): Variant {
  const restore = backend === 'nft' ? 'iptables-nft-restore' : 'iptables-legacy-restore';
  const apply = (text: string, noflush: boolean) => {
    const t0 = process.hrtime.bigint();
    nsRun(client.ns, [restore, ...(noflush ? ['--noflush'] : [])], { input: text, timeoutMs: RULES_TIMEOUT_MS });
    return ms(t0);
  };
  return {
    id: 'iptables', label: `(b) kube-proxy iptables (${restore})`, client, cgroup,
    targets: (s) => [`${s.vip}:${s.port}`],
    reset: () => void apply(iptablesBase(), false),
    install: (all) => apply(iptablesSync(all, all), true),
    add: (present, extra) => apply(iptablesSync([...present, extra], [extra]), true),
    remove: (present, extra) => apply(iptablesSync(present, [], [extra]), true),
  };
}

/** (c) kube-proxy's nftables mode, table `ip kube-proxy` in the client pod. */
export function nftablesVariant(client: Pod, cgroup?: string): Variant {
  const apply = (text: string) => {
    const t0 = process.hrtime.bigint();
    nsRun(client.ns, ['nft', '-f', '-'], { input: text, timeoutMs: RULES_TIMEOUT_MS });
    return ms(t0);
  };
  return {
    id: 'nftables', label: '(c) kube-proxy nftables', client, cgroup,
    targets: (s) => [`${s.vip}:${s.port}`],
    reset: () => {
      // `delete table` of a table that is not there fails: add it (a no-op if present), then delete.
      nsRun(client.ns, ['nft', '-f', '-'], { input: `add table ${NFT_TABLE}\ndelete table ${NFT_TABLE}\n`, timeoutMs: RULES_TIMEOUT_MS });
      nsRun(client.ns, ['nft', '-f', '-'], { input: nftBase() });
    },
    install: (all) => apply(all.map(nftAddService).join('')),
    add: (_present, extra) => apply(nftAddService(extra)),
    remove: (_present, extra) => apply(nftDeleteService(extra)),
  };
}

/** (d) the tsbpf socket LB: the client runs in the cgroup the program is attached to. */
export function tsbpfVariant(client: Pod, cgroup: string, table: ServiceTable): Variant {
  const timed = (f: () => void) => {
    const t0 = process.hrtime.bigint();
    f();
    return ms(t0);
  };
  return {
    id: 'tsbpf', label: '(d) tsbpf socket LB', client, cgroup,
    targets: (s) => [`${s.vip}:${s.port}`],
    reset: () => table.clear(),
    install: (all) => timed(() => table.install(all)),
    add: (_present, extra) => timed(() => table.add(extra)),
    remove: (_present, extra) => timed(() => table.remove(extra)),
  };
}
