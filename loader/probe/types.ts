/**
 * Program types, map types, map flags, attach types and link types — each
 * decided by a real syscall against the running kernel, never by version.
 */
import { MapFlag } from '../sys/constants.js';
import { errnoName } from '../sys/errno.js';
import { ATTACH_RECIPES, MAP_RECIPES, PROG_RECIPES, type MapRecipe } from './catalog.js';
import { refusal, type ProbeContext } from './context.js';
import { encode } from '../../dsl/isa/codec.js';
import { exit, movImm, returnZero } from './programs.js';
import { inconclusive, supported, unsupported, type Feature } from './result.js';

const SLEEPABLE = 1 << 4;
const RETURN_ZERO = returnZero();
const RETURN_ONE = encode([movImm(0, 1), exit()]);
/** Last line of a verifier log worth quoting. */
const lastLine = (log: string) =>
  log
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('processed ') && !l.startsWith('verification time'))
    .pop() ?? '';

/** Loads `r0 = <ret>; exit` as a program type (recipe applied); returns the fd or a failed result. */
export function loadTrivial(
  ctx: ProbeContext,
  progType: string,
  opts: { expectedAttachType?: number; attachFunc?: string; ret?: 0 | 1 } = {},
): { fd: number; failure?: Feature } {
  const type = ctx.progType.get(progType);
  if (type === undefined) return { fd: -1, failure: unsupported({ reason: `program type ${progType} unknown to this kernel` }) };
  const recipe = PROG_RECIPES[progType] ?? {};
  if (recipe.inconclusive && opts.expectedAttachType === undefined) return { fd: -1, failure: inconclusive(recipe.inconclusive) };
  let attachBtfId: number | undefined;
  const fn = opts.attachFunc ?? recipe.attachFunc;
  if (fn) {
    if (!ctx.vmlinux) return { fd: -1, failure: inconclusive(`needs vmlinux BTF to find ${fn}`) };
    attachBtfId = ctx.vmlinux.funcId(fn);
    if (attachBtfId === undefined) return { fd: -1, failure: inconclusive(`kernel function ${fn} not in vmlinux BTF`) };
  }
  const eat =
    opts.expectedAttachType ?? (recipe.expectedAttachType ? ctx.attachType.get(recipe.expectedAttachType) : undefined);
  const base = {
    type,
    expectedAttachType: eat,
    progFlags: recipe.sleepable ? SLEEPABLE : 0,
    kernVersion: recipe.kernVersion ? ctx.kernVersion : 0,
    attachBtfId,
  };
  const r = ctx.sys.progLoad({ ...base, insns: opts.ret === 1 ? RETURN_ONE : RETURN_ZERO });
  if (r.fd >= 0) return { fd: r.fd };
  // Reload with a log to say why.
  const again = ctx.sys.progLoad({ ...base, insns: opts.ret === 1 ? RETURN_ONE : RETURN_ZERO, logLevel: 1 });
  if (again.fd >= 0) return { fd: again.fd };
  const why = lastLine(again.log);
  if (errnoName(again.errno) === 'ENOTSUPP' || errnoName(again.errno) === 'EOPNOTSUPP')
    return { fd: -1, failure: unsupported({ reason: `BPF_PROG_LOAD failed with ${errnoName(again.errno)}${why ? `: ${why}` : ''}` }) };
  return { fd: -1, failure: refusal('BPF_PROG_LOAD', again.errno, why) };
}

/** Program types: `r0 = 0; exit` with each type's recipe. */
export function probeProgramTypes(ctx: ProbeContext): Record<string, Feature> {
  const out: Record<string, Feature> = {};
  for (const { name } of ctx.catalog.progTypes) {
    const { fd, failure } = loadTrivial(ctx, name);
    ctx.sys.close(fd);
    out[name] = failure ?? supported();
  }
  return out;
}

function flagBits(names: readonly string[] | undefined): number {
  let bits = 0;
  for (const n of names ?? []) bits |= (MapFlag as Record<string, number>)[n] ?? 0;
  return bits;
}

