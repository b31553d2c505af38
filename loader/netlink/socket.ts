/**
 * A NETLINK_ROUTE socket with request/acknowledge and dump semantics. Every request
 * asks for an acknowledgement, so a kernel refusal always surfaces as a
 * `NetlinkError` naming the request; replies are matched by sequence number.
 */
import { AttrSet, type Attr } from './attributes.js';
import {
  AF_NETLINK,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_ROUTE,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSGERR_ATTR_MSG,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
} from './constants.js';
import { NetlinkError, NetlinkUsageError } from './errors.js';
import { sysBind, sysClose, sysGetsockname, sysRecv, sysSendto, sysSetsockopt, sysSocket } from './libc.js';
import { decodeMessages, encodeMessage, NLMSG_HDRLEN, type IncomingMessage } from './message.js';
import { withNetns } from './netns.js';

const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const MSG_TRUNC = 0x20;
const RECV_BUFFER = 1 << 18;

/** A request: message type, extra flags (CREATE, REPLACE, …), family header, attributes. */
export interface NetlinkRequest {
  readonly type: number;
  readonly flags?: number;
  readonly header: Uint8Array;
  readonly attrs?: readonly Attr[];
}

/** Options for opening a socket. */
export interface NetlinkSocketOptions {
  /** Network namespace (name under /var/run/netns or a path) the socket lives in. */
  readonly netns?: string;
  /** Receive timeout; a kernel that never answers becomes an ETIMEDOUT-like error. Default 5000 ms. */
  readonly timeoutMs?: number;
}

function sockaddrNl(pid = 0, groups = 0): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint16(0, AF_NETLINK, true);
  v.setUint32(4, pid, true);
  v.setUint32(8, groups, true);
  return out;
}

