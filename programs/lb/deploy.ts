/**
 * Deploy lifecycle of the socket load balancer, as a library for the CLI
 * (`tsbpf lb up|down`) and agents:
 *
 * - `lbUp` compiles the socket-LB programs for the host in-process, loads them
 *   with the service tables pinned by name under the pin directory (reusing the
 *   pins that are there, so a restart keeps the service table) and attaches
 *   each program to the cgroup through a BPF link pinned at `<pin>/links/<hook>`.
 *   Links outlive the process that made them; when a hook is already attached
 *   its link's program is swapped atomically (BPF_LINK_UPDATE), so connects
 *   never see a moment without the load balancer.
 * - `lbDown` detaches the links and removes their pins but keeps the maps, so
 *   the next `lbUp` (also after a crash) starts from the same services;
 *   `purge` removes the maps too.
 *
 * Layout of the pin directory: the maps at `<pin>/<map name>` (what
 * `ServiceManager.fromPins(pin)` opens), the links at `<pin>/links/<hook>`, and
 * the object's other maps (global data, tail-call arrays) at `<pin>/object/`.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { compile, type CompileResult } from '../../dsl/compile/index.js';
import { TsbpfError } from '../../dsl/errors.js';
import type { TargetProfile } from '../../dsl/kernel/index.js';
import { attachCgroup, BpfLink, cgroupHook } from '../../loader/links/index.js';
import { loadObject, type MapOrigin } from '../../loader/object/index.js';
import { existingAncestor, filesystemOf } from '../../loader/sys/bpffs.js';
import { ipv4, ipv6, u8 } from '../../dsl/types/index.js';
import { networkInterfaces } from 'node:os';
import { isIPv4, isIPv6 } from 'node:net';
import { socketLbPrograms, type SocketLbLimitation, type SocketLbOmitted, type SocketLbOptions } from '../sock/index.js';

/** Where `tsbpf lb` pins its maps and links unless told otherwise. */
export const DEFAULT_LB_PIN_DIR = '/sys/fs/bpf/tsbpf/lb';

/** Object name the load balancer's global-data maps are named after. */
const OBJECT_NAME = 'tsbpf_lb';

/** `f_type` of cgroup2 (CGROUP2_SUPER_MAGIC). */
const CGROUP2_MAGIC = 0x63677270;

