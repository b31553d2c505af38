/**
 * Address and port rewrites with exact checksum fix-ups (DNAT, reverse NAT,
 * SNAT). Every rewrite goes through the kernel helpers: `l4_csum_replace` with
 * BPF_F_PSEUDO_HDR for an address (it is part of the L4 pseudo header), plus
 * `l3_csum_replace` on the IPv4 header; IPv6 addresses are folded with
 * `csum_diff` first; UDP uses BPF_F_MARK_MANGLED_0 so a zero ("no checksum")
 * IPv4 UDP checksum stays zero and a result of zero is written as 0xffff. The
 * new bytes are written with `skb_store_bytes` afterwards.
 */
import type { B, Int, Value, View } from '../../dsl/program/index.js';
import { ipv4, ipv6, be16, u8, u32 } from '../../dsl/types/index.js';
import type { AddrView, Family } from './parse-family.js';
import { PROTO_UDP, TCP_CSUM_OFF, UDP_CSUM_OFF } from './parse-headers.js';

/** BPF_F_PSEUDO_HDR: the changed field is part of the pseudo header. */
export const BPF_F_PSEUDO_HDR = 0x10;
/** BPF_F_MARK_MANGLED_0: keep a zero checksum, write 0 results as 0xffff (UDP). */
export const BPF_F_MARK_MANGLED_0 = 0x20;

/** Where the packet's L4 checksum is and whether it is UDP's (which may be 0). */
export interface L4Csum {
  /** Packet offset of the TCP/UDP checksum. */
  readonly off: Int<'u32'>;
  /** 1 for UDP, 0 for TCP. */
  readonly udp: Int<'u8'>;
}

/** The L4 checksum facts for a TCP or UDP packet of family `F` with IP protocol `nexthdr`. */
export function l4CsumOf(F: Family, b: B, nexthdr: Value<'u8'>): L4Csum {
  const udp = b.let(u8, 0);
  const off = b.let(u32, F.l4Off + TCP_CSUM_OFF);
  b.if(nexthdr.eq(PROTO_UDP), () => {
    udp.set(1);
    off.set(F.l4Off + UDP_CSUM_OFF);
  });
  return { off, udp };
}

/**
 * Rewrites the address at packet offset `addrOff` (F.saddrOff / F.daddrOff or an
 * embedded header's) from `from` to `to` (address views of family F), fixing the
 * L4 checksum at `l4` (pseudo header) and, for IPv4, the header checksum at `ipCsumOff`.
 */
export function natAddr(F: Family, b: B, l4: L4Csum | undefined, addrOff: number, from: AddrView, to: AddrView, ipCsumOff = F.ipCsumOff): void {
  if (!F.v6) {
    const old = (from as View<typeof ipv4, 'stack'>).get();
    const now = (to as View<typeof ipv4, 'stack'>).get();
    if (l4) b.l4CsumReplace(l4.off, old, now, l4.udp.mul(BPF_F_MARK_MANGLED_0).or(BPF_F_PSEUDO_HDR | 4));
    if (ipCsumOff !== undefined) b.l3CsumReplace(ipCsumOff, old, now, 4);
    const bytes = b.local(ipv4);
    bytes.set(now);
    b.skbStoreBytes(addrOff, bytes, 4);
    return;
  }
  const old = b.local(ipv6);
  old.set(from as View<typeof ipv6, 'stack'>);
  const now = b.local(ipv6);
  now.set(to as View<typeof ipv6, 'stack'>);
  if (l4) {
    const diff = b.csumDiff(old, now, 0);
    b.if(
      l4.udp.ne(0),
      () => void b.l4CsumReplace(l4.off, 0, diff, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0),
      () => void b.l4CsumReplace(l4.off, 0, diff, BPF_F_PSEUDO_HDR),
    );
  }
  b.skbStoreBytes(addrOff, now, 16);
}

/** Rewrites the port at packet offset `portOff` from `from` to `to`, fixing the L4 checksum. */
export function natPort(b: B, l4: L4Csum, portOff: number, from: Value<'be16'>, to: Value<'be16'>): void {
  b.l4CsumReplace(l4.off, from, to, l4.udp.mul(BPF_F_MARK_MANGLED_0).or(2));
  const bytes = b.local(be16);
  bytes.set(to);
  b.skbStoreBytes(portOff, bytes, 2);
}
