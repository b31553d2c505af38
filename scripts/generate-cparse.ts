/**
 * A deliberately small reader for the kernel UAPI headers: just enough C to pull
 * out numeric `#define`s, enums (named and anonymous, with implicit counting and
 * references to earlier names) and plain struct layouts. It is not a C
 * preprocessor; anything it cannot evaluate is reported, never guessed.
 */

/** A numeric constant found in a header, in declaration order. */
export interface CConstant {
  name: string;
  value: bigint;
  /** Name of the enclosing enum, '' for an anonymous enum, undefined for a #define. */
  enumName?: string;
  /** For enum members: the first member of the enclosing enum (names anonymous enums). */
  enumFirst?: string;
}

/** A parsed enum: its members in declaration order. */
export interface CEnum {
  name: string;
  members: { name: string; value: bigint }[];
}

/** Every constant and enum of one header. */
export interface HeaderConstants {
  constants: Map<string, CConstant>;
  enums: CEnum[];
  /** Enums or defines the evaluator could not handle (kept for diagnostics). */
  skipped: string[];
}

/** Replaces comments by spaces of equal length, keeping newlines (so positions stay valid). */
export function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m) => m.replace(/[^\n]/g, ' '));
}

/** Joins backslash-continued lines. */
export function joinContinuations(text: string): string {
  return text.replace(/\\\r?\n/g, ' ');
}

/** Splits an expression into tokens; throws on characters it does not know. */
function tokenize(expr: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|<<|>>|[()|&~+\-*^])\s*/y;
  let pos = 0;
  while (pos < expr.length) {
    if (/^\s*$/.test(expr.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m) throw new Error(`cannot tokenize '${expr}' at ${pos}`);
    tokens.push(m[1]!);
    pos = re.lastIndex;
  }
  return tokens;
}

const CAST_TYPES = new Set(['__u8', '__u16', '__u32', '__u64', '__s32', '__s64', 'u32', 'u64', 'int', 'unsigned', 'long']);

/**
 * Evaluates a C integer constant expression (literals with U/L suffixes, names of
 * earlier constants, casts to integer types, unary ~ and -, binary * + - << >> & ^ |).
 */
export function evalCExpr(expr: string, lookup: (name: string) => bigint | undefined): bigint {
  const tokens = tokenize(expr.replace(/\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b/g, '$1'));
  let i = 0;
  const peek = () => tokens[i];
  const next = () => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`unexpected end of '${expr}'`);
    return t;
  };
  const primary = (): bigint => {
    const t = next();
    if (t === '(') {
      // A cast such as (__u64) or (unsigned long long): skip it and evaluate what follows.
      if (peek() !== undefined && CAST_TYPES.has(peek()!)) {
        while (peek() !== ')') next();
        next();
        return unary();
      }
      const v = binary(0);
      if (next() !== ')') throw new Error(`missing ')' in '${expr}'`);
      return v;
    }
    if (/^0[xX]/.test(t)) return BigInt(t);
    if (/^\d+$/.test(t)) return BigInt(t);
    if (/^[A-Za-z_]/.test(t)) {
      const v = lookup(t);
      if (v === undefined) throw new Error(`unknown name '${t}' in '${expr}'`);
      return v;
    }
    throw new Error(`unexpected '${t}' in '${expr}'`);
  };
  const unary = (): bigint => {
    if (peek() === '~') {
      next();
      return ~unary();
    }
    if (peek() === '-') {
      next();
      return -unary();
    }
    if (peek() === '+') {
      next();
      return unary();
    }
    return primary();
  };
  const PREC: Record<string, number> = { '*': 5, '+': 4, '-': 4, '<<': 3, '>>': 3, '&': 2, '^': 1, '|': 0 };
  const binary = (minPrec: number): bigint => {
    let left = unary();
    for (;;) {
      const op = peek();
      if (op === undefined || !(op in PREC) || PREC[op]! < minPrec) return left;
      next();
      const right = binary(PREC[op]! + 1);
      switch (op) {
        case '*': left = left * right; break;
        case '+': left = left + right; break;
        case '-': left = left - right; break;
        case '<<': left = left << right; break;
        case '>>': left = left >> right; break;
        case '&': left = left & right; break;
        case '^': left = left ^ right; break;
        case '|': left = left | right; break;
      }
    }
  };
  const v = binary(0);
  if (i !== tokens.length) throw new Error(`trailing tokens in '${expr}'`);
  return v;
}

