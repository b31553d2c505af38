/**
 * kube-proxy's nftables layout (its nftables proxier, table `ip kube-proxy`)
 * for ClusterIP services: one `services` chain whose single rule looks the
 * destination up in the `service-ips` verdict map
 * (`ip daddr . meta l4proto . th dport vmap @service-ips`); per service a
 * `service-<hash>-<name>` chain that marks off-cluster sources for masquerade
 * and picks an endpoint with `numgen random mod n vmap { … }`; per endpoint an
 * `endpoint-<hash>-…` chain that marks hairpin traffic and DNATs. Updates are
 * one `nft -f` transaction of `add`/`delete` commands, as kube-proxy sends them.
 * The filter-table chains (firewall, reject for services without endpoints) are
 * left out: they hold nothing for services that have endpoints.
 */
import { kubeHash, type BenchService } from './model.js';
import { POD_CIDR } from '../../programs/lab/index.js';

/** The table's name and family. */
export const NFT_TABLE = 'ip kube-proxy';

function nameOf(s: BenchService): string {
  // kube-proxy: "<namespace>/<name>/<protocol>/<port name>"
  const [nsName, portName] = s.portName.split(':');
  return `${nsName}/tcp/${portName}`;
}

/** The service chain's name. */
export function serviceChain(s: BenchService): string {
  const base = nameOf(s);
  return `service-${kubeHash(`${base}`, 8)}-${base}`;
}

/** One endpoint chain's name. */
export function endpointChain(s: BenchService, k: number): string {
  const e = s.endpoints[k]!;
  const base = `${nameOf(s)}__${e.address}/${e.port}`;
  return `endpoint-${kubeHash(base, 8)}-${base}`;
}

/** The table, base chains, maps and dispatch: what kube-proxy sets up once (untimed in the bench). */
export function nftBase(): string {
  return `table ${NFT_TABLE} {
  comment "rules for kube-proxy"
  chain mark-for-masquerade {
    meta mark set meta mark or 0x4000
  }
  chain masquerading {
    meta mark & 0x4000 == 0 return
    meta mark set meta mark xor 0x4000
    masquerade fully-random
  }
  map service-ips {
    type ipv4_addr . inet_proto . inet_service : verdict
    comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
  }
  map service-nodeports {
    type inet_proto . inet_service : verdict
    comment "NodePort traffic"
  }
  chain services {
    ip daddr . meta l4proto . th dport vmap @service-ips
    fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
  }
  chain nat-prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    jump services
  }
  chain nat-output {
    type nat hook output priority -100; policy accept;
    jump services
  }
  chain nat-postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    jump masquerading
  }
}
`;
}

/** The `add` commands that create one service: endpoint chains, service chain, map element. */
export function nftAddService(s: BenchService): string {
  const svc = serviceChain(s);
  const out: string[] = [];
  s.endpoints.forEach((e, k) => {
    const ep = endpointChain(s, k);
    out.push(`add chain ${NFT_TABLE} ${ep}`);
    out.push(`add rule ${NFT_TABLE} ${ep} ip saddr ${e.address} jump mark-for-masquerade`);
    out.push(`add rule ${NFT_TABLE} ${ep} meta l4proto tcp dnat to ${e.address}:${e.port}`);
  });
  out.push(`add chain ${NFT_TABLE} ${svc}`);
  out.push(`add rule ${NFT_TABLE} ${svc} ip daddr ${s.vip} tcp dport ${s.port} ip saddr != ${POD_CIDR} jump mark-for-masquerade`);
  const picks = s.endpoints.map((_, k) => `${k} : goto ${endpointChain(s, k)}`).join(' , ');
  out.push(`add rule ${NFT_TABLE} ${svc} numgen random mod ${s.endpoints.length} vmap { ${picks} }`);
  out.push(`add element ${NFT_TABLE} service-ips { ${s.vip} . tcp . ${s.port} : goto ${svc} }`);
  return out.join('\n') + '\n';
}

/** The commands that remove one service: map element first (no new connections reach it), then its chains. */
export function nftDeleteService(s: BenchService): string {
  const svc = serviceChain(s);
  const out = [`delete element ${NFT_TABLE} service-ips { ${s.vip} . tcp . ${s.port} }`, `flush chain ${NFT_TABLE} ${svc}`, `delete chain ${NFT_TABLE} ${svc}`];
  s.endpoints.forEach((_, k) => {
    const ep = endpointChain(s, k);
    out.push(`flush chain ${NFT_TABLE} ${ep}`, `delete chain ${NFT_TABLE} ${ep}`);
  });
  return out.join('\n') + '\n';
}