/** Tiny BTF: [1] int (4 bytes, signed), [2] long long (8 bytes, signed) — key/value types for local storage maps. */
function storageBtf(): Uint8Array {
  const strs = new TextEncoder().encode('\0int\0long long\0');
  const types = new Uint8Array(32);
  const dv = new DataView(types.buffer);
  // INT "int": name 1, info kind 1, size 4, encoding SIGNED bits 32
  dv.setUint32(0, 1, true);
  dv.setUint32(4, 1 << 24, true);
  dv.setUint32(8, 4, true);
  dv.setUint32(12, (1 << 24) | 32, true);
  dv.setUint32(16, 5, true);
  dv.setUint32(20, 1 << 24, true);
  dv.setUint32(24, 8, true);
  dv.setUint32(28, (1 << 24) | 64, true);
  return btfBlob(types, strs);
}

/** Wraps type and string sections in a BTF header. */
export function btfBlob(types: Uint8Array, strs: Uint8Array): Uint8Array {
  const out = new Uint8Array(24 + types.byteLength + strs.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  out[2] = 1;
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, types.byteLength, true);
  dv.setUint32(16, types.byteLength, true);
  dv.setUint32(20, strs.byteLength, true);
  out.set(types, 24);
  out.set(strs, 24 + types.byteLength);
  return out;
}

/** Creates a map from a recipe; returns the syscall result (caller closes). */
function createFromRecipe(ctx: ProbeContext, type: number, r: MapRecipe, extraFlags = 0, maxEntries?: number) {
  const sys = ctx.sys;
  let inner = -1;
  let btf = -1;
  try {
    if (r.inner) {
      inner = sys.mapCreate({ type: ctx.mapType.get('array') ?? 2, keySize: 4, valueSize: 4, maxEntries: 1 }).fd;
    }
    if (r.btf) btf = sys.btfLoad(storageBtf()).fd;
    const max = maxEntries ?? (r.maxEntries === 'page' ? ctx.pageSize : (r.maxEntries ?? 1));
    return sys.mapCreate({
      type,
      keySize: r.keySize ?? 4,
      valueSize: r.valueSize ?? 4,
      maxEntries: max,
      flags: flagBits(r.flags) | extraFlags,
      innerMapFd: inner >= 0 ? inner : undefined,
      btfFd: btf >= 0 ? btf : undefined,
      btfKeyTypeId: r.btf ? 1 : undefined,
      btfValueTypeId: r.btf ? 2 : undefined,
    });
  } finally {
    sys.close(inner);
    sys.close(btf);
  }
}

/** Map types: BPF_MAP_CREATE with per-type geometry. */
export function probeMapTypes(ctx: ProbeContext): Record<string, Feature> {
  const out: Record<string, Feature> = {};
  for (const { name, value } of ctx.catalog.mapTypes) {
    const r = MAP_RECIPES[name] ?? {};
    if (r.inconclusive) {
      out[name] = inconclusive(r.inconclusive);
      continue;
    }
    let res = createFromRecipe(ctx, value, r);
    // Ring buffers want the page size; try the larger page sizes of arm64/ppc.
    if (res.fd < 0 && r.maxEntries === 'page') {
      for (const page of [16384, 65536]) {
        res = createFromRecipe(ctx, value, r, 0, page);
        if (res.fd >= 0) break;
      }
    }
    ctx.sys.close(res.fd);
    out[name] = res.fd >= 0 ? supported() : refusal('BPF_MAP_CREATE', res.errno);
  }
  return out;
}

/** Map flag → the map type and geometry that can carry it. */
const FLAG_PROBES: Readonly<Record<string, { map: string; recipe?: MapRecipe }>> = {
  NO_PREALLOC: { map: 'hash' },
  NO_COMMON_LRU: { map: 'lru_hash' },
  NUMA_NODE: { map: 'hash' },
  RDONLY: { map: 'array' },
  WRONLY: { map: 'array' },
  STACK_BUILD_ID: { map: 'stack_trace', recipe: { valueSize: 32 } },
  ZERO_SEED: { map: 'hash' },
  RDONLY_PROG: { map: 'array' },
  WRONLY_PROG: { map: 'array' },
  CLONE: { map: 'sk_storage', recipe: MAP_RECIPES.sk_storage },
  MMAPABLE: { map: 'array' },
  PRESERVE_ELEMS: { map: 'perf_event_array' },
  INNER_MAP: { map: 'array' },
  SEGV_ON_FAULT: { map: 'arena', recipe: MAP_RECIPES.arena },
  NO_USER_CONV: { map: 'arena', recipe: MAP_RECIPES.arena },
};

