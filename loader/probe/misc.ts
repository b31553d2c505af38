/**
 * Miscellaneous verifier/loader features, each decided by loading a program or
 * BTF blob that needs exactly that feature: instruction limits, bounded loops,
 * ISA levels, bpf-to-bpf calls, tail calls (also from subprograms), bpf_loop,
 * global data, func/line info, log_true_size; BTF kinds; kfuncs by BTF lookup.
 */
import { encodeBtf, stringTableFor } from '../../dsl/btf/encode.js';
import type { BtfSpec, BtfType } from '../../dsl/btf/types.js';
import { MapFlag } from '../sys/constants.js';
import { errnoName } from '../sys/errno.js';
import { refusal, type ProbeContext } from './context.js';
import * as P from './programs.js';
import type { ProgLoadOptions } from './raw.js';
import { inconclusive, supported, unsupported, type Feature } from './result.js';

/** The verifier's summary line: `processed N insns (limit L) …`. */
export function parseProcessed(log: string): { processed: number; limit: number } | undefined {
  const m = /processed (\d+) insns \(limit (\d+)\)/.exec(log);
  return m ? { processed: Number(m[1]), limit: Number(m[2]) } : undefined;
}

/** Loads one socket-filter-free program type that every kernel has and that allows tail calls: XDP. */
function load(ctx: ProbeContext, insns: Uint8Array, extra: Partial<ProgLoadOptions> = {}, logBytes = 65536) {
  const type = ctx.progType.get('xdp') ?? 6;
  const first = ctx.sys.progLoad({ type, insns, ...extra });
  if (first.fd >= 0) return first;
  return ctx.sys.progLoad({ type, insns, ...extra, logLevel: extra.logLevel ?? 1 }, logBytes);
}

/** Last meaningful verifier line. */
function why(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('processed ') && !l.startsWith('verification time'));
  return lines.pop() ?? '';
}

/** A load that needs the feature: fd ⇒ supported, any refusal ⇒ unsupported (with the verifier's words). */
function byLoad(ctx: ProbeContext, insns: Uint8Array, since: string, extra: Partial<ProgLoadOptions> = {}): Feature {
  const r = load(ctx, insns, extra);
  ctx.sys.close(r.fd);
  if (r.fd >= 0) return supported({ since });
  const f = refusal('BPF_PROG_LOAD', r.errno, why(r.log));
  return { ...f, since };
}

/** Finds a helper id by name in the catalog. */
function helper(ctx: ProbeContext, name: string): number | undefined {
  return ctx.helperId.get(name);
}

function withMap(ctx: ProbeContext, o: { type: string; key: number; value: number; max: number; flags?: number }, use: (fd: number) => Feature): Feature {
  const type = ctx.mapType.get(o.type);
  if (type === undefined) return unsupported({ reason: `map type ${o.type} unknown` });
  const m = ctx.sys.mapCreate({ type, keySize: o.key, valueSize: o.value, maxEntries: o.max, flags: o.flags });
  if (m.fd < 0) return inconclusive(`cannot create the ${o.type} map the probe needs (${errnoName(m.errno)})`);
  try {
    return use(m.fd);
  } finally {
    ctx.sys.close(m.fd);
  }
}

/** BTF for func_info/line_info: int, `int (void)` prototype, two static FUNCs. */
function funcInfoBtf(): { blob: Uint8Array; file: number; line: number } {
  const spec: BtfSpec = {
    types: [
      { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 },
      { kind: 'func_proto', name: '', returnType: 1, params: [] },
      { kind: 'func', name: 'probe_main', type: 2, linkage: 'static' },
      { kind: 'func', name: 'probe_sub', type: 2, linkage: 'static' },
    ],
  };
  const strings = stringTableFor(spec);
  const file = strings.add('probe.ts');
  const line = strings.add('return 0');
  return { blob: encodeBtf(spec, { strings }), file, line };
}

