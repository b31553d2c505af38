/**
 * Network namespaces the lab creates. Names are unique per process
 * (`tsbpf-<tag>-<pid>-<hex>`), so a lab never touches a namespace it did not
 * make; deleting a namespace takes its veths, addresses, routes and
 * netfilter rules with it.
 */
import { randomBytes } from 'node:crypto';
import { ip, nsRun } from './exec.js';
import { LabError } from './errors.js';

/** Prefix of every namespace, cgroup and directory the lab creates. */
export const LAB_PREFIX = 'tsbpf-';

/** A fresh unique name: `tsbpf-<tag>-<pid>-<hex>` (fits `ip netns` and cgroup naming rules). */
export function uniqueName(tag: string): string {
  if (!/^[a-z0-9-]{1,20}$/.test(tag)) throw new LabError('LAB_INPUT', `lab name tag ${JSON.stringify(tag)}: use 1–20 of [a-z0-9-]`);
  return `${LAB_PREFIX}${tag}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * IPv6 duplicate address detection off for every interface made in the
 * namespace. Why: while a veth's link-local address is tentative (~1–2 s after
 * link up) the kernel sends no neighbour solicitation for a forwarded packet
 * (it has no usable source address), so the first IPv6 packets a namespace
 * routes wait a full retransmit — long enough for a bounded client to time
 * out under load. Addresses in a lab namespace cannot collide anyway.
 */
const NO_DAD = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];

/** Creates a namespace with `lo` up and IPv6 DAD off ({@link NO_DAD}) and returns its name. */
export function createNetns(tag = 'ns'): string {
  const name = uniqueName(tag);
  ip('netns', 'add', name);
  try {
    ip('-n', name, 'link', 'set', 'lo', 'up');
    nsRun(name, ['sysctl', '-qw', ...NO_DAD]);
  } catch (e) {
    deleteNetns(name);
    throw e;
  }
  return name;
}

/** Deletes a namespace the lab created; one that is already gone is fine. Refuses names the lab does not make. */
export function deleteNetns(name: string): void {
  if (!name.startsWith(LAB_PREFIX)) throw new LabError('LAB_INPUT', `refusing to delete namespace ${JSON.stringify(name)}: not created by the lab`);
  try {
    ip('netns', 'del', name);
  } catch {
    // Already deleted.
  }
}

/** Names of every namespace `ip netns` knows. */
export function listNetns(): string[] {
  return ip('netns', 'list')
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/** Sets a sysctl inside namespace `ns` (per-namespace keys such as `net.ipv4.ip_forward`). */
export function setSysctl(ns: string, key: string, value: string | number): void {
  if (!/^net\.[a-z0-9_.-]+$/.test(key)) throw new LabError('LAB_INPUT', `sysctl ${JSON.stringify(key)}: only per-namespace net.* keys`);
  nsRun(ns, ['sysctl', '-qw', `${key}=${value}`]);
}