function u32Bytes(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

/** An open rtnetlink socket. Owns its fd: call `close()` or use `using`. */
export class NetlinkSocket {
  #fd: number;
  #seq: number;
  #portId: number;
  readonly #buffer = new Uint8Array(RECV_BUFFER);

  private constructor(fd: number, portId: number) {
    this.#fd = fd;
    this.#portId = portId;
    // Start from a time-derived number so stale replies from a reused fd never match.
    this.#seq = (Date.now() & 0x7fffffff) >>> 0;
  }

  /** Opens and binds a NETLINK_ROUTE socket, optionally inside another network namespace. */
  static open(options: NetlinkSocketOptions = {}): NetlinkSocket {
    const opened = withNetns(options.netns, () => sysSocket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (opened.ret < 0) throw new NetlinkError('socket(AF_NETLINK, NETLINK_ROUTE)', opened.errno);
    const fd = opened.ret;
    try {
      const bound = sysBind(fd, sockaddrNl());
      if (bound.ret < 0) throw new NetlinkError('bind(netlink socket)', bound.errno);
      // Extended acks give the kernel's own explanation; capped acks keep error replies small.
      sysSetsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, u32Bytes(1));
      sysSetsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, u32Bytes(1));
      const timeoutMs = options.timeoutMs ?? 5000;
      const tv = new Uint8Array(16);
      const tvView = new DataView(tv.buffer);
      tvView.setBigInt64(0, BigInt(Math.floor(timeoutMs / 1000)), true);
      tvView.setBigInt64(8, BigInt((timeoutMs % 1000) * 1000), true);
      const timed = sysSetsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv);
      if (timed.ret < 0) throw new NetlinkError('setsockopt(SO_RCVTIMEO)', timed.errno);
      const addr = new Uint8Array(12);
      const named = sysGetsockname(fd, addr);
      if (named.ret < 0) throw new NetlinkError('getsockname(netlink socket)', named.errno);
      return new NetlinkSocket(fd, new DataView(addr.buffer).getUint32(4, true));
    } catch (e) {
      sysClose(fd);
      throw e;
    }
  }

  /** Runs `f` with a socket opened in `netns` (default: this process's namespace), closed afterwards. */
  static with<T>(netns: string | undefined, f: (sock: NetlinkSocket) => T): T {
    const sock = NetlinkSocket.open(netns !== undefined ? { netns } : {});
    try {
      return f(sock);
    } finally {
      sock.close();
    }
  }

  /** The socket's file descriptor (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  /**
   * Sends a request with NLM_F_ACK and returns every reply message before the
   * acknowledgement. `kind` describes the request for error messages.
   */
  request(kind: string, req: NetlinkRequest): IncomingMessage[] {
    const seq = this.#send(req, NLM_F_REQUEST | NLM_F_ACK | (req.flags ?? 0));
    const replies: IncomingMessage[] = [];
    for (;;) {
      for (const msg of this.#receive(kind)) {
        if (msg.seq !== seq || msg.pid !== this.#portId) continue;
        if (msg.type === NLMSG_ERROR) {
          const { errno, text } = parseError(msg);
          if (errno !== 0) throw new NetlinkError(kind, errno, text);
          return replies;
        }
        if (msg.type === NLMSG_DONE) return replies;
        if (msg.type !== NLMSG_NOOP) replies.push(msg);
      }
    }
  }

  /** Sends a dump request (NLM_F_DUMP) and collects every message up to NLMSG_DONE. */
  dump(kind: string, req: NetlinkRequest): IncomingMessage[] {
    const seq = this.#send(req, NLM_F_REQUEST | NLM_F_DUMP | (req.flags ?? 0));
    const replies: IncomingMessage[] = [];
    let interrupted = false;
    for (;;) {
      for (const msg of this.#receive(kind)) {
        if (msg.seq !== seq || msg.pid !== this.#portId) continue;
        if (msg.flags & NLM_F_DUMP_INTR) interrupted = true;
        if (msg.type === NLMSG_ERROR) {
          const { errno, text } = parseError(msg);
          if (errno !== 0) throw new NetlinkError(kind, errno, text);
          continue;
        }
        if (msg.type === NLMSG_DONE) {
          const code = msg.payload.length >= 4 ? new DataView(msg.payload.buffer, msg.payload.byteOffset).getInt32(0, true) : 0;
          if (code < 0) throw new NetlinkError(kind, -code);
          // A dump that raced a change is inconsistent; the caller's view would be wrong.
          if (interrupted) throw new NetlinkError(`${kind} (dump interrupted by a concurrent change)`, 4 /* EINTR */);
          return replies;
        }
        if (msg.type !== NLMSG_NOOP) replies.push(msg);
      }
    }
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.#fd < 0) return;
    sysClose(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #send(req: NetlinkRequest, flags: number): number {
    if (this.#fd < 0) throw new NetlinkUsageError('netlink socket is closed');
    this.#seq = (this.#seq + 1) >>> 0;
    const bytes = encodeMessage({ type: req.type, flags, seq: this.#seq, header: req.header, attrs: req.attrs ?? [] });
    const sent = sysSendto(this.#fd, bytes, 0, sockaddrNl());
    if (sent.ret < 0) throw new NetlinkError(`sendto(netlink, message type ${req.type})`, sent.errno);
    return this.#seq;
  }

  #receive(kind: string): IncomingMessage[] {
    const got = sysRecv(this.#fd, this.#buffer, MSG_TRUNC);
    if (got.ret < 0) throw new NetlinkError(`${kind}: waiting for the kernel's reply`, got.errno);
    if (got.ret > this.#buffer.length) {
      throw new NetlinkError(`${kind}: reply of ${got.ret} bytes exceeds the ${this.#buffer.length}-byte buffer`, 90 /* EMSGSIZE */);
    }
    // Copy: the receive buffer is reused by the next call.
    return decodeMessages(this.#buffer.slice(0, got.ret));
  }
}

/** Reads the errno and extended-ack text out of an NLMSG_ERROR payload. */
export function parseError(msg: IncomingMessage): { errno: number; text: string | undefined } {
  const p = msg.payload;
  if (p.length < 4) throw new NetlinkUsageError('truncated NLMSG_ERROR reply');
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const errno = -view.getInt32(0, true);
  let text: string | undefined;
  if (msg.flags & NLM_F_ACK_TLVS && p.length >= 4 + NLMSG_HDRLEN) {
    // The echoed request is only its header when capped, else header + payload.
    const echoed = msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : view.getUint32(4, true);
    const start = 4 + ((echoed + 3) & ~3);
    if (start <= p.length) text = AttrSet.decode(p.subarray(start)).string(NLMSGERR_ATTR_MSG);
  }
  return { errno, text };
}
