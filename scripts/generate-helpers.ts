/**
 * Reads the helper list out of the UAPI bpf.h: ids from the `__BPF_FUNC_MAPPER`
 * X-macro (old headers: `FN(name)`, counted from 0; 6.2+: `FN(name, id, ...)`),
 * prototypes and descriptions from the "BPF helper function descriptions" comment.
 */
import type {
  HelperArg,
  HelperArgType,
  HelperReturnType,
  ScalarBits,
  ScalarType,
  UapiHelper,
} from '../dsl/kernel/helper-types.js';

/** Helper ids in mapper order: name → id. */
export function parseHelperIds(source: string): Map<string, number> {
  const start = source.search(/#define\s+_{2,3}BPF_FUNC_MAPPER\(FN/);
  if (start < 0) throw new Error('bpf.h: no __BPF_FUNC_MAPPER/___BPF_FUNC_MAPPER definition');
  // The macro body is the run of backslash-continued lines after the #define.
  const lines = source.slice(start).split('\n');
  const body: string[] = [];
  for (const line of lines) {
    body.push(line);
    if (!/\\\s*$/.test(line)) break;
  }
  const ids = new Map<string, number>();
  let next = 0;
  for (const m of body.join('\n').matchAll(/\bFN\(\s*(\w+)\s*(?:,\s*(\d+))?[^)]*\)/g)) {
    const id = m[2] !== undefined ? Number(m[2]) : next;
    if (ids.has(m[1]!)) throw new Error(`bpf.h: helper ${m[1]} listed twice`);
    ids.set(m[1]!, id);
    next = id + 1;
  }
  if (ids.size === 0) throw new Error('bpf.h: __BPF_FUNC_MAPPER lists no helpers');
  return ids;
}

/** A documented prototype: the raw line, and its description's first line. */
interface HelperDoc {
  signature: string;
  retC: string;
  argsC: string;
  summary: string;
}

/** Parses the helper description comment into name → prototype and summary. */
export function parseHelperDocs(source: string): Map<string, HelperDoc> {
  const begin = source.indexOf('Start of BPF helper function descriptions:');
  if (begin < 0) throw new Error('bpf.h: helper descriptions not found');
  const end = source.indexOf('*/', begin);
  const lines = source.slice(begin, end).split('\n');
  const docs = new Map<string, HelperDoc>();
  for (let i = 0; i < lines.length; i++) {
    // A prototype sits at one space of indentation and is followed by "\tDescription".
    const m = /^ \* (\S.*?)\bbpf_(\w+)\((.*)\)\s*$/.exec(lines[i]!);
    if (!m || !/^ \*\s+Description\s*$/.test(lines[i + 1] ?? '')) continue;
    // The summary is the description's first sentence (its first paragraph, cut at '. ').
    const para: string[] = [];
    for (let j = i + 2; j < lines.length; j++) {
      const t = lines[j]!.replace(/^ \*/, '').trim();
      if (t === '' && para.length > 0) break;
      if (t === '') continue;
      if (t === 'Return') break;
      para.push(t);
    }
    const joined = para.join(' ');
    const cut = joined.search(/(?<!\b(?:e\.g|i\.e|etc))\.(\s|$)/);
    const summary = cut >= 0 ? joined.slice(0, cut + 1) : joined;
    const signature = lines[i]!.replace(/^ \* /, '').trim();
    docs.set(m[2]!, { signature, retC: m[1]!.trim(), argsC: m[3]!.trim(), summary });
  }
  return docs;
}

const SCALARS: Record<string, { bits: ScalarBits; signed: boolean; byteOrder?: 'be' }> = {
  u8: { bits: 8, signed: false },
  u16: { bits: 16, signed: false },
  u32: { bits: 32, signed: false },
  u64: { bits: 64, signed: false },
  s8: { bits: 8, signed: true },
  s16: { bits: 16, signed: true },
  s32: { bits: 32, signed: true },
  s64: { bits: 64, signed: true },
  __u8: { bits: 8, signed: false },
  __u16: { bits: 16, signed: false },
  __u32: { bits: 32, signed: false },
  __u64: { bits: 64, signed: false },
  __s32: { bits: 32, signed: true },
  __s64: { bits: 64, signed: true },
  int: { bits: 32, signed: true },
  'unsigned int': { bits: 32, signed: false },
  long: { bits: 64, signed: true },
  'unsigned long': { bits: 64, signed: false },
  'unsigned long long': { bits: 64, signed: false },
  size_t: { bits: 64, signed: false },
  bool: { bits: 8, signed: false },
  __wsum: { bits: 32, signed: false },
  __be16: { bits: 16, signed: false, byteOrder: 'be' },
  __be32: { bits: 32, signed: false, byteOrder: 'be' },
};

/** Context types: what a program receives in r1, per program type, in kernel spelling. */
const CTX_STRUCTS = new Set([
  'sk_buff', '__sk_buff', 'xdp_buff', 'xdp_md', 'bpf_sock_addr', 'bpf_sock_addr_kern', 'bpf_sock_ops',
  'bpf_sock_ops_kern', 'sk_msg_buff', 'sk_msg_md', 'sk_reuseport_md', 'sk_reuseport_kern', 'bpf_sysctl',
  'bpf_sockopt', 'pt_regs', 'bpf_perf_event_data', 'bpf_sk_lookup',
]);
/** Argument names that denote the context when typed `void *`. */
const CTX_NAMES = new Set(['ctx', 'skb', 'xdp_md', 'xdp']);

