/**
 * The few libc calls the netlink layer needs, bound through koffi. Each wrapper
 * returns the raw result and the errno captured right after the call, so callers
 * turn failures into typed errors without racing other FFI calls.
 */
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

const socketFn = libc.func('int socket(int domain, int type, int protocol)');
const bindFn = libc.func('int bind(int fd, const void *addr, uint32_t len)');
const setsockoptFn = libc.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)');
const sendtoFn = libc.func('intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t addrlen)');
const recvFn = libc.func('intptr_t recv(int fd, void *buf, size_t len, int flags)');
const closeFn = libc.func('int close(int fd)');
const setnsFn = libc.func('int setns(int fd, int nstype)');
const getsocknameFn = libc.func('int getsockname(int fd, void *addr, _Inout_ uint32_t *len)');

/** Result of a libc call: the return value and errno when it failed. */
export interface CallResult {
  readonly ret: number;
  readonly errno: number;
}

function result(ret: number | bigint): CallResult {
  const n = typeof ret === 'bigint' ? Number(ret) : ret;
  return { ret: n, errno: n < 0 ? koffi.errno() : 0 };
}

/** socket(2). */
export function sysSocket(domain: number, type: number, protocol: number): CallResult {
  return result(socketFn(domain, type, protocol) as number);
}

/** bind(2) with a pre-encoded sockaddr. */
export function sysBind(fd: number, addr: Uint8Array): CallResult {
  return result(bindFn(fd, addr, addr.length) as number);
}

/** setsockopt(2) with a pre-encoded value. */
export function sysSetsockopt(fd: number, level: number, name: number, value: Uint8Array): CallResult {
  return result(setsockoptFn(fd, level, name, value, value.length) as number);
}

/** sendto(2) towards a pre-encoded sockaddr. */
export function sysSendto(fd: number, buf: Uint8Array, flags: number, addr: Uint8Array): CallResult {
  return result(sendtoFn(fd, buf, buf.length, flags, addr, addr.length) as number | bigint);
}

/** recv(2) into `buf`; the return value may exceed `buf.length` with MSG_TRUNC. */
export function sysRecv(fd: number, buf: Uint8Array, flags: number): CallResult {
  return result(recvFn(fd, buf, buf.length, flags) as number | bigint);
}

/** close(2). */
export function sysClose(fd: number): CallResult {
  return result(closeFn(fd) as number);
}

/** setns(2): moves the calling thread into the namespace behind `fd`. */
export function sysSetns(fd: number, nstype: number): CallResult {
  return result(setnsFn(fd, nstype) as number);
}

/** getsockname(2) into `addr`. */
export function sysGetsockname(fd: number, addr: Uint8Array): CallResult {
  const len = [addr.length];
  return result(getsocknameFn(fd, addr, len) as number);
}