function records(words: number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, k) => dv.setUint32(k * 4, w >>> 0, true));
  return out;
}

/**
 * Loads `insns` with BTF func_info for two functions starting at instructions 0
 * and `subAt` — what the verifier demands of subprograms that tail-call or are
 * bpf_loop callbacks.
 */
function byLoadWithFuncInfo(ctx: ProbeContext, insns: Uint8Array, subAt: number, since: string): Feature {
  const btf = ctx.sys.btfLoad(funcInfoBtf().blob);
  if (btf.fd < 0) return inconclusive(`needs BTF func_info, but BPF_BTF_LOAD failed with ${errnoName(btf.errno)}`, { since });
  try {
    return byLoad(ctx, insns, since, { btfFd: btf.fd, funcInfo: { recSize: 8, data: records([0, 3, subAt, 4]), count: 2 } });
  } finally {
    ctx.sys.close(btf.fd);
  }
}

/** func_info, and line_info on top of it. */
function probeFuncLineInfo(ctx: ProbeContext): { func: Feature; line: Feature } {
  const { blob, file, line } = funcInfoBtf();
  const btf = ctx.sys.btfLoad(blob);
  if (btf.fd < 0) {
    const f = inconclusive(`BPF_BTF_LOAD of the probe BTF failed with ${errnoName(btf.errno)}: ${why(btf.log)}`);
    return { func: f, line: f };
  }
  try {
    const insns = P.localCall();
    const funcInfo = { recSize: 8, data: records([0, 3, 2, 4]), count: 2 };
    const fi = load(ctx, insns, { btfFd: btf.fd, funcInfo });
    ctx.sys.close(fi.fd);
    const func = fi.fd >= 0 ? supported({ since: '5.0' }) : { ...refusal('BPF_PROG_LOAD with func_info', fi.errno, why(fi.log)), since: '5.0' };
    if (fi.fd < 0) return { func, line: inconclusive('func_info is refused, and line_info needs it') };
    // line_info: {insn_off, file_name_off, line_off, line_col = line << 10 | col}
    const lineInfo = { recSize: 16, data: records([0, file, line, (1 << 10) | 1, 2, file, line, (2 << 10) | 1]), count: 2 };
    const li = load(ctx, insns, { btfFd: btf.fd, funcInfo, lineInfo });
    ctx.sys.close(li.fd);
    const lineF = li.fd >= 0 ? supported({ since: '5.0' }) : { ...refusal('BPF_PROG_LOAD with line_info', li.errno, why(li.log)), since: '5.0' };
    return { func, line: lineF };
  } finally {
    ctx.sys.close(btf.fd);
  }
}

