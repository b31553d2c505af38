/**
 * ICMP errors about NodePort flows, translated through the NAT as Linux
 * conntrack translates RELATED packets, so that path-MTU discovery and port
 * unreachable reach the right end of a translated flow:
 * - about a request the node forwarded (embedded: node:snatPort → backend, or
 *   client → local pod from its veth): the reverse entry (direction IN, keyed
 *   by the embedded tuple swapped) gives the client and the service; the error
 *   goes to the client, about client → frontend;
 * - about a reply the node sent to the client (embedded: frontend → client,
 *   e.g. fragmentation needed from a router on the way): the flow (flows table,
 *   the same swapped key with direction OUT) gives the backend, and for a remote
 *   one its forward SNAT entry the node-side port; the error goes to the
 *   backend, about backend → node:snatPort (→ client for a local backend, which
 *   is not SNATed).
 * The outer destination becomes the embedded packet's new source; the outer
 * source becomes the embedded packet's new destination only when the error came
 * from that destination itself (a router stays the sender). The node is a
 * router hop for the error as for the flow's packets (TTL / hop limit down by
 * one). Checksums are fixed in the program (RFC 1624): the embedded IPv4 header
 * and UDP checksums, the ICMP checksum over every changed embedded word (ICMPv6:
 * and over its pseudo header's addresses), the outer IPv4 header. The embedded
 * TCP checksum lies beyond the 8 bytes an error is sure to carry and is left as
 * is (receivers do not check it). Errors about unknown flows or the node's own
 * (SNAT_FLAG_HOST) flows, and those carrying less than the embedded IP header
 * plus 8 bytes, pass untouched (handed on to the next program from a pod's veth).
 */
import type { B, Int } from '../../dsl/program/index.js';
import { TcAct } from '../../dsl/kernel/index.js';
import { u32, u8 } from '../../dsl/types/index.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../lb/schemas.js';
import { applyCsum, applyUdpCsum, CsumDelta, type AnyPlace } from './nodeport-csum.js';
import type { NpFamily } from './nodeport-family.js';
import { npPaths } from './nodeport-maps.js';
import { dropExpired, TTL_DECREMENT_DELTA } from './nodeport-rewrite.js';
import { NP_FLOW_LOCAL, NpDrop, NpPath } from './nodeport-schemas.js';
import type { Scratch } from './nodeport-scratch.js';
import { bump, drop, fibRedirect } from './fib-redirect.js';
import { SNAT_DIR_IN, SNAT_DIR_OUT, SNAT_FLAG_HOST } from './snat-schemas.js';
import { loose } from './nodeport-loose.js';

/** Where an ICMP error is handled: the native device (both kinds) or a local backend's veth (errors about requests only). */
export interface IcmpErrorSite {
  /** Errors about replies to the client are translated towards the backend (native device only). */
  readonly aboutReplies: boolean;
  /** What the program returns for an error it does not translate (TC_ACT_OK, or UNSPEC to hand it on). */
  readonly pass: number;
}

/** Fills a SNAT/flow key (every field), addresses in 32-bit words. */
function setKeyWords(fam: NpFamily, key: AnyPlace, saddr: AnyPlace, daddr: AnyPlace, sport: AnyPlace, dport: AnyPlace, proto: AnyPlace, dir: number): void {
  fam.copyAddr(key.saddr, saddr);
  fam.copyAddr(key.daddr, daddr);
  key.sport.set(sport);
  key.dport.set(dport);
  key.proto.set(proto);
  key.dir.set(dir);
}

/**
 * Error about a request the node forwarded: fills `to` with the client (new
 * embedded source) and the frontend (new embedded destination; a wildcard
 * frontend is the node address), or returns `pass` from the program.
 */
function aboutRequest(b: B, fam: NpFamily, s: Scratch, pass: number): void {
  const { entryA: entry, keyB: to } = s;
  b.if(entry.flags.and(SNAT_FLAG_HOST).ne(0).or(entry.revNatIndex.eq(0)), () => b.return(pass));
  fam.copyAddr(to.saddr, entry.addr);
  to.sport.set(entry.port);
  const known = b.let(u8, 0);
  loose(b).lookup(fam.revNat, entry.revNatIndex).ifPresent((r: AnyPlace) => {
    fam.copyAddr(to.daddr, r.address);
    to.dport.set(r.port);
    known.set(1);
  });
  b.if(known.eq(0), () => b.return(pass));
  b.if(fam.isZero(to.daddr), () => fam.copyAddr(to.daddr, s.cfg.nodeIp));
}

/**
 * Error about a reply the node sent to the client: fills `to` with the backend
 * (new embedded source) and, for a remote backend, the node-side SNAT address
 * and port (new embedded destination; a local backend's flow keeps the client),
 * sets `local` for a local backend, or returns `pass` from the program.
 * Expects `s.keyA` to hold the embedded tuple swapped.
 */
function aboutReply(b: B, fam: NpFamily, m: AnyPlace, proto: Int<'u8'>, local: AnyPlace, s: Scratch, pass: number): void {
  const { keyA: key, keyB: to } = s;
  key.dir.set(SNAT_DIR_OUT);
  const found = b.let(u8, 0);
  loose(b).lookup(fam.flows, key).ifPresent((f: AnyPlace) => {
    fam.copyAddr(to.saddr, f.backendAddr);
    to.sport.set(f.backendPort);
    local.set(f.flags.and(NP_FLOW_LOCAL));
    found.set(1);
  });
  b.if(found.eq(0), () => b.return(pass));
  fam.copyAddr(to.daddr, m.ip.daddr);
  to.dport.set(m.dport);
  b.if(local.eq(0), () => {
    // The forward entry of the flow as the node sent it to the backend: client → backend.
    setKeyWords(fam, key, m.ip.daddr, to.saddr, m.dport, to.sport, proto, SNAT_DIR_OUT);
    found.set(0);
    loose(b).lookup(fam.snat, key).ifPresent((e: AnyPlace) => {
      fam.copyAddr(to.daddr, e.addr);
      to.dport.set(e.port);
      found.set(1);
    });
    b.if(found.eq(0), () => b.return(pass));
  });
}