/** Map flags: create a map that can carry the flag, with and without it. */
export function probeMapFlags(ctx: ProbeContext): Record<string, Feature> {
  const out: Record<string, Feature> = {};
  for (const [flag, { map, recipe }] of Object.entries(FLAG_PROBES)) {
    const type = ctx.mapType.get(map);
    const bit = (MapFlag as Record<string, number>)[flag];
    if (type === undefined || bit === undefined) {
      out[flag] = unsupported({ reason: `map type ${map} unknown to this kernel` });
      continue;
    }
    const r = recipe ?? {};
    const base = createFromRecipe(ctx, type, r);
    ctx.sys.close(base.fd);
    if (base.fd < 0) {
      out[flag] = inconclusive(`the carrier map type ${map} cannot be created (${errnoName(base.errno)})`);
      continue;
    }
    const res = createFromRecipe(ctx, type, r, bit);
    ctx.sys.close(res.fd);
    out[flag] = res.fd >= 0 ? supported() : refusal(`BPF_MAP_CREATE(${map}, BPF_F_${flag})`, res.errno);
  }
  return out;
}

/** errnos that prove the kernel got past "do I know this attach type" to looking up the (bad) target. */
const TARGET_ERRNOS = new Set(['EBADF', 'ENODEV', 'ENXIO', 'ENOENT', 'ESRCH', 'EAFNOSUPPORT', 'ENOTSOCK']);

/**
 * Attach types. `attach`: BPF_PROG_ATTACH with target fd -1 — EBADF means the
 * kernel resolved the attach type and went for the target; EINVAL means it does
 * not know it. `link`: the same with BPF_LINK_CREATE. `load`: the type is a
 * load-time expected_attach_type, so a successful load decides it. Nothing is
 * ever attached: every target is invalid.
 */
export function probeAttachTypes(ctx: ProbeContext): Record<string, Feature> {
  const out: Record<string, Feature> = {};
  for (const { name, value } of ctx.catalog.attachTypes) {
    const recipe = ATTACH_RECIPES[name];
    if (!recipe) {
      out[name] = inconclusive('no probe recipe for this attach type (newer than tsbpf)');
      continue;
    }
    if (recipe.inconclusive) {
      out[name] = inconclusive(recipe.inconclusive);
      continue;
    }
    const { fd, failure } = loadTrivial(ctx, recipe.progType, {
      expectedAttachType: recipe.expectAtLoad === false ? 0 : value,
      attachFunc: recipe.attachFunc,
      ret: 1,
    });
    if (failure) {
      out[name] =
        failure.status === 'inconclusive'
          ? failure
          : unsupported({ reason: `loading a ${recipe.progType} program for it: ${failure.reason ?? ''}` });
      continue;
    }
    try {
      if (recipe.method === 'load') {
        out[name] = supported({ reason: 'accepted as expected_attach_type by BPF_PROG_LOAD' });
        continue;
      }
      const res =
        recipe.method === 'attach' ? ctx.sys.progAttach(-1, fd, value) : ctx.sys.linkCreate(fd, -1, value);
      ctx.sys.close(res.fd);
      const cmd = recipe.method === 'attach' ? 'BPF_PROG_ATTACH' : 'BPF_LINK_CREATE';
      const e = errnoName(res.errno);
      if (res.fd >= 0) out[name] = supported();
      else if (TARGET_ERRNOS.has(e)) out[name] = supported({ reason: `${cmd} with an invalid target failed with ${e} (target lookup reached)` });
      else if (e === 'EINVAL' && EINVAL_AMBIGUOUS[name]) out[name] = decideByEnum(ctx, name);
      else if (e === 'EOPNOTSUPP' || e === 'ENOTSUPP')
        out[name] = unsupported({ reason: `${cmd} failed with ${e}: known to the kernel but not built in` });
      else out[name] = refusal(`${cmd} with an invalid target`, res.errno);
    } finally {
      ctx.sys.close(fd);
    }
  }
  return out;
}

/**
 * Attach types whose BPF_LINK_CREATE answers EINVAL both for "unknown attach
 * type" and for our invalid target (XDP: any bad ifindex; uprobe_multi: no path),
 * mapped to the kernel enum entry that exists exactly when the implementation
 * does. Probing with a real target would attach, so the kernel's own BTF decides.
 */
