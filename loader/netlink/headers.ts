/** Fixed family headers of rtnetlink messages: ifinfomsg (links) and tcmsg (qdiscs, filters). */
import { NetlinkUsageError } from './errors.js';

/** `struct ifinfomsg` (16 bytes). */
export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

/** Size of `struct ifinfomsg`. */
export const IFINFOMSG_LEN = 16;

/** Encodes a `struct ifinfomsg`. */
export function encodeIfInfoMsg(m: Partial<IfInfoMsg>): Uint8Array {
  const out = new Uint8Array(IFINFOMSG_LEN);
  const v = new DataView(out.buffer);
  v.setUint8(0, m.family ?? 0);
  v.setUint16(2, m.type ?? 0, true);
  v.setInt32(4, m.index ?? 0, true);
  v.setUint32(8, (m.flags ?? 0) >>> 0, true);
  v.setUint32(12, (m.change ?? 0) >>> 0, true);
  return out;
}

/** Decodes a `struct ifinfomsg` at the start of `buf`. */
export function decodeIfInfoMsg(buf: Uint8Array): IfInfoMsg {
  if (buf.length < IFINFOMSG_LEN) throw new NetlinkUsageError(`ifinfomsg needs ${IFINFOMSG_LEN} bytes, got ${buf.length}`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    family: v.getUint8(0),
    type: v.getUint16(2, true),
    index: v.getInt32(4, true),
    flags: v.getUint32(8, true),
    change: v.getUint32(12, true),
  };
}

/** `struct tcmsg` (20 bytes). `info` of a filter is `prio << 16 | protocol (network order)`. */
export interface TcMsg {
  family: number;
  ifindex: number;
  handle: number;
  parent: number;
  info: number;
}

/** Size of `struct tcmsg`. */
export const TCMSG_LEN = 20;

/** Encodes a `struct tcmsg`. */
export function encodeTcMsg(m: Partial<TcMsg>): Uint8Array {
  const out = new Uint8Array(TCMSG_LEN);
  const v = new DataView(out.buffer);
  v.setUint8(0, m.family ?? 0);
  v.setInt32(4, m.ifindex ?? 0, true);
  v.setUint32(8, (m.handle ?? 0) >>> 0, true);
  v.setUint32(12, (m.parent ?? 0) >>> 0, true);
  v.setUint32(16, (m.info ?? 0) >>> 0, true);
  return out;
}

/** Decodes a `struct tcmsg` at the start of `buf`. */
export function decodeTcMsg(buf: Uint8Array): TcMsg {
  if (buf.length < TCMSG_LEN) throw new NetlinkUsageError(`tcmsg needs ${TCMSG_LEN} bytes, got ${buf.length}`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    family: v.getUint8(0),
    ifindex: v.getInt32(4, true),
    handle: v.getUint32(8, true),
    parent: v.getUint32(12, true),
    info: v.getUint32(16, true),
  };
}
