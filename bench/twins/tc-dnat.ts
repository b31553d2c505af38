/**
 * A small Cilium-like tc DNAT with connection tracking, the DSL twin of
 * `tc_dnat` in bench/dsl-vs-clang.c: parse Ethernet/IPv4/TCP, look the 5-tuple
 * up in a conntrack hash map; on a miss look the destination up in a service
 * map and create the conntrack entry (BPF_NOEXIST); then rewrite the destination
 * address and port, fixing the IPv4 and TCP checksums incrementally.
 */
import { hashMap, program } from '../../dsl/program/index.js';
import { array, be16, be32, pad, struct, u8, u16, u32 } from '../../dsl/types/index.js';

/** Ethernet header. */
export const Eth = struct('dnat_eth', { dst: array(u8, 6), src: array(u8, 6), proto: be16 });
/** IPv4 header without options. */
export const Ip4 = struct('dnat_ip4', { verIhl: u8, tos: u8, totLen: be16, id: be16, frag: be16, ttl: u8, proto: u8, check: be16, saddr: be32, daddr: be32 });
/** TCP header without options. */
export const Tcp = struct('dnat_tcp', { sport: be16, dport: be16, seq: u32, ack: u32, offFlags: u16, window: u16, check: be16, urg: u16 });
/** Conntrack key: the 5-tuple. */
export const CtKey = struct('dnat_ct_key', { saddr: be32, daddr: be32, sport: be16, dport: be16, proto: u8, _pad: pad(3) });
/** Conntrack entry: where the connection was sent. */
export const CtEntry = struct('dnat_ct_entry', { daddr: be32, dport: be16, _pad: pad(2) });
/** Service key: virtual address and port. */
export const SvcKey = struct('dnat_svc_key', { addr: be32, port: be16, _pad: pad(2) });
/** Service value: the backend. */
export const SvcValue = struct('dnat_svc_value', { addr: be32, port: be16, _pad: pad(2) });

/** Connections seen, by 5-tuple. */
export const ct = hashMap('dnat_ct', CtKey, CtEntry, { maxEntries: 65536 });
/** Services: virtual address:port → backend. */
export const services = hashMap('dnat_services', SvcKey, SvcValue, { maxEntries: 1024 });

/** TC_ACT_OK */
const OK = 0;
/** Packet offsets of the rewritten fields (Ethernet 14 + IPv4 20 + TCP fields). */
export const IP_CHECK = 24;
export const IP_DADDR = 30;
export const TCP_DPORT = 36;
export const TCP_CHECK = 50;
/** BPF_F_PSEUDO_HDR: the field is part of the pseudo header. */
const PSEUDO_HDR = 0x10;

export const tcDnat = program('tc', 'tc_dnat', (b) => {
  const eth = b.parse(Eth, 0).orReturn(OK);
  b.if(eth.proto.ne(0x0800), () => b.return(OK));
  const ip = b.parse(Ip4, 14).orReturn(OK);
  b.if(ip.proto.ne(6), () => b.return(OK));
  const tcp = b.parse(Tcp, 34).orReturn(OK);
  const oldAddr = ip.daddr.get();
  const oldPort = tcp.dport.get();
  const key = b.local(CtKey, { saddr: ip.saddr, daddr: oldAddr, sport: tcp.sport, dport: oldPort, proto: 6 });
  const addr = b.local(be32);
  const port = b.local(be16);
  b.lookup(ct, key).ifPresent(
    (e) => {
      addr.set(e.daddr);
      port.set(e.dport);
    },
    () => {
      const svcKey = b.local(SvcKey, { addr: oldAddr, port: oldPort });
      const svc = b.lookup(services, svcKey).orReturn(OK);
      addr.set(svc.addr);
      port.set(svc.port);
      const entry = b.local(CtEntry, { daddr: svc.addr, dport: svc.port });
      b.update(ct, key, entry, 'noexist');
    },
  );
  b.l4CsumReplace(TCP_CHECK, oldAddr, addr.get(), PSEUDO_HDR | 4);
  b.l3CsumReplace(IP_CHECK, oldAddr, addr.get(), 4);
  b.skbStoreBytes(IP_DADDR, addr, 4);
  b.l4CsumReplace(TCP_CHECK, oldPort, port.get(), 2);
  b.skbStoreBytes(TCP_DPORT, port, 2);
  b.return(OK);
});