function scalarOf(c: string): ScalarType | undefined {
  const s = SCALARS[c];
  if (s) return { kind: 'scalar', bits: s.bits, signed: s.signed, ...(s.byteOrder ? { byteOrder: s.byteOrder } : {}), c };
  if (/^enum \w+$/.test(c)) return { kind: 'scalar', bits: 32, signed: false, c };
  return undefined;
}

/** Splits `const struct foo **name` into its type and name. */
function splitDecl(decl: string): { c: string; name: string; isConst: boolean; stars: number; base: string } {
  const m = /^(.*?)([A-Za-z_]\w*)$/.exec(decl.trim());
  if (!m) throw new Error(`cannot split declaration '${decl}'`);
  const c = m[1]!.replace(/\s+/g, ' ').replace(/\s*\*/g, ' *').replace(/\* \*/g, '**').trim();
  const isConst = /^const\b/.test(c);
  const stars = (c.match(/\*/g) ?? []).length;
  const base = c.replace(/^const\s+/, '').replace(/[\s*]+$/g, '').trim();
  return { c, name: m[2]!, isConst, stars, base };
}

const isSizeName = (n: string) => /(^|_)(size|len|length)$/.test(n) || n === 'plen' || n === 'size' || n === 'len';

/** Classifies the arguments of one prototype. */
export function classifyArgs(argsC: string): HelperArg[] {
  if (argsC === 'void' || argsC === '') return [];
  const parts = argsC.split(',').map((s) => s.trim());
  const decls = parts.map((p) => (p === '...' ? undefined : splitDecl(p)));
  const out: HelperArg[] = [];
  const hasMap = decls.some((d) => d !== undefined && d.stars === 1 && d.base === 'struct bpf_map');
  for (let i = 0; i < parts.length; i++) {
    const d = decls[i];
    if (d === undefined) {
      out.push({ name: '...', type: { kind: 'varargs', c: '...' } });
      continue;
    }
    let type: HelperArgType;
    if (d.stars === 0) {
      const prev = out[i - 1];
      const s = scalarOf(d.base);
      if (s && prev?.type.kind === 'mem' && prev.type.sizeArg === i) {
        type = { kind: 'memSize', memArg: i - 1, bits: s.bits, signed: s.signed, c: d.c };
      } else {
        type = s ?? { kind: 'unknown', c: d.c };
      }
    } else {
      const structName = /^struct (\w+)$/.exec(d.base)?.[1];
      const nextDecl = decls[i + 1];
      const nextIsSize = nextDecl !== undefined && nextDecl.stars === 0 && scalarOf(nextDecl.base) !== undefined && isSizeName(nextDecl.name);
      if (d.stars === 1 && structName === 'bpf_map') type = { kind: 'map', c: d.c };
      else if (d.stars === 1 && ((structName !== undefined && CTX_STRUCTS.has(structName)) || (d.base === 'void' && CTX_NAMES.has(d.name)))) {
        type = { kind: 'ctx', c: d.c };
      } else if (d.stars === 1 && d.name === 'callback_fn') type = { kind: 'callback', c: d.c };
      else if (d.stars === 1 && nextIsSize) type = { kind: 'mem', access: d.isConst ? 'read' : 'write', sizeArg: i + 1, c: d.c };
      else if (hasMap && d.stars === 1 && d.base === 'void' && d.name === 'key') type = { kind: 'mapKey', c: d.c };
      else if (hasMap && d.stars === 1 && d.base === 'void' && d.name === 'value') type = { kind: 'mapValue', c: d.c };
      else type = { kind: 'ptr', to: d.base + '*'.repeat(d.stars - 1), access: d.isConst ? 'read' : 'write', c: d.c };
    }
    out.push({ name: d.name, type });
  }
  return out;
}

/** Classifies a prototype's return type. */
export function classifyReturn(retC: string): HelperReturnType {
  const c = retC.replace(/\s*\*/g, ' *').replace(/\* \*/g, '**').trim();
  if (c === 'void') return { kind: 'void', c };
  if (c.endsWith('*')) {
    const to = c.replace(/^const\s+/, '').replace(/\s*\*$/, '').trim();
    return { kind: 'ptr', to, nullable: true, c };
  }
  return scalarOf(c) ?? { kind: 'unknown', c };
}

/** Combines ids and docs into the helper table, in id order (id 0, `unspec`, excluded). */
export function buildHelperTable(source: string): UapiHelper[] {
  const ids = parseHelperIds(source);
  const docs = parseHelperDocs(source);
  const out: UapiHelper[] = [];
  for (const [name, id] of ids) {
    if (name === 'unspec') continue;
    const doc = docs.get(name);
    out.push({
      id,
      name,
      signature: doc?.signature ?? '',
      ret: doc ? classifyReturn(doc.retC) : { kind: 'unknown', c: '' },
      args: doc ? classifyArgs(doc.argsC) : [],
      summary: doc?.summary ?? '',
    });
  }
  out.sort((a, b) => a.id - b.id);
  return out;
}