/**
 * Collects numeric #defines and enum members of a header in textual order, so that
 * an enum member may refer to an earlier define and vice versa.
 */
export function parseConstants(source: string): HeaderConstants {
  const text = joinContinuations(stripComments(source));
  const constants = new Map<string, CConstant>();
  const enums: CEnum[] = [];
  const skipped: string[] = [];
  const lookup = (n: string) => constants.get(n)?.value;

  type Event = { pos: number; kind: 'define'; name: string; expr: string } | { pos: number; kind: 'enum'; name: string; body: string };
  const events: Event[] = [];
  for (const m of text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)([ \t]+([^\n]*))?$/gm)) {
    // Function-like macros have '(' right after the name; the regex's [ \t]+ excludes them.
    if (m[3] === undefined || m[3].trim() === '') continue;
    events.push({ pos: m.index, kind: 'define', name: m[1]!, expr: m[3].trim() });
  }
  for (const m of text.matchAll(/\benum\b\s*([A-Za-z_]\w*)?\s*\{([^{}]*)\}/g)) {
    events.push({ pos: m.index, kind: 'enum', name: m[1] ?? '', body: m[2]! });
  }
  events.sort((a, b) => a.pos - b.pos);

  for (const ev of events) {
    if (ev.kind === 'define') {
      try {
        const value = evalCExpr(ev.expr, lookup);
        constants.set(ev.name, { name: ev.name, value });
      } catch {
        skipped.push(`#define ${ev.name}`);
      }
      continue;
    }
    // Defines written inside an enum body were already collected as events.
    const body = ev.body.replace(/^[ \t]*#[^\n]*$/gm, '');
    const items = body.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const members: { name: string; value: bigint }[] = [];
    let nextValue = 0n;
    let ok = true;
    for (const item of items) {
      const mm = /^([A-Za-z_]\w*)\s*(?:=\s*([\s\S]+))?$/.exec(item);
      if (!mm) {
        ok = false;
        break;
      }
      let value: bigint;
      try {
        value = mm[2] !== undefined ? evalCExpr(mm[2], (n) => members.find((x) => x.name === n)?.value ?? lookup(n)) : nextValue;
      } catch {
        ok = false;
        break;
      }
      members.push({ name: mm[1]!, value });
      nextValue = value + 1n;
    }
    if (!ok) {
      skipped.push(`enum ${ev.name || '(anonymous)'}`);
      continue;
    }
    enums.push({ name: ev.name, members });
    for (const mem of members) {
      constants.set(mem.name, { name: mem.name, value: mem.value, enumName: ev.name, enumFirst: members[0]!.name });
    }
  }
  return { constants, enums, skipped };
}

/** One field of a C struct with its computed placement. */
export interface CField {
  name: string;
  /** C type as written (without array suffix), e.g. `__u32`, `struct bpf_sock *`. */
  ctype: string;
  offset: number;
  /** Total size in bytes (element size × count for arrays). */
  size: number;
  /** Element count for arrays, undefined for scalars. */
  count?: number;
  /** For `__bpf_md_ptr` fields: the pointed-to type. */
  pointer?: boolean;
  /** A member of an anonymous union (other members share its bytes). */
  union?: boolean;
}

/** A C struct with its layout. */
export interface CStruct {
  name: string;
  size: number;
  align: number;
  fields: CField[];
}

const SCALAR_SIZES: Record<string, number> = {
  __u8: 1, __s8: 1, __u16: 2, __s16: 2, __be16: 2, __le16: 2, __u32: 4, __s32: 4, __be32: 4, __le32: 4, __wsum: 4,
  __u64: 8, __s64: 8, __be64: 8, __le64: 8, __aligned_u64: 8,
};

/**
 * Lays out a struct made of fixed-width integer fields, arrays of them,
 * `__bpf_md_ptr(type, name)` (8 bytes, 8-aligned), unnamed padding bit-fields
 * and anonymous unions of such fields (each member at the union's offset, marked
 * `union: true`), following the x86-64/BPF C ABI. Throws on anything else.
 */
