/**
 * Netlink message codec: `struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq;
 * u32 pid; }`, a fixed family header (ifinfomsg, tcmsg, …) and attributes.
 */
import { attrsLength, encodeAttrs, nlAlign, type Attr } from './attributes.js';
import { NetlinkUsageError } from './errors.js';

/** Size of `struct nlmsghdr`. */
export const NLMSG_HDRLEN = 16;

/** A message to send. `header` is the family header (already encoded). */
export interface OutgoingMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid?: number;
  readonly header: Uint8Array;
  readonly attrs?: readonly Attr[];
}

/** A received message: header fields and the payload after `nlmsghdr`. */
export interface IncomingMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  readonly payload: Uint8Array;
}

/** Encodes one netlink message into a fresh buffer. */
export function encodeMessage(msg: OutgoingMessage): Uint8Array {
  const attrs = msg.attrs ?? [];
  const total = NLMSG_HDRLEN + nlAlign(msg.header.length) + attrsLength(attrs);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, total, true);
  view.setUint16(4, msg.type, true);
  view.setUint16(6, msg.flags, true);
  view.setUint32(8, msg.seq >>> 0, true);
  view.setUint32(12, (msg.pid ?? 0) >>> 0, true);
  out.set(msg.header, NLMSG_HDRLEN);
  encodeAttrs(attrs, out, NLMSG_HDRLEN + nlAlign(msg.header.length));
  return out;
}

/** Splits a datagram into its messages; throws on a length that runs past the end. */
export function decodeMessages(buf: Uint8Array): IncomingMessage[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: IncomingMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = view.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new NetlinkUsageError(`malformed netlink message at offset ${off}: length ${len}, ${buf.length - off} bytes left`);
    }
    out.push({
      type: view.getUint16(off + 4, true),
      flags: view.getUint16(off + 6, true),
      seq: view.getUint32(off + 8, true),
      pid: view.getUint32(off + 12, true),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += nlAlign(len);
  }
  return out;
}
