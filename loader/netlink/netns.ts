/**
 * Running a piece of synchronous code inside another network namespace. Network
 * objects (netlink sockets, interface indexes given to bpf()) are resolved in the
 * namespace of the calling thread, so attaching to an interface of a named netns
 * means: switch the thread in, do the syscall, switch back. The switch is
 * per-thread (setns(2) with CLONE_NEWNET) and only ever lasts for `fn`.
 */
import { closeSync, openSync } from 'node:fs';
import { NetlinkError, NetlinkUsageError } from './errors.js';
import { sysSetns } from './libc.js';

const CLONE_NEWNET = 0x40000000;

/** `/var/run/netns/NAME` for a bare name (as `ip netns add NAME` creates it); paths pass through. */
export function netnsPath(nameOrPath: string): string {
  if (nameOrPath.includes('/')) return nameOrPath;
  if (!/^[A-Za-z0-9_.-]+$/.test(nameOrPath)) throw new NetlinkUsageError(`invalid network namespace name ${JSON.stringify(nameOrPath)}`);
  return `/var/run/netns/${nameOrPath}`;
}

/**
 * Calls `fn` with the current thread inside network namespace `ns` (a name from
 * `ip netns` or a path such as `/proc/PID/ns/net`) and always switches back.
 * `fn` must be synchronous: an `await` inside would run other code in `ns`.
 */
export function withNetns<T>(ns: string | undefined, fn: () => T): T {
  if (ns === undefined) return fn();
  const path = netnsPath(ns);
  let target: number;
  try {
    target = openSync(path, 'r');
  } catch (e) {
    throw new NetlinkUsageError(`cannot open network namespace ${path}: ${(e as Error).message}`);
  }
  let home = -1;
  try {
    home = openSync('/proc/thread-self/ns/net', 'r');
    const entered = sysSetns(target, CLONE_NEWNET);
    if (entered.ret < 0) throw new NetlinkError(`setns(${path})`, entered.errno);
    try {
      const value = fn();
      if (value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function') {
        throw new NetlinkUsageError('withNetns: the callback returned a promise; it must be synchronous');
      }
      return value;
    } finally {
      const back = sysSetns(home, CLONE_NEWNET);
      // Staying in the wrong namespace would silently misdirect every later socket.
      if (back.ret < 0) throw new NetlinkError('setns(back to the original network namespace)', back.errno);
    }
  } finally {
    if (home >= 0) closeSync(home);
    closeSync(target);
  }
}
