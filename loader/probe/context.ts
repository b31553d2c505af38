/** Shared state of one probing run: syscall buffers, the kernel's names, BTF index. */
import { release } from 'node:os';
import { errnoName } from '../sys/errno.js';
import { buildCatalog, type Catalog } from './catalog.js';
import { ProbeSyscalls } from './raw.js';
import { inconclusive, unsupported, type Feature } from './result.js';
import { VmlinuxIndex } from './vmlinux.js';

/** Everything a section probe needs. */
export interface ProbeContext {
  readonly sys: ProbeSyscalls;
  readonly vmlinux: VmlinuxIndex | undefined;
  readonly catalog: Catalog;
  /** LINUX_VERSION_CODE of the running kernel (for kprobe loads on old kernels). */
  readonly kernVersion: number;
  readonly pageSize: number;
  /** Name → value lookups of the catalog. */
  readonly progType: ReadonlyMap<string, number>;
  readonly mapType: ReadonlyMap<string, number>;
  readonly attachType: ReadonlyMap<string, number>;
  readonly linkType: ReadonlyMap<string, number>;
  readonly helperId: ReadonlyMap<string, number>;
}

/** LINUX_VERSION_CODE from a release string like `6.18.44-fc`. */
export function versionCode(rel: string = release()): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255);
}

/** Builds a context (reads vmlinux BTF once). */
export function createContext(vmlinuxPath?: string): ProbeContext {
  const vmlinux = VmlinuxIndex.load(vmlinuxPath);
  const catalog = buildCatalog(vmlinux);
  const map = (xs: readonly { name: string; value: number }[]) => new Map(xs.map((x) => [x.name, x.value]));
  return {
    sys: new ProbeSyscalls(),
    vmlinux,
    catalog,
    kernVersion: versionCode(),
    pageSize: 4096,
    progType: map(catalog.progTypes),
    mapType: map(catalog.mapTypes),
    attachType: map(catalog.attachTypes),
    linkType: map(catalog.linkTypes),
    helperId: map(catalog.helpers),
  };
}

/**
 * Turns a failed syscall into a result. Sections that call this run only with
 * privileges, so EPERM means the kernel or a security policy would not let us
 * ask (trampoline-based types on some kernels): inconclusive. Other errnos mean
 * the kernel refused what we asked for.
 */
export function refusal(what: string, errno: number, detail = ''): Feature {
  const name = errnoName(errno);
  const tail = detail ? `: ${detail}` : '';
  if (name === 'EPERM')
    return inconclusive(`${what} failed with EPERM although this process has CAP_BPF/CAP_SYS_ADMIN: the kernel or a security policy refuses this kind of program here${tail}`);
  return unsupported({ reason: `${what} failed with ${name}${tail}` });
}