/**
 * Rewrites the embedded tuple to `to` (saddr, daddr, sport, dport places), the
 * outer destination to `to.saddr` and — when the error came from the embedded
 * destination — the outer source to `to.daddr`; takes one off the outer TTL /
 * hop limit; fixes every checksum. Every old word is summed before anything is
 * written. The outer destination is known to equal the embedded source.
 */
function translate(b: B, fam: NpFamily, ip: AnyPlace, m: AnyPlace, proto: Int<'u8'>, to: AnyPlace): void {
  const emb = m.ip;
  const dSrc = new CsumDelta(b);
  fam.words(dSrc, emb.saddr, true);
  fam.words(dSrc, to.saddr, false);
  const dDst = new CsumDelta(b);
  fam.words(dDst, emb.daddr, true);
  fam.words(dDst, to.daddr, false);
  const dPorts = new CsumDelta(b);
  dPorts.port(m.sport, true);
  dPorts.port(to.sport, false);
  dPorts.port(m.dport, true);
  dPorts.port(to.dport, false);
  const fromDst = b.let(u8, 0);
  b.if(fam.eq(ip.saddr, emb.daddr), () => fromDst.set(1));
  // The outer addresses: destination (= embedded source) always, source when it was the embedded destination.
  const outer = b.let(u32, dSrc.value);
  b.if(fromDst.ne(0), () => outer.set(outer.add(dDst.value)));
  const addrs = dSrc.value.add(dDst.value);
  // The ICMP checksum covers the embedded bytes: addresses, ports and the two checksums as they change.
  const icmp = new CsumDelta(b);
  icmp.add(addrs.add(dPorts.value));
  if (fam.l3Csum) {
    icmp.port(emb.check, true);
    applyCsum(emb.check, addrs);
    icmp.port(emb.check, false);
  }
  // UDP's checksum covers the embedded addresses (pseudo header) and ports; 0 in IPv4 means none and stays.
  b.if(proto.eq(IPPROTO_UDP), () => {
    icmp.port(m.w2, true);
    applyUdpCsum(b, m.w2, addrs.add(dPorts.value));
    icmp.port(m.w2, false);
  });
  // ICMPv6 also covers a pseudo header with the outer addresses.
  if (!fam.l3Csum) icmp.add(outer);
  applyCsum(m.icmp.check, icmp.value);
  fam.copyAddr(emb.saddr, to.saddr);
  fam.copyAddr(emb.daddr, to.daddr);
  m.sport.set(to.sport);
  m.dport.set(to.dport);
  fam.copyAddr(ip.daddr, to.saddr);
  b.if(fromDst.ne(0), () => fam.copyAddr(ip.saddr, to.daddr));
  const hops = fam.hops(ip);
  hops.set(hops.sub(1));
  if (fam.l3Csum) applyCsum(ip.check, outer.add(TTL_DECREMENT_DELTA));
}

/**
 * Emits the ICMP error path for an ICMP / ICMPv6 packet (outer L3 header `ip`):
 * returns from the program — redirected when translated, `site.pass` when not
 * about a NodePort flow, dropped (counted) when it cannot be forwarded.
 */
export function icmpErrorPath(b: B, fam: NpFamily, eth: AnyPlace, ip: AnyPlace, s: Scratch, site: IcmpErrorSite): void {
  const { pass } = site;
  const m: AnyPlace = loose(b).parse(fam.IcmpError, fam.l4Off).orReturn(pass);
  b.if(fam.isIcmpError(m.icmp.type.get()).not(), () => b.return(pass));
  const proto = fam.embeddedProto(b, m.ip, pass);
  b.if(proto.ne(IPPROTO_TCP).and(proto.ne(IPPROTO_UDP)), () => b.return(pass));
  // An error goes to the source of the packet it is about.
  b.if(fam.eq(ip.daddr, m.ip.saddr).not(), () => b.return(pass));
  const { keyA: key, entryA: entry } = s;
  setKeyWords(fam, key, m.ip.daddr, m.ip.saddr, m.dport, m.sport, proto, SNAT_DIR_IN);
  const local = b.let(u8, 0);
  const found = b.let(u8, 0);
  loose(b).lookup(fam.snat, key).ifPresent((e: AnyPlace) => {
    entry.set(e);
    found.set(1);
  });
  b.if(
    found.ne(0),
    () => aboutRequest(b, fam, s, pass),
    () => (site.aboutReplies ? aboutReply(b, fam, m, proto, local, s, pass) : b.return(pass)),
  );
  dropExpired(b, fam, { ip }, s);
  translate(b, fam, ip, m, proto, s.keyB);
  bump(b, s.idx, npPaths, NpPath.ICMP_ERROR);
  if (site.aboutReplies) {
    b.if(local.ne(0), () => {
      loose(b).lookup(fam.endpoints, s.keyB.saddr).ifPresent((ep: AnyPlace) => {
        eth.dst.set(ep.podMac);
        eth.src.set(ep.hostMac);
        b.return(b.redirect(ep.ifindex, 0));
      });
      drop(b, s, NpDrop.NO_ENDPOINT);
    });
  }
  fibRedirect(b, fam, { ip, proto: fam.icmpProto }, eth, s);
}
