/**
 * Checksum rewrite (tc): IPv4 packets to 10.0.0.1 are redirected to 10.0.0.2 by
 * rewriting the destination address in place and fixing the IP header checksum
 * incrementally with `bpf_l3_csum_replace` — the core move of a NAT.
 *
 *   tsbpf build examples/csum-rewrite.ts --target 5.4 --explain
 */
import { program } from '../dsl/program/index.js';
import { array, be16, be32, struct, u8 } from '../dsl/types/index.js';

/** Ethernet header. */
export const Eth = struct('csum_eth', { dst: array(u8, 6), src: array(u8, 6), proto: be16 });
/** IPv4 header without options. */
export const Ip4 = struct('csum_ip4', {
  verIhl: u8,
  tos: u8,
  totLen: be16,
  id: be16,
  frag: be16,
  ttl: u8,
  proto: u8,
  check: be16,
  saddr: be32,
  daddr: be32,
});

/** Offsets in the packet (Ethernet 14 + IPv4 fields). */
export const CHECK_OFFSET = 24;
export const DADDR_OFFSET = 30;
/** 10.0.0.1 and 10.0.0.2 as big-endian numbers. */
export const FROM_ADDR = 0x0a000001;
export const TO_ADDR = 0x0a000002;

/** TC_ACT_OK */
const OK = 0;

export const csumRewrite = program('tc', 'csum_rewrite', (b) => {
  const eth = b.parse(Eth, 0).orReturn(OK);
  b.if(eth.proto.ne(0x0800), () => b.return(OK));
  const ip = b.parse(Ip4, 14).orReturn(OK);
  b.if(ip.daddr.ne(FROM_ADDR), () => b.return(OK));
  // The new address as it sits in the packet (network byte order).
  const addr = b.local(be32, TO_ADDR);
  b.skbStoreBytes(DADDR_OFFSET, addr, 4);
  // Plain numbers are host-order values of the 4-byte field, as with set() and ne().
  b.l3CsumReplace(CHECK_OFFSET, FROM_ADDR, TO_ADDR, 4);
  b.return(OK);
});