/** The misc section. */
export function probeMisc(ctx: ProbeContext): Record<string, Feature> {
  const out: Record<string, Feature> = {};

  // Instruction limits: 4,097 straight-line insns need the 1M limit (privileged, 5.2).
  const big = load(ctx, P.straightLine(4097));
  ctx.sys.close(big.fd);
  out.large_insn_limit = big.fd >= 0 ? supported({ since: '5.2' }) : { ...refusal('BPF_PROG_LOAD of 4097 insns', big.errno, why(big.log)), since: '5.2' };
  const small = ctx.sys.progLoad({ type: ctx.progType.get('xdp') ?? 6, insns: P.returnZero(), logLevel: 1 }, 4096);
  ctx.sys.close(small.fd);
  const summary = parseProcessed(small.log);
  out.processed_insn_limit = summary
    ? supported({ value: summary.limit, reason: 'from the verifier summary "processed N insns (limit L)"' })
    : inconclusive(`no "processed N insns (limit L)" line in the verifier log (${errnoName(small.errno)})`);
  out.log_true_size =
    small.fd >= 0 && small.logTrueSize > 0
      ? supported({ since: '6.4', value: small.logTrueSize })
      : small.fd >= 0
        ? unsupported({ since: '6.4', reason: 'the kernel left log_true_size at 0 after a logged load' })
        : inconclusive('the reference load failed');

  out.bounded_loops = byLoad(ctx, P.boundedLoop(), '5.3');
  out.isa_v2 = byLoad(ctx, P.isaV2(), '4.14');
  out.isa_v3 = byLoad(ctx, P.isaV3(), '5.1');
  const v4 = [
    ['gotol', P.isaV4Gotol()],
    ['movsx/sdiv', P.isaV4SignExt()],
    ['ldsx', P.isaV4Ldsx()],
  ] as const;
  const v4fail = v4.map(([n, insns]) => [n, byLoad(ctx, insns, '6.6')] as const).filter(([, f]) => f.status !== 'supported');
  out.isa_v4 = v4fail.length === 0 ? supported({ since: '6.6' }) : { ...v4fail[0]![1], reason: `${v4fail.map(([n]) => n).join(', ')} refused: ${v4fail[0]![1].reason ?? ''}` };
  out.bpf_to_bpf_calls = byLoad(ctx, P.localCall(), '4.16');

  const tailCallId = helper(ctx, 'bpf_tail_call') ?? 12;
  const progArray = { type: 'prog_array', key: 4, value: 4, max: 1 };
  out.tail_calls = withMap(ctx, progArray, (fd) => byLoad(ctx, P.tailCall(fd, tailCallId), '4.2'));
  out.tail_calls_in_subprograms = withMap(ctx, progArray, (fd) => byLoadWithFuncInfo(ctx, P.tailCallInSubprog(fd, tailCallId), 2, '5.10'));
  const loopId = helper(ctx, 'bpf_loop');
  out.bpf_loop = loopId === undefined ? unsupported({ since: '5.17', reason: 'no bpf_loop helper id' }) : byLoadWithFuncInfo(ctx, P.bpfLoop(loopId), 8, '5.17');
  out.global_data = withMap(ctx, { type: 'array', key: 4, value: 16, max: 1, flags: MapFlag.RDONLY_PROG }, (fd) =>
    byLoad(ctx, P.globalData(fd), '5.2'),
  );
  const info = probeFuncLineInfo(ctx);
  out.func_info = info.func;
  out.line_info = info.line;
  return out;
}

