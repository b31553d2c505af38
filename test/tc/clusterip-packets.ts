/**
 * Packet builder for the tc datapath tests, written independently of the
 * programs: Ethernet + IPv4/IPv6 + TCP/UDP/ICMP frames with every checksum
 * computed from scratch (RFC 1071), so expected outputs are built, not derived
 * from what the program did.
 */

/** Bytes of an address: IPv4 dotted quad or IPv6 text (`::` allowed). */
export function addrBytes(text: string): number[] {
  if (!text.includes(':')) return text.split('.').map(Number);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** One's-complement sum of 16-bit big-endian words. */
function sum16(bytes: ArrayLike<number>, init = 0): number {
  let s = init;
  for (let k = 0; k < bytes.length; k += 2) s += (bytes[k]! << 8) | (k + 1 < bytes.length ? bytes[k + 1]! : 0);
  return s;
}

/** Folded, complemented Internet checksum of `bytes` plus `init`. */
export function inetChecksum(bytes: ArrayLike<number>, init = 0): number {
  let s = sum16(bytes, init);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

const be16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];

/** What an L4 segment is. */
export interface Segment {
  readonly proto: 'tcp' | 'udp';
  readonly sport: number;
  readonly dport: number;
  /** TCP flags byte (default ACK). */
  readonly flags?: number;
  readonly payload?: readonly number[];
  /** UDP only: send a zero ("none") checksum (IPv4). */
  readonly noChecksum?: boolean;
}

/** A TCP or UDP segment with its checksum over the pseudo header of `src`/`dst`. */
export function segment(src: string, dst: string, s: Segment): number[] {
  const payload = [...(s.payload ?? [])];
  const l4 =
    s.proto === 'tcp'
      ? [...be16(s.sport), ...be16(s.dport), 0, 0, 0x10, 0x01, 0, 0, 0x20, 0x02, 0x50, s.flags ?? 0x10, 0xfa, 0xf0, 0, 0, 0, 0, ...payload]
      : [...be16(s.sport), ...be16(s.dport), ...be16(8 + payload.length), 0, 0, ...payload];
  const proto = s.proto === 'tcp' ? 6 : 17;
  const off = s.proto === 'tcp' ? 16 : 6;
  if (!s.noChecksum) {
    let c = inetChecksum(l4, pseudo(src, dst, proto, l4.length));
    if (c === 0 && s.proto === 'udp') c = 0xffff;
    l4[off] = c >> 8;
    l4[off + 1] = c & 0xff;
  }
  return l4;
}

/** Unfolded sum of the pseudo header. */
function pseudo(src: string, dst: string, proto: number, len: number): number {
  return sum16([...addrBytes(src), ...addrBytes(dst)]) + proto + len;
}

/** An IP packet (no Ethernet) carrying `l4` of protocol `proto`. */
export function ipPacket(src: string, dst: string, proto: number, l4: readonly number[], ttl = 64): number[] {
  if (src.includes(':')) {
    return [0x60, 0x01, 0x23, 0x45, ...be16(l4.length), proto, ttl, ...addrBytes(src), ...addrBytes(dst), ...l4];
  }
  const h = [0x45, 0, ...be16(20 + l4.length), 0x12, 0x34, 0x40, 0, ttl, proto, 0, 0, ...addrBytes(src), ...addrBytes(dst)];
  const c = inetChecksum(h);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return [...h, ...l4];
}

/** The MACs of test frames: sent by the pod (`POD_MAC`) to its gateway (`GATEWAY_MAC`). */
export const GATEWAY_MAC = [0x02, 0, 0, 0, 0, 0x01];
export const POD_MAC = [0x02, 0, 0, 0, 0, 0x02];

/** An Ethernet frame around an IP packet, from the pod to its gateway, or back with `returned`. */
export function frame(ip: readonly number[], returned = false): Uint8Array {
  const v6 = (ip[0]! >> 4) === 6;
  const macs = returned ? [...POD_MAC, ...GATEWAY_MAC] : [...GATEWAY_MAC, ...POD_MAC];
  return Uint8Array.from([...macs, ...(v6 ? [0x86, 0xdd] : [0x08, 0x00]), ...ip]);
}

/** A TCP/UDP frame from src to dst (`returned`: the MACs swapped, as a hairpin sends it back). */
export function l4Frame(src: string, dst: string, s: Segment, returned = false): Uint8Array {
  return frame(ipPacket(src, dst, s.proto === 'tcp' ? 6 : 17, segment(src, dst, s)), returned);
}

/**
 * An ICMP error frame from `src` to `dst` (ICMPv6 when the addresses are IPv6)
 * quoting the first `quote` bytes of `embedded` (an IP packet); `rest` is the
 * header's second word (the MTU of a packet too big or fragmentation needed).
 */
export function icmpErrorFrame(src: string, dst: string, type: number, code: number, embedded: readonly number[], quote = 28, rest = 0): Uint8Array {
  const v6 = src.includes(':');
  const msg = [type, code, 0, 0, rest >>> 24, (rest >>> 16) & 0xff, (rest >>> 8) & 0xff, rest & 0xff, ...embedded.slice(0, quote)];
  const c = v6 ? inetChecksum(msg, pseudo(src, dst, 58, msg.length)) : inetChecksum(msg);
  msg[2] = c >> 8;
  msg[3] = c & 0xff;
  return frame(ipPacket(src, dst, v6 ? 58 : 1, msg));
}

/** TCP flag bits. */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;