export function parseStruct(source: string, name: string): CStruct {
  const text = stripComments(source);
  const re = new RegExp(`\\bstruct\\s+${name}\\s*\\{`, 'g');
  const m = re.exec(text);
  if (!m) throw new Error(`struct ${name} not found`);
  const start = m.index + m[0].length;
  // The body ends at the brace matching the struct's own (anonymous unions nest one level).
  let depth = 1;
  let end = start;
  for (; end < text.length && depth > 0; end++) {
    if (text[end] === '{') depth++;
    else if (text[end] === '}') depth--;
  }
  if (depth !== 0) throw new Error(`struct ${name}: no closing brace`);
  const body = text.slice(start, end - 1);
  // Top-level declarations: split at ';' outside braces.
  const decls: string[] = [];
  let cur = '';
  depth = 0;
  for (const ch of body) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (ch === ';' && depth === 0) {
      decls.push(cur);
      cur = '';
    } else cur += ch;
  }
  decls.push(cur);
  let bit = 0;
  let maxAlign = 1;
  const fields: CField[] = [];
  for (const raw of decls.map((s) => s.replace(/\s+/g, ' ').trim()).filter((s) => s !== '')) {
    const un = /^union \{(.*)\}$/.exec(raw);
    if (un) {
      const members = un[1]!.split(';').map((s) => s.trim()).filter((s) => s !== '').map((d) => scalarField(name, d));
      const align = Math.max(...members.map((f) => f.elem));
      const off = Math.ceil(bit / (align * 8)) * align;
      const size = Math.ceil(Math.max(...members.map((f) => f.size)) / align) * align;
      for (const f of members) fields.push({ name: f.name, ctype: f.ctype, offset: off, size: f.size, ...(f.count !== undefined ? { count: f.count } : {}), union: true });
      bit = (off + size) * 8;
      maxAlign = Math.max(maxAlign, align);
      continue;
    }
    const d = raw;
    const md = /^__bpf_md_ptr\(\s*(.+?)\s*,\s*(\w+)\s*\)$/.exec(d);
    if (md) {
      const off = Math.ceil(bit / 64) * 8;
      fields.push({ name: md[2]!, ctype: md[1]!, offset: off, size: 8, pointer: true });
      bit = (off + 8) * 8;
      maxAlign = Math.max(maxAlign, 8);
      continue;
    }
    const bf = /^(\w+) :\s*(\d+)$/.exec(d) ?? /^(\w+):(\d+)$/.exec(d);
    if (bf) {
      const unit = SCALAR_SIZES[bf[1]!];
      if (unit === undefined) throw new Error(`struct ${name}: unknown bit-field type in '${d}'`);
      const width = Number(bf[2]);
      const ubits = unit * 8;
      if (Math.floor(bit / ubits) !== Math.floor((bit + width - 1) / ubits)) bit = Math.ceil(bit / ubits) * ubits;
      bit += width;
      continue;
    }
    const f = scalarField(name, d);
    const off = Math.ceil(bit / (f.elem * 8)) * f.elem;
    fields.push({ name: f.name, ctype: f.ctype, offset: off, size: f.size, ...(f.count !== undefined ? { count: f.count } : {}) });
    bit = (off + f.size) * 8;
    maxAlign = Math.max(maxAlign, f.elem);
  }
  const size = Math.ceil(Math.ceil(bit / 8) / maxAlign) * maxAlign;
  return { name, size, align: maxAlign, fields };
}

/** An integer field or array declaration (`__u32 x`, `__u32 x[4]`). */
function scalarField(struct: string, d: string): { name: string; ctype: string; elem: number; size: number; count?: number } {
  const f = /^(\w+) (\w+)(?:\[(\d+)\])?$/.exec(d);
  if (!f) throw new Error(`struct ${struct}: cannot parse field '${d}'`);
  const elem = SCALAR_SIZES[f[1]!];
  if (elem === undefined) throw new Error(`struct ${struct}: unknown field type '${f[1]}'`);
  const count = f[3] !== undefined ? Number(f[3]) : undefined;
  return { name: f[2]!, ctype: f[1]!, elem, size: elem * (count ?? 1), ...(count !== undefined ? { count } : {}) };
}