/** A deploy step that cannot be done as asked (bad pin directory, cgroup, state). */
export class DeployError extends TsbpfError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The cgroup2 mount point (the hybrid layout's `unified` directory when there is one). */
export function cgroup2Root(): string {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup2')
    .map((f) => f[1]!);
  if (mounts.length === 0) throw new DeployError('LB_NO_CGROUP2', 'no cgroup2 filesystem is mounted (see /proc/mounts); mount one with: mount -t cgroup2 none /sys/fs/cgroup');
  return mounts.find((m) => m.endsWith('/unified')) ?? mounts[0]!;
}

/** Throws unless `dir` is (or would be created) on bpffs, saying how to mount one. */
export function checkPinDir(dir: string): void {
  const fs = filesystemOf(dir);
  if (!fs.bpffs)
    throw new DeployError(
      'LB_NOT_BPFFS',
      `pin directory ${dir} is not on a BPF filesystem (${existingAncestor(dir)} is on ${fs.name}); mount one first: mount -t bpf bpf /sys/fs/bpf (or pass --pin DIR on a bpffs)`,
    );
}

/** Throws unless `path` is a cgroup v2 directory; returns its cgroup id (the inode number). */
function cgroupId(path: string): bigint {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch (e) {
    throw new DeployError('LB_BAD_CGROUP', `cgroup ${path} does not exist (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  if (!st.isDirectory() || (statfsSync(path).type >>> 0) !== CGROUP2_MAGIC) throw new DeployError('LB_BAD_CGROUP', `${path} is not a cgroup v2 directory`);
  return st.ino;
}

/** Options of {@link lbUp}. */
export interface LbUpOptions {
  /** Settings of the socket LB (`socketLbPrograms`); `target` comes from {@link LbUpOptions.target}. */
  readonly socketLb?: Omit<SocketLbOptions, 'target'>;
  /**
   * Other programs to deploy instead of the socket LB: anything `compile()`
   * takes. Every entry program's section must be a cgroup hook; each is
   * attached at that hook.
   */
  readonly programs?: unknown;
  /**
   * The node's own addresses, where a connect to a node port is NodePort
   * traffic (written to `lb4_node_addrs`/`lb6_node_addrs` when the object has
   * them, replacing what is there). Default: every address of this network
   * namespace's interfaces (loopback is always local to the programs).
   */
  readonly nodeAddresses?: readonly string[];
  /** cgroup v2 directory to attach to (default: the cgroup2 root). */
  readonly cgroup?: string;
  /** Pin directory on bpffs (default {@link DEFAULT_LB_PIN_DIR}). */
  readonly pinDir?: string;
  /** Target to compile for (default `host`: this kernel). */
  readonly target?: string | TargetProfile;
  /** A pinned map of another shape: `error` (default) or `replace` (its entries are lost). */
  readonly onMismatch?: 'error' | 'replace';
}

/** One program `lbUp` attached. */
export interface DeployedProgram {
  readonly name: string;
  /** Short hook name (`connect4`, `sendmsg6`, …). */
  readonly hook: string;
  readonly progId: number;
  readonly linkId: number;
  /** `attached`: a new link; `replaced`: the pinned link now runs this program. */
  readonly action: 'attached' | 'replaced';
  readonly linkPin: string;
}

/** What {@link lbUp} did. */
export interface LbUpResult {
  readonly pinDir: string;
  readonly cgroup: string;
  /** The kernel profile the programs were compiled for. */
  readonly kernel: string;
  readonly programs: readonly DeployedProgram[];
  /** Maps pinned by name: created now or reused from their pin (a restart keeps the service table). */
  readonly maps: readonly { readonly name: string; readonly origin: MapOrigin; readonly pin: string }[];
  /** Hooks attached before but absent from these programs, now detached. */
  readonly detached: readonly string[];
  /** Socket-LB programs this kernel cannot run, with what is lost. */
  readonly omitted: readonly SocketLbOmitted[];
  /** Behaviours the attached programs cannot give on this kernel (session affinity before 5.7). */
  readonly limitations: readonly SocketLbLimitation[];
  /** Addresses written as the node's own (NodePort from the node). */
  readonly nodeAddresses: readonly string[];
}

/** A link pinned by an earlier `lbUp`, as `lbStatus` reports it. */
export interface PinnedLinkStatus {
  readonly hook: string;
  readonly linkId: number;
  readonly progId: number;
  readonly cgroupId: bigint | undefined;
  readonly pin: string;
}

const linksDir = (pinDir: string) => join(pinDir, 'links');
const objectDir = (pinDir: string) => join(pinDir, 'object');

/** Opens the link pinned for `hook`, or undefined when there is none. */
function openPinnedLink(pinDir: string, hook: string): BpfLink | undefined {
  const path = join(linksDir(pinDir), hook);
  try {
    statSync(path);
  } catch {
    return undefined;
  }
  return BpfLink.open(path);
}

/** Compiles the programs and pairs each entry program with its cgroup hook. */
function compileForHooks(programs: unknown, target: string | TargetProfile): { compiled: CompileResult; entries: { name: string; hook: string }[] } {
  const compiled = compile(programs, { target, what: 'socket load balancer' });
  const entries = compiled.reports.map((r) => {
    const spec = compiled.object.programs.find((p) => p.name === r.program);
    if (!spec) throw new DeployError('LB_INTERNAL', `compiled object lacks its entry program ${r.program}`);
    let hook: string;
    try {
      hook = cgroupHook(spec.section).name.replace(/^cgroup(_skb)?\//, '');
    } catch (e) {
      throw new DeployError('LB_NOT_CGROUP_PROGRAM', `program ${r.program} (section ${spec.section}) does not attach to a cgroup hook`, { cause: e });
    }
    return { name: r.program, hook };
  });
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.hook)) throw new DeployError('LB_DUPLICATE_HOOK', `two programs attach at ${e.hook}; the load balancer has one program per hook`);
    seen.add(e.hook);
  }
  return { compiled, entries };
}

/**
 * Compiles, loads and attaches the load balancer (see the module comment).
 * Nothing is loaded when the pin directory, cgroup or an existing attachment
 * is wrong; a failure part-way detaches the links this call created.
 */
export function lbUp(options: LbUpOptions): LbUpResult {
  const pinDir = resolve(options.pinDir ?? DEFAULT_LB_PIN_DIR);
  const cgroup = resolve(options.cgroup ?? cgroup2Root());
  const wantedCgroup = cgroupId(cgroup);
  checkPinDir(pinDir);
  const nodeAddresses = options.nodeAddresses ?? localAddresses();
  for (const a of nodeAddresses) if (!isIPv4(a) && !isIPv6(a)) throw new DeployError('LB_BAD_NODE_ADDRESS', `node address ${JSON.stringify(a)} is not an IPv4 or IPv6 address`);
  const target = options.target ?? 'host';
  const lb = options.programs === undefined ? socketLbPrograms({ ...options.socketLb, target }) : undefined;
  const { compiled, entries } = compileForHooks(lb ? lb.programs : options.programs, lb ? lb.profile : target);

  // Existing links must be on this cgroup: moving the load balancer is `lb down` + `lb up`.
  const existing = new Map<string, BpfLink>();
  const closeExisting = () => existing.forEach((l) => l.close());
  try {
    for (const hook of pinnedHooks(pinDir)) {
      const link = openPinnedLink(pinDir, hook);
      if (!link) continue;
      const at = link.info().cgroupId;
      if (!at) {
        // Its cgroup was removed: the link is defunct; drop the pin.
        link.detach();
        continue;
      }
      existing.set(hook, link);
      if (at !== wantedCgroup) {
        throw new DeployError('LB_OTHER_CGROUP', `the load balancer pinned at ${pinDir} is attached to another cgroup (id ${at}, ${cgroup} is ${wantedCgroup}); run lb down first to move it`);
      }
    }
  } catch (e) {
    closeExisting();
    throw e;
  }

  const createdDirs: string[] = [];
  const created: BpfLink[] = [];
  try {
    for (const dir of [pinDir, linksDir(pinDir)]) {
      const first = mkdirSync(dir, { recursive: true });
      if (first) createdDirs.push(first);
    }
    using obj = loadObject(compiled.object, { pinRoot: pinDir, objectName: OBJECT_NAME, profile: compiled.profile, onMismatch: options.onMismatch ?? 'error' });
    // Before the programs go live, so a NodePort connect to a node address is translated from the first one.
    const writtenAddresses = writeNodeAddresses(obj, nodeAddresses);
    const deployed: DeployedProgram[] = [];
    for (const e of entries) {
      const prog = obj.program(e.name);
      const linkPin = join(linksDir(pinDir), e.hook);
      const old = existing.get(e.hook);
      let link: BpfLink;
      if (old) {
        old.replace(prog);
        link = old;
      } else {
        const att = attachCgroup(prog, { hook: e.hook, cgroup, mode: 'link' });
        if (!(att instanceof BpfLink)) throw new DeployError('LB_INTERNAL', `attaching ${e.hook} did not give a link`);
        created.push(att);
        att.pin(linkPin);
        link = att;
      }
      const info = link.info();
      deployed.push({ name: e.name, hook: e.hook, progId: info.progId, linkId: info.id, action: old ? 'replaced' : 'attached', linkPin });
    }
    const detached: string[] = [];
    for (const [hook, link] of existing) {
      if (entries.some((e) => e.hook === hook)) continue;
      link.detach();
      existing.delete(hook);
      detached.push(hook);
    }
    repinObjectMaps(obj, pinDir);
    const mapReports = obj.describe().maps.filter((m) => m.pinnedPath && !m.pinnedPath.startsWith(objectDir(pinDir)));
    return {
      pinDir,
      cgroup,
      kernel: compiled.profile.kernel,
      programs: deployed,
      maps: mapReports.map((m) => ({ name: m.name, origin: m.origin, pin: m.pinnedPath! })),
      detached,
      omitted: lb?.omitted ?? [],
      limitations: lb?.limitations ?? [],
      nodeAddresses: writtenAddresses,
    };
  } catch (e) {
    for (const l of created) {
      try {
        l.detach();
      } catch {
        // Keep undoing the rest.
      }
    }
    for (const d of createdDirs.reverse()) rmSync(d, { recursive: true, force: true });
    throw e;
  } finally {
    for (const l of created) if (!l.closed) l.close();
    closeExisting();
  }
}

/**
 * Pins the object's maps that are not pinned by name (global data, tail-call
 * arrays: the kernel empties a prog array once nothing in user space refers to
 * it) under `<pin>/object/`, replacing the previous load's.
 */
function repinObjectMaps(obj: ReturnType<typeof loadObject>, pinDir: string): void {
  const dir = objectDir(pinDir);
  rmSync(dir, { recursive: true, force: true });
  const unpinned = obj.describe().maps.filter((m) => !m.pinnedPath);
  if (unpinned.length === 0) return;
  mkdirSync(dir, { recursive: true });
  obj.pinMaps(dir);
}

/** Every address of this network namespace's interfaces except loopback. */
function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal && !a.address.includes('%') && !/^fe80:/i.test(a.address))
    .map((a) => a.address);
}

/** Makes the node-address maps hold exactly `addresses` (those the object has maps for); returns what was written. */
function writeNodeAddresses(obj: ReturnType<typeof loadObject>, addresses: readonly string[]): string[] {
  const written: string[] = [];
  for (const [name, codec, wanted] of [
    ['lb4_node_addrs', ipv4, addresses.filter((a) => isIPv4(a))],
    ['lb6_node_addrs', ipv6, addresses.filter((a) => isIPv6(a))],
  ] as const) {
    const map = obj.maps.get(name);
    if (!map) continue;
    const keep = new Set(wanted.map((a) => Buffer.from(codec.encode(a)).toString('hex')));
    for (const k of [...map.keys()]) if (!keep.has(Buffer.from(k as Uint8Array).toString('hex'))) map.delete(k as never);
    for (const a of wanted) map.set(codec.encode(a) as never, u8.encode(1) as never);
    written.push(...wanted);
  }
  return written;
}

/** Hooks that have a link pinned under `pinDir`. */
function pinnedHooks(pinDir: string): string[] {
  try {
    return readdirSync(linksDir(pinDir)).sort();
  } catch {
    return [];
  }
}

/** The links an earlier `lbUp` pinned under `pinDir` (empty when it is not up). */
export function lbStatus(pinDir = DEFAULT_LB_PIN_DIR): PinnedLinkStatus[] {
  return pinnedHooks(pinDir).flatMap((hook) => {
    const link = openPinnedLink(pinDir, hook);
    if (!link) return [];
    try {
      const info = link.info();
      return [{ hook, linkId: info.id, progId: info.progId, cgroupId: info.cgroupId, pin: join(linksDir(pinDir), hook) }];
    } finally {
      link.close();
    }
  });
}

/** Options of {@link lbDown}. */
export interface LbDownOptions {
  /** Pin directory (default {@link DEFAULT_LB_PIN_DIR}). */
  readonly pinDir?: string;
  /** Also unpin the maps: the service table is gone. */
  readonly purge?: boolean;
}

/** What {@link lbDown} did. */
export interface LbDownResult {
  readonly pinDir: string;
  /** Hooks whose link was detached. */
  readonly detached: readonly string[];
  /** Map pins removed (only with `purge`). */
  readonly removedMaps: readonly string[];
}

/** Files the kernel creates at the root of every bpffs mount (bpf_preload), which cannot be removed. */
const KERNEL_BPFFS_FILES = new Set(['maps.debug', 'progs.debug']);

/** Whether `dir` is a mount point (another device than its parent). */
function isMountRoot(dir: string): boolean {
  try {
    return statSync(dir).dev !== statSync(dirname(dir)).dev;
  } catch {
    return false;
  }
}

/**
 * Detaches every link `lbUp` pinned under the pin directory and removes those
 * pins; the maps stay pinned unless `purge` is set. Not being up is not an
 * error (the result says nothing was detached), so it also serves as cleanup.
 */
export function lbDown(options: LbDownOptions = {}): LbDownResult {
  const pinDir = resolve(options.pinDir ?? DEFAULT_LB_PIN_DIR);
  checkPinDir(pinDir);
  const detached: string[] = [];
  for (const hook of pinnedHooks(pinDir)) {
    const link = openPinnedLink(pinDir, hook);
    if (!link) continue;
    link.detach();
    detached.push(hook);
  }
  rmSync(linksDir(pinDir), { recursive: true, force: true });
  // Global data and tail-call arrays serve only the programs just detached.
  rmSync(objectDir(pinDir), { recursive: true, force: true });
  const removedMaps: string[] = [];
  if (options.purge) {
    let names: string[] = [];
    try {
      names = readdirSync(pinDir);
    } catch {
      // Never created: nothing to remove.
    }
    // At the root of a bpffs mount the kernel keeps its own iterator files
    // (`maps.debug`, `progs.debug` from bpf_preload), which nobody may unlink.
    const mountRoot = isMountRoot(pinDir);
    for (const name of names.sort()) {
      if (mountRoot && KERNEL_BPFFS_FILES.has(name)) continue;
      rmSync(join(pinDir, name), { recursive: true, force: true });
      removedMaps.push(name);
    }
    if (!mountRoot) {
      try {
        rmdirSync(pinDir);
      } catch {
        // Already gone.
      }
    }
  }
  return { pinDir, detached, removedMaps };
}
