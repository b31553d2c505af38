/** Conversions between IP address / MAC text and the bytes rtnetlink carries (on dsl/types' parsers). */
import { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6 } from '../../dsl/types/address.js';
import { NetlinkUsageError } from './errors.js';

/** The 4 or 16 bytes of an IPv4 or IPv6 address. */
export function ipBytes(address: string): Uint8Array {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff);
  const v6 = parseIpv6(address);
  if (v6 === undefined) throw new NetlinkUsageError(`${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
  return v6;
}

/** Text of 4 or 16 address bytes. */
export function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIpv4(((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0);
  if (bytes.length === 16) return formatIpv6(bytes);
  throw new NetlinkUsageError(`an IP address has 4 or 16 bytes, got ${bytes.length}`);
}

/** 'aa:bb:cc:dd:ee:ff' of a 6-byte hardware address. */
export function macText(bytes: Uint8Array): string {
  return formatMac(bytes);
}