/** Small BTF blobs per kind: base types first, then the kind under test. */
const INT: BtfType = { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 };
const member = (name: string) => ({ name, type: 1, bitOffset: 0, bitfieldSize: 0 });
const KIND_BLOBS: Readonly<Record<string, { since: string; types: BtfType[] }>> = {
  INT: { since: '4.18', types: [INT] },
  PTR: { since: '4.18', types: [INT, { kind: 'ptr', name: '', type: 1 }] },
  ARRAY: { since: '4.18', types: [INT, { kind: 'array', name: '', type: 1, indexType: 1, nelems: 4 }] },
  STRUCT: { since: '4.18', types: [INT, { kind: 'struct', name: 's', size: 4, members: [member('a')] }] },
  UNION: { since: '4.18', types: [INT, { kind: 'union', name: 'u', size: 4, members: [member('a'), member('b')] }] },
  ENUM: { since: '4.18', types: [{ kind: 'enum', name: 'e', size: 4, signed: false, values: [{ name: 'A', value: 1 }] }] },
  FWD: { since: '4.18', types: [{ kind: 'fwd', name: 'later', fwdKind: 'struct' }] },
  TYPEDEF: { since: '4.18', types: [INT, { kind: 'typedef', name: 'myint', type: 1 }] },
  VOLATILE: { since: '4.18', types: [INT, { kind: 'volatile', name: '', type: 1 }] },
  CONST: { since: '4.18', types: [INT, { kind: 'const', name: '', type: 1 }] },
  RESTRICT: { since: '4.18', types: [INT, { kind: 'ptr', name: '', type: 1 }, { kind: 'restrict', name: '', type: 2 }] },
  FUNC_PROTO: { since: '5.0', types: [INT, { kind: 'func_proto', name: '', returnType: 1, params: [{ name: 'a', type: 1 }] }] },
  VAR: {
    since: '5.2',
    types: [INT, { kind: 'var', name: 'v', type: 1, linkage: 'global' }, { kind: 'datasec', name: '.data', size: 4, vars: [{ type: 2, offset: 0, size: 4 }] }],
  },
  FUNC: {
    since: '5.0',
    types: [
      { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 },
      { kind: 'func_proto', name: '', returnType: 1, params: [{ name: 'a', type: 1 }] },
      { kind: 'func', name: 'f', type: 2, linkage: 'static' },
    ],
  },
  DATASEC: {
    since: '5.2',
    types: [
      { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 },
      { kind: 'var', name: 'x', type: 1, linkage: 'global' },
      { kind: 'datasec', name: '.data', size: 4, vars: [{ type: 2, offset: 0, size: 4 }] },
    ],
  },
  FLOAT: { since: '5.13', types: [{ kind: 'float', name: 'float', size: 4 }] },
  DECL_TAG: {
    since: '5.16',
    types: [
      { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 },
      { kind: 'struct', name: 's', size: 4, members: [{ name: 'a', type: 1, bitOffset: 0, bitfieldSize: 0 }] },
      { kind: 'decl_tag', name: 'tag', type: 2, componentIdx: 0, attribute: false },
    ],
  },
  TYPE_TAG: {
    since: '5.17',
    types: [
      { kind: 'int', name: 'int', size: 4, encoding: 'signed', bits: 32, offset: 0 },
      { kind: 'type_tag', name: 'user', type: 1, attribute: false },
      { kind: 'ptr', name: '', type: 2 },
    ],
  },
  ENUM64: {
    since: '6.0',
    types: [{ kind: 'enum64', name: 'e', size: 8, signed: false, values: [{ name: 'BIG', value: 1n << 40n }] }],
  },
};

/** BTF kinds the kernel accepts, by loading a minimal blob for each. */
export function probeBtfKinds(ctx: ProbeContext): Record<string, Feature> {
  const out: Record<string, Feature> = {};
  for (const [kind, { since, types }] of Object.entries(KIND_BLOBS)) {
    const r = ctx.sys.btfLoad(encodeBtf({ types }));
    ctx.sys.close(r.fd);
    out[kind] = r.fd >= 0 ? supported({ since }) : { ...refusal('BPF_BTF_LOAD', r.errno, why(r.log)), since };
  }
  return out;
}

/** kfuncs the datapath may use. */
export const DATAPATH_KFUNCS = [
  'bpf_xdp_ct_lookup',
  'bpf_skb_ct_lookup',
  'bpf_xdp_ct_alloc',
  'bpf_skb_ct_alloc',
  'bpf_ct_insert_entry',
  'bpf_ct_release',
  'bpf_ct_set_nat_info',
  'bpf_dynptr_from_skb',
  'bpf_dynptr_from_xdp',
  'bpf_dynptr_slice',
  'bpf_xdp_metadata_rx_hash',
  'bpf_sock_destroy',
] as const;

/** kfuncs: present iff a FUNC of that name is in vmlinux BTF. */
export function probeKfuncs(ctx: ProbeContext, names: readonly string[] = DATAPATH_KFUNCS): Record<string, Feature> {
  const out: Record<string, Feature> = {};
  for (const n of names) {
    if (!ctx.vmlinux) {
      out[n] = inconclusive('no vmlinux BTF (/sys/kernel/btf/vmlinux) to look kfuncs up in');
      continue;
    }
    const id = ctx.vmlinux.funcId(n);
    out[n] = id !== undefined ? supported({ value: id, reason: 'FUNC in vmlinux BTF (value = BTF id)' }) : unsupported({ reason: 'no FUNC of this name in vmlinux BTF' });
  }
  return out;
}
