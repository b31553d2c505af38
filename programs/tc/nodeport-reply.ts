/**
 * The reply path: a packet whose tuple matches a reverse (IN) SNAT entry is a
 * reply of a translated flow. Reverse SNAT puts the client back as destination,
 * reverse DNAT puts the service frontend back as source (the reverse-NAT table
 * by the entry's revNatIndex; a wildcard NodePort frontend means the node
 * address), then FIB/neighbour and redirect towards the client. Entries of the
 * node's own flows (SNAT_FLAG_HOST) are left to the stack.
 */
import type { B } from '../../dsl/program/index.js';
import { TcAct } from '../../dsl/kernel/index.js';
import { u8 } from '../../dsl/types/index.js';
import type { AnyPlace } from './nodeport-csum.js';
import type { NpFamily } from './nodeport-family.js';
import { dropExpired, rewriteTuple, type Parsed } from './nodeport-rewrite.js';
import { setKey, type Scratch } from './nodeport-scratch.js';
import { fibRedirect } from './fib-redirect.js';
import { SNAT_DIR_IN, SNAT_FLAG_HOST } from './snat-schemas.js';
import { loose } from './nodeport-loose.js';

/**
 * Emits the reply path: returns from the program when the packet is a reply
 * (redirected, or dropped with a counter); falls through otherwise, with
 * `s.keyA` holding the packet's tuple (direction IN).
 */
export function replyPath(b: B, fam: NpFamily, pkt: Parsed, eth: AnyPlace, s: Scratch): void {
  const { ip, ports } = pkt;
  const { keyA: key, entryA: entry } = s;
  setKey(key, ip.saddr, ip.daddr, ports.sport, ports.dport, pkt.proto, SNAT_DIR_IN);
  const found = b.let(u8, 0);
  const now = b.ktimeGetNs();
  loose(b).lookup(fam.snat, key).ifPresent((e) => {
    entry.set(e);
    e.seen.set(now);
    found.set(1);
  });
  b.if(found.ne(0), () => {
    b.if(entry.flags.and(SNAT_FLAG_HOST).ne(0), () => b.return(TcAct.OK));
    dropExpired(b, fam, pkt, s);
    // The frontend to restore: the packet's own source unless the entry names a service.
    const front: AnyPlace = loose(b).local(fam.RevNat, { port: ports.sport });
    front.address.set(ip.saddr);
    b.if(entry.revNatIndex.ne(0), () => {
      loose(b).lookup(fam.revNat, entry.revNatIndex).ifPresent((r) => front.set(r));
      b.if(fam.isZero(front.address), () => front.address.set(s.cfg.nodeIp));
    });
    rewriteTuple(b, fam, pkt, { saddr: front.address, sport: front.port, daddr: entry.addr, dport: entry.port }, TcAct.SHOT);
    fibRedirect(b, fam, pkt, eth, s);
  });
}
