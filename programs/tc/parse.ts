/**
 * Packet parsing for the tc datapath: reads a TCP, UDP or ICMP-error packet of
 * one family into stack values, so that everything after it works on the stack
 * and rewrites the packet only through helpers (no packet pointer stays live,
 * which also lets the 4.19 splitter cut anywhere after parsing).
 *
 * Handled: IPv4 without options and not a later fragment, IPv6 whose next
 * header is TCP/UDP/ICMPv6 directly. ICMP errors (destination unreachable,
 * time exceeded) whose embedded packet is TCP/UDP give that embedded tuple.
 * Anything else returns `passCode` from the program (it is not ours to touch).
 */
import type { B, Var } from '../../dsl/program/index.js';
import { struct, u8 } from '../../dsl/types/index.js';
import type { AddrView, CtKeyView, Family, FamilyView } from './parse-family.js';
import { CT_OUT } from './conntrack-schemas.js';
import { IcmpHdr, Ipv4Hdr, Ipv6Hdr, L4Ports, PROTO_TCP, PROTO_UDP, TcpHdr, ICMP_HLEN } from './parse-headers.js';

/** An ICMPv4 error with the first 24 bytes of its embedded packet (IPv4 header + ports). */
const IcmpInner4 = struct('tc_icmp_inner4', { icmp: IcmpHdr, ip: Ipv4Hdr, ports: L4Ports });
/** An ICMPv6 error with the first 44 bytes of its embedded packet. */
const IcmpInner6 = struct('tc_icmp_inner6', { icmp: IcmpHdr, ip: Ipv6Hdr, ports: L4Ports });

/** `Parsed.kind`: a TCP or UDP packet. */
export const PKT_L4 = 0;
/** `Parsed.kind`: an ICMP error about a TCP/UDP packet. */
export const PKT_ICMP_ERROR = 1;

/** What {@link parsePacket} read. */
export interface Parsed {
  /**
   * The packet's tuple as a conntrack key with `flags = CT_OUT` (for an ICMP
   * error: the embedded packet's tuple, as that packet was sent).
   */
  readonly tuple: CtKeyView;
  /** TCP flags (0 for UDP and ICMP errors). */
  readonly tcpFlags: Var<'u8'>;
  /** PKT_L4 or PKT_ICMP_ERROR. */
  readonly kind: Var<'u8'>;
  /** Outer source address (an ICMP error's sender). */
  readonly outerSaddr: AddrView;
  /** Outer destination address (an ICMP error's receiver). */
  readonly outerDaddr: AddrView;
}

/**
 * Parses the packet as family `F` (the caller has checked the EtherType).
 * Returns `passCode` from the program for packets the datapath does not handle.
 */
export function parsePacket(F: Family, b: B, passCode: number): Parsed {
  const tuple: FamilyView = b.local(F.ctKey as never, { flags: CT_OUT } as never);
  const outerSaddr: FamilyView = b.local(F.addr as never);
  const outerDaddr: FamilyView = b.local(F.addr as never);
  const tcpFlags = b.let(u8, 0);
  const kind = b.let(u8, PKT_L4);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const ip: any = F.v6 ? b.parse(Ipv6Hdr, F.l4Off - F.ipHlen).orReturn(passCode) : b.parse(Ipv4Hdr, F.l4Off - F.ipHlen).orReturn(passCode);
  if (!F.v6) b.if(ip.verIhl.ne(0x45).or(() => ip.frag.and(0x1fff).ne(0)), () => b.return(passCode));
  const proto = (F.v6 ? ip.nexthdr : ip.proto).get();
  F.copyAddr(tuple.saddr, ip.saddr);
  F.copyAddr(tuple.daddr, ip.daddr);
  tuple.nexthdr.set(proto);
  b.if(
    proto.eq(PROTO_TCP),
    () => {
      const tcp = b.parse(TcpHdr, F.l4Off).orReturn(passCode);
      tuple.sport.set(tcp.sport);
      tuple.dport.set(tcp.dport);
      tcpFlags.set(tcp.flags);
    },
    () =>
      b.if(
        proto.eq(PROTO_UDP),
        () => {
          const udp = b.parse(L4Ports, F.l4Off).orReturn(passCode);
          tuple.sport.set(udp.sport);
          tuple.dport.set(udp.dport);
        },
        () => {
          b.if(proto.ne(F.icmpProto), () => b.return(passCode));
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const m: any = F.v6 ? b.parse(IcmpInner6, F.l4Off).orReturn(passCode) : b.parse(IcmpInner4, F.l4Off).orReturn(passCode);
          const type = m.icmp.type.get();
          b.if(F.isIcmpError(type).not(), () => b.return(passCode));
          if (!F.v6) b.if(m.ip.verIhl.ne(0x45), () => b.return(passCode));
          const inner = (F.v6 ? m.ip.nexthdr : m.ip.proto).get();
          b.if(inner.ne(PROTO_TCP).and(inner.ne(PROTO_UDP)), () => b.return(passCode));
          F.copyAddr(outerSaddr, ip.saddr);
          F.copyAddr(outerDaddr, ip.daddr);
          F.copyAddr(tuple.saddr, m.ip.saddr);
          F.copyAddr(tuple.daddr, m.ip.daddr);
          tuple.sport.set(m.ports.sport);
          tuple.dport.set(m.ports.dport);
          tuple.nexthdr.set(inner);
          kind.set(PKT_ICMP_ERROR);
        },
      ),
  );
  return { tuple, tcpFlags, kind, outerSaddr, outerDaddr };
}

/** Offset of an ICMP error's embedded IP header. */
export function innerIpOff(F: Family): number {
  return F.l4Off + ICMP_HLEN;
}

/** Offset of an ICMP error's embedded L4 header. */
export function innerL4Off(F: Family): number {
  return F.l4Off + ICMP_HLEN + F.ipHlen;
}
