/**
 * kube-proxy's iptables `nat` rules for ClusterIP services, in the layout
 * kube-proxy's iptables proxier writes (chain names from the same hashes,
 * comments, mark bits): `KUBE-SERVICES` holds one match per service port
 * (`-d VIP -p tcp --dport P`) jumping to `KUBE-SVC-<hash>`, which marks
 * off-cluster sources for masquerade and picks an endpoint with
 * `-m statistic --mode random --probability 1/(n-i)`; each `KUBE-SEP-<hash>`
 * marks hairpin traffic and DNATs. The NodePort catch-all is the last rule of
 * `KUBE-SERVICES`. The `filter` table's service rules (rejects for services
 * without endpoints, firewall) are left out: they hold nothing for services that
 * have endpoints.
 */
import { kubeHash, type BenchService } from './model.js';
import { POD_CIDR } from '../../programs/lab/index.js';

/** `KUBE-SVC-…` of a service. */
export function svcChain(s: BenchService): string {
  return `KUBE-SVC-${kubeHash(`${s.portName}tcp`, 16)}`;
}

/** `KUBE-SEP-…` of one endpoint. */
export function sepChain(s: BenchService, k: number): string {
  const e = s.endpoints[k]!;
  return `KUBE-SEP-${kubeHash(`${s.portName}tcp${e.address}:${e.port}`, 16)}`;
}

function clusterIpMatch(s: BenchService): string {
  return `-m comment --comment "${s.portName} cluster IP" -m tcp -p tcp -d ${s.vip}/32 --dport ${s.port}`;
}

/** The `KUBE-SERVICES` rule of a service. */
function serviceDispatch(s: BenchService): string {
  return `-A KUBE-SERVICES ${clusterIpMatch(s)} -j ${svcChain(s)}`;
}

/** Chain declarations of one service. */
function serviceChainDecls(s: BenchService): string[] {
  return [svcChain(s), ...s.endpoints.map((_, k) => sepChain(s, k))].map((c) => `:${c} - [0:0]`);
}

/** The rules of a service's own chains. */
function serviceChainRules(s: BenchService): string[] {
  const svc = svcChain(s);
  const out = [`-A ${svc} ${clusterIpMatch(s)} ! -s ${POD_CIDR} -j KUBE-MARK-MASQ`];
  const n = s.endpoints.length;
  s.endpoints.forEach((e, k) => {
    const pick = k < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - k)).toFixed(10)}` : '';
    out.push(`-A ${svc} -m comment --comment "${s.portName} -> ${e.address}:${e.port}"${pick} -j ${sepChain(s, k)}`);
  });
  s.endpoints.forEach((e, k) => {
    const sep = sepChain(s, k);
    out.push(`-A ${sep} -m comment --comment ${s.portName} -s ${e.address}/32 -j KUBE-MARK-MASQ`);
    out.push(`-A ${sep} -m comment --comment ${s.portName} -m tcp -p tcp -j DNAT --to-destination ${e.address}:${e.port}`);
  });
  return out;
}

/** The masquerade machinery, rewritten by every sync (declaring the chains flushes them). */
const POSTROUTING_RULES = [
  '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
  '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
  '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
];

const NODEPORTS_LAST = '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS';

/** The base chains and the jumps into them: what kube-proxy sets up once (untimed in the bench). */
export function iptablesBase(): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ...POSTROUTING_RULES,
    NODEPORTS_LAST,
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * A kube-proxy sync for `iptables-restore --noflush`: `KUBE-SERVICES` is always
 * rewritten in full (declaring it flushes it); chains of `changed` services are
 * (re)written; chains of `removed` services are flushed and deleted. With every
 * service in `changed` this is the full sync after start-up.
 */
export function iptablesSync(all: readonly BenchService[], changed: readonly BenchService[], removed: readonly BenchService[] = []): string {
  const lines = ['*nat', ':KUBE-SERVICES - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-NODEPORTS - [0:0]'];
  for (const s of [...changed, ...removed]) lines.push(...serviceChainDecls(s));
  lines.push(...POSTROUTING_RULES);
  for (const s of all) lines.push(serviceDispatch(s));
  lines.push(NODEPORTS_LAST);
  for (const s of changed) lines.push(...serviceChainRules(s));
  for (const s of removed) for (const c of [svcChain(s), ...s.endpoints.map((_, k) => sepChain(s, k))]) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}
