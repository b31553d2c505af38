/**
 * The only place that calls into libc. koffi is loaded lazily so importing the
 * loader on a machine without it (or without Linux) fails only when a syscall is
 * actually made, with a clear message.
 */
import { createRequire } from 'node:module';
import { TsbpfError } from '../../dsl/errors.js';

interface Koffi {
  load(path: string): { func(proto: string): (...args: unknown[]) => unknown };
  address(value: unknown): bigint;
  errno(): number;
  view(ptr: unknown, len: number): ArrayBuffer;
}

interface Libc {
  koffi: Koffi;
  syscall: (...args: unknown[]) => unknown;
  close: (fd: number) => unknown;
  mmap: (addr: null, length: number, prot: number, flags: number, fd: number, offset: number) => unknown;
  munmap: (addr: unknown, length: number) => unknown;
  sysconf: (name: number) => unknown;
}

let libc: Libc | undefined;

/** The bpf(2) syscall number for this CPU architecture. */
export function bpfSyscallNumber(arch: string = process.arch): number {
  switch (arch) {
    case 'x64':
      return 321;
    case 'arm64':
      return 280;
    default:
      throw new TsbpfError('BPF_UNSUPPORTED_ARCH', `bpf(2) syscall number unknown for architecture ${arch} (supported: x64, arm64)`);
  }
}

function load(): Libc {
  if (libc) return libc;
  let koffi: Koffi;
  try {
    const require = createRequire(import.meta.url);
    koffi = require('koffi') as Koffi;
  } catch (err) {
    throw new TsbpfError('FFI_UNAVAILABLE', `cannot load koffi (needed for bpf(2)): ${(err as Error).message}`, { cause: err });
  }
  const lib = koffi.load('libc.so.6');
  libc = {
    koffi,
    // Variadic on purpose: glibc's syscall() is `long syscall(long number, ...)`.
    syscall: lib.func('long syscall(long number, ...)'),
    close: lib.func('int close(int fd)'),
    mmap: lib.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)') as Libc['mmap'],
    munmap: lib.func('int munmap(void *addr, size_t length)') as Libc['munmap'],
    sysconf: lib.func('long sysconf(int name)') as Libc['sysconf'],
  };
  return libc;
}

/** Result of one raw syscall: the return value and, when it is negative, errno. */
export interface SyscallResult {
  readonly ret: number;
  readonly errno: number;
}

/**
 * Calls bpf(cmd, attr, attr.byteLength). `attr` is passed by pointer (koffi hands
 * the kernel the buffer's own memory), so output fields land back in it.
 */
export function bpfSyscall(cmd: number, attr: Uint8Array): SyscallResult {
  const c = load();
  const ret = Number(c.syscall(bpfSyscallNumber(), 'int', cmd, 'void *', attr, 'unsigned int', attr.byteLength));
  return { ret, errno: ret < 0 ? c.koffi.errno() : 0 };
}

/** close(2); returns errno (0 on success). */
export function closeFd(fd: number): number {
  const c = load();
  const ret = Number(c.close(fd));
  return ret < 0 ? c.koffi.errno() : 0;
}

/**
 * Address of a buffer's first byte, as the kernel's `__aligned_u64` pointer
 * fields want it. Node never moves a buffer's backing store, so the address stays
 * valid for as long as the caller keeps `buf` alive (through the syscall).
 * Empty buffers yield 0 (a NULL pointer), which is what the kernel expects for
 * "no buffer".
 */
export function addressOf(buf: Uint8Array | null | undefined): bigint {
  if (!buf || buf.byteLength === 0) return 0n;
  return load().koffi.address(buf);
}

/** A shared memory mapping of an fd; `bytes` views it without copying. */
export interface Mapping {
  readonly bytes: Uint8Array;
  /** Unmaps (idempotent); `bytes` must not be touched afterwards. */
  unmap(): void;
}

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;

/** mmap(2) of `length` bytes of `fd` at `offset`, shared; returns errno on failure. */
export function mmapFd(fd: number, length: number, offset: number, writable: boolean): Mapping | { errno: number } {
  const c = load();
  const ptr = c.mmap(null, length, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, offset);
  if (ptr === null || c.koffi.address(ptr) === MAP_FAILED) return { errno: c.koffi.errno() };
  let mapped = true;
  return {
    bytes: new Uint8Array(c.koffi.view(ptr, length)),
    unmap() {
      if (!mapped) return;
      mapped = false;
      c.munmap(ptr, length);
    },
  };
}

let pageSizeCache: number | undefined;
/** The system page size (sysconf(_SC_PAGESIZE)). */
export function pageSize(): number {
  pageSizeCache ??= Number(load().sysconf(30 /* _SC_PAGESIZE on Linux */));
  return pageSizeCache;
}