const EINVAL_AMBIGUOUS: Readonly<Record<string, { table: 'link' | 'attach'; entry: string; since: string }>> = {
  xdp: { table: 'link', entry: 'xdp', since: '5.9' },
  trace_uprobe_multi: { table: 'link', entry: 'uprobe_multi', since: '6.6' },
  trace_uprobe_session: { table: 'attach', entry: 'trace_uprobe_session', since: '6.13' },
};

function decideByEnum(ctx: ProbeContext, attachName: string): Feature {
  const rule = EINVAL_AMBIGUOUS[attachName]!;
  const label = rule.table === 'link' ? `BPF_LINK_TYPE_${rule.entry.toUpperCase()}` : `BPF_${rule.entry.toUpperCase()}`;
  if (ctx.catalog.source !== 'vmlinux-btf')
    return inconclusive(`BPF_LINK_CREATE(${attachName}) answers EINVAL for an invalid target too, and no vmlinux BTF to check ${label}`);
  const present = (rule.table === 'link' ? ctx.linkType : ctx.attachType).has(rule.entry);
  return present
    ? supported({ reason: `BPF_LINK_CREATE answers EINVAL for any invalid target; ${label} is in the kernel BTF`, since: rule.since })
    : unsupported({ reason: `no ${label} in the kernel BTF` });
}

/** Link type → the attach type whose BPF_LINK_CREATE creates it. */
const LINK_VIA: Readonly<Record<string, string>> = {
  cgroup: 'cgroup_inet_ingress',
  netns: 'sk_lookup',
  xdp: 'xdp',
  perf_event: 'perf_event',
  kprobe_multi: 'trace_kprobe_multi',
  netfilter: 'netfilter',
  tcx: 'tcx_ingress',
  uprobe_multi: 'trace_uprobe_multi',
  netkit: 'netkit_primary',
  sockmap: 'sk_msg_verdict',
};

/**
 * Link types: BPF_LINK_CREATE for an attach type that makes that link, with an
 * invalid target (fd -1 / ifindex 0xffffffff). Target-lookup errnos ⇒ supported.
 */
export function probeLinkTypes(ctx: ProbeContext): Record<string, Feature> {
  const out: Record<string, Feature> = {};
  for (const { name } of ctx.catalog.linkTypes) {
    const via = LINK_VIA[name];
    if (!via) {
      out[name] = inconclusive(
        name === 'raw_tracepoint' || name === 'tracing' || name === 'iter' || name === 'struct_ops'
          ? `a ${name} link needs a real BTF-typed target (cannot be probed without attaching)`
          : 'no probe recipe for this link type',
      );
      continue;
    }
    const recipe = ATTACH_RECIPES[via]!;
    const at = ctx.attachType.get(via);
    if (at === undefined) {
      out[name] = unsupported({ reason: `attach type ${via} unknown to this kernel` });
      continue;
    }
    const { fd, failure } = loadTrivial(ctx, recipe.progType, {
      expectedAttachType: recipe.expectAtLoad === false ? 0 : at,
      ret: 1,
    });
    if (failure) {
      out[name] = failure.status === 'inconclusive' ? failure : unsupported({ reason: `cannot load a ${recipe.progType} program: ${failure.reason ?? ''}` });
      continue;
    }
    const res = ctx.sys.linkCreate(fd, -1, at);
    ctx.sys.close(res.fd);
    ctx.sys.close(fd);
    const e = errnoName(res.errno);
    if (res.fd >= 0 || TARGET_ERRNOS.has(e)) out[name] = supported({ reason: `BPF_LINK_CREATE(${via}) with an invalid target failed with ${e}` });
    else if (e === 'EINVAL' && EINVAL_AMBIGUOUS[via]) out[name] = decideByEnum(ctx, via);
    else if (e === 'EOPNOTSUPP' || e === 'ENOTSUPP')
      out[name] = unsupported({ reason: `BPF_LINK_CREATE(${via}) failed with ${e}: known to the kernel but not built in` });
    else out[name] = refusal(`BPF_LINK_CREATE(${via}) with an invalid target`, res.errno);
  }
  return out;
}
