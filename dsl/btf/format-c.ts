/**
 * Prints a BTF graph as C declarations (structs, unions, enums, typedefs and,
 * on request, function and variable declarations), in an order a C compiler
 * accepts: every type is defined before it is needed by value, forward
 * declarations cover references through pointers, and duplicate names get a
 * `___N` suffix as bpftool does. Struct padding is written as unnamed
 * bitfields and misaligned layouts get `__attribute__((packed))`, so
 * recompiling the output reproduces sizes and member offsets.
 */
import { assertGraphAcyclic } from './cycles.js';
import { BtfError } from './errors.js';
import type { Btf } from './graph.js';
import type { BtfType, BtfTypeId } from './types.js';
import { typeReferences as refs } from './references.js';

/** Options of {@link formatBtfC}. */
export interface FormatBtfCOptions {
  /** Print only the types with these names (and what they need), instead of every type. */
  readonly type?: string | readonly string[];
  /** Also print FUNC and VAR declarations (default: only when `type` names one). */
  readonly functions?: boolean;
}

type Mode = 'strong' | 'weak';

/**
 * One step of the ordering walk: a generator that yields the sub-steps it
 * needs run first. {@link runSteps} drives them with an explicit stack, so a
 * dependency chain thousands of types deep does not grow the JavaScript stack.
 */
interface Step extends Generator<Step, void, void> {}

/** Runs `first` and every step it yields, depth first, without recursion. */
function runSteps(first: Step): void {
  const stack: Step[] = [first];
  while (stack.length) {
    const r = stack[stack.length - 1]!.next();
    if (r.done) stack.pop();
    else stack.push(r.value);
  }
}

/** Deepest nesting of inline declarations (anonymous aggregates, function-pointer parameters) printed. */
const MAX_INLINE_NESTING = 256;

/** Formats `graph` (own and base types it needs) as C. */
export function formatBtfC(graph: Btf, options: FormatBtfCOptions = {}): string {
  // A loop C cannot spell (typedef a b; typedef b a;) is refused rather than printed as invalid C.
  for (let g: Btf | undefined = graph; g; g = g.base) assertGraphAcyclic(g);
  return new CPrinter(graph, options).print();
}

class CPrinter {
  private readonly out: string[] = [];
  private readonly done = new Set<BtfTypeId>();
  private readonly inProgress = new Set<BtfTypeId>();
  private readonly declaredTags = new Set<BtfTypeId>();
  private readonly names = new Map<BtfTypeId, string>();
  private readonly enumeratorNames = new Map<string, string>();
  private readonly alignCache = new Map<BtfTypeId, number>();
  private pendingFwd: BtfTypeId[] = [];
  private readonly printedFwd = new Set<string>();
  private readonly needDone = new Set<number>();
  private readonly expanding = new Set<BtfTypeId>();
  private inlineNesting = 0;
  private inlineBudget = 5_000_000;

  constructor(
    private readonly g: Btf,
    private readonly options: FormatBtfCOptions,
  ) {
    this.assignNames();
  }

  print(): string {
    const roots = this.roots();
    for (const id of roots) runSteps(this.emitTop(id));
    return this.out.join('\n') + (this.out.length ? '\n' : '');
  }

  /** Which ids become top-level output. */
  private roots(): BtfTypeId[] {
    const g = this.g;
    if (this.options.type !== undefined) {
      const wanted = typeof this.options.type === 'string' ? [this.options.type] : this.options.type;
      return wanted.flatMap((name) => {
        const ids = g.idsByName(name).filter((id) => {
          const k = g.get(id)!.kind;
          return k !== 'decl_tag' && k !== 'datasec';
        });
        if (ids.length === 0) throw new BtfError('BTF_NOT_FOUND', `no type named '${name}' in BTF`);
        return ids;
      });
    }
    const referenced = new Set<BtfTypeId>();
    for (const { type } of g.entries()) for (const r of refs(type)) referenced.add(r);
    const roots: BtfTypeId[] = [];
    for (const { id, type: t } of g.entries()) {
      switch (t.kind) {
        case 'struct': case 'union':
          // Anonymous aggregates are printed inline where used.
          if (t.name !== '') roots.push(id);
          break;
        case 'enum': case 'enum64':
          // Unreferenced anonymous enums define constants, so they stand alone.
          if (t.name !== '' || !referenced.has(id)) roots.push(id);
          break;
        case 'typedef': case 'fwd':
          roots.push(id);
          break;
        case 'func': case 'var':
          if (this.options.functions) roots.push(id);
          break;
        default:
          break;
      }
    }
    return roots;
  }

  /** Unique C names: later duplicates in a namespace get `___N`, as bpftool does. */
  private assignNames(): void {
    const tags = new Map<string, number>();
    const ordinary = new Map<string, number>();
    const uniq = (ns: Map<string, number>, name: string): string => {
      const n = (ns.get(name) ?? 0) + 1;
      ns.set(name, n);
      return n === 1 ? name : `${name}___${n}`;
    };
    // Base graphs first: ids ascend along the chain, which decides who keeps a plain name.
    const chain: Btf[] = [];
    for (let g: Btf | undefined = this.g; g; g = g.base) chain.unshift(g);
    const seenFwd = new Map<string, BtfTypeId>();
    for (const graph of chain) for (let i = 0, id = graph.firstId; i < graph.types.length; i++, id++) {
      const t = graph.types[i]!;
      if ((t.kind === 'enum' || t.kind === 'enum64') && t.name === '') {
        for (const v of t.values) this.enumeratorNames.set(`${id}:${v.name}`, uniq(ordinary, v.name));
      }
      if (t.name === '') continue;
      switch (t.kind) {
        case 'struct': case 'union': case 'enum': case 'enum64': {
          // struct, union and enum tags share one C namespace.
          this.names.set(id, uniq(tags, t.name));
          if (t.kind === 'enum' || t.kind === 'enum64') {
            for (const v of t.values) this.enumeratorNames.set(`${id}:${v.name}`, uniq(ordinary, v.name));
          }
          break;
        }
        case 'fwd':
          // A forward declaration shares the tag of the struct/union it announces.
          seenFwd.set(t.name, id);
          this.names.set(id, t.name);
          break;
        case 'typedef':
          this.names.set(id, uniq(ordinary, t.name));
          break;
        case 'func': case 'var':
          // Only printed declarations compete for names; otherwise a function could rename a typedef.
          this.names.set(id, this.options.functions ? uniq(ordinary, t.name) : t.name);
          break;
        default:
          this.names.set(id, t.name);
      }
    }
    for (const [name] of seenFwd) if (!tags.has(name)) tags.set(name, 1);
  }

  private name(id: BtfTypeId): string {
    return this.names.get(id) ?? this.g.get(id)?.name ?? '';
  }

  // ---------------------------------------------------------------- ordering

  private *emitTop(id: BtfTypeId): Step {
    if (this.done.has(id) || this.inProgress.has(id)) return;
    const t = this.g.get(id);
    if (!t) return;
    this.inProgress.add(id);
    switch (t.kind) {
      case 'struct': case 'union':
        for (const m of t.members) yield this.need(m.type, 'strong');
        break;
      case 'typedef':
        yield this.need(t.type, 'weak');
        break;
      case 'func':
        yield this.need(t.type, 'weak');
        break;
      case 'var':
        yield this.need(t.type, 'strong');
        break;
      default:
        break;
    }
    const text = this.definition(id, t);
    this.flushFwd();
    if (text !== undefined && t.kind === 'fwd') {
      if (!this.printedFwd.has(text)) this.out.push(text, '');
      this.printedFwd.add(text);
    } else if (text !== undefined) this.out.push(text, '');
    this.inProgress.delete(id);
    this.done.add(id);
    if (t.kind === 'struct' || t.kind === 'union' || t.kind === 'fwd') this.declaredTags.add(id);
  }

  /** Makes sure `id` can be used in `mode` (strong: complete type; weak: declared is enough). */
  private *need(id: BtfTypeId, mode: Mode): Step {
    // Once satisfied a requirement stays satisfied; memoizing also keeps shared sub-graphs linear.
    const key = mode === 'strong' ? id : -id - 1;
    if (this.needDone.has(key)) return;
    this.needDone.add(key);
    const t = this.g.get(id);
    if (!t) return;
    switch (t.kind) {
      case 'struct': case 'union':
        if (t.name === '') {
          for (const m of t.members) yield this.need(m.type, 'strong');
        } else if (mode === 'strong') {
          yield this.emitTop(id);
        } else if (!this.done.has(id) && !this.declaredTags.has(id)) {
          this.pendingFwd.push(id);
        }
        break;
      case 'fwd':
        if (!this.declaredTags.has(id)) this.pendingFwd.push(id);
        break;
      case 'enum': case 'enum64':
        if (t.name !== '') yield this.emitTop(id);
        break;
      case 'typedef':
        yield this.emitTop(id);
        if (mode === 'strong') yield this.need(t.type, 'strong');
        break;
      case 'ptr':
        yield this.need(t.type, 'weak');
        break;
      case 'array':
        yield this.need(t.type, 'strong');
        break;
      case 'const': case 'volatile': case 'restrict': case 'type_tag':
        yield this.need(t.type, mode);
        break;
      case 'func_proto':
        yield this.need(t.returnType, 'weak');
        for (const p of t.params) yield this.need(p.type, 'weak');
        break;
      default:
        break;
    }
  }

  private flushFwd(): void {
    const pending = this.pendingFwd;
    this.pendingFwd = [];
    for (const id of pending) {
      if (this.declaredTags.has(id) || this.done.has(id)) continue;
      const t = this.g.get(id)!;
      const kw = t.kind === 'fwd' ? t.fwdKind : t.kind;
      const key = `${kw} ${this.name(id)};`;
      this.declaredTags.add(id);
      // Several ids (fwd + definition) may announce one tag; print it once.
      if (!this.printedFwd.has(key)) this.out.push(key, '');
      this.printedFwd.add(key);
    }
  }

  // ---------------------------------------------------------------- text

  private definition(id: BtfTypeId, t: BtfType): string | undefined {
    switch (t.kind) {
      case 'struct': case 'union': case 'enum': case 'enum64':
        return `${this.body(id, t, 0)};`;
      case 'fwd':
        return `${t.fwdKind} ${this.name(id)};`;
      case 'typedef':
        // The compiler predefines its builtins (e.g. __builtin_va_list); redefining them is an error.
        if (t.name.startsWith('__builtin_')) return undefined;
        return `typedef ${this.decl(t.type, this.name(id), 0)};`;
      case 'func': {
        const proto = this.g.get(t.type);
        const text = proto?.kind === 'func_proto' ? this.decl(t.type, this.name(id), 0) : `void ${this.name(id)}(void)`;
        return `${t.linkage === 'static' ? 'static ' : 'extern '}${text};`;
      }
      case 'var':
        return `${t.linkage === 'static' ? 'static' : 'extern'} ${this.decl(t.type, this.name(id), 0)};`;
      default:
        return undefined;
    }
  }

  /** `struct name { … }` / `enum name { … }` with members at `indent`. */
  private body(id: BtfTypeId, t: BtfType, indent: number): string {
    // Anonymous aggregates print inline; a corrupt graph could nest them in a cycle or explode.
    if (this.expanding.has(id)) return `${t.kind} /* recursive type ${id} */`;
    if (--this.inlineBudget < 0) throw new BtfError('BTF_BAD_TYPE', 'type graph expands to too much inline C (corrupt BTF?)');
    this.expanding.add(id);
    try {
      return this.bodyText(id, t, indent);
    } finally {
      this.expanding.delete(id);
    }
  }

  private bodyText(id: BtfTypeId, t: BtfType, indent: number): string {
    const pad = '\t'.repeat(indent + 1);
    const close = '\t'.repeat(indent);
    const nm = t.name === '' ? '' : ` ${this.name(id)}`;
    if (t.kind === 'enum' || t.kind === 'enum64') {
      const lines = t.values.map((v) => {
        const n = this.enumeratorNames.get(`${id}:${v.name}`) ?? v.name;
        const val = t.kind === 'enum64' ? `${v.value}${t.signed ? 'LL' : 'ULL'}` : String(v.value);
        return `${pad}${n} = ${val},`;
      });
      // Enums narrower or wider than int keep their size through a machine mode.
      const mode = t.kind === 'enum' ? ({ 1: 'QI', 2: 'HI', 8: 'DI' } as Record<number, string>)[t.size] : undefined;
      const attr = mode ? ` __attribute__((mode(${mode})))` : '';
      return `enum${nm} {\n${lines.join('\n')}\n${close}}${attr}`;
    }
    if (t.kind !== 'struct' && t.kind !== 'union') return this.decl(id, '', indent);
    const lines: string[] = [];
    const packed = t.kind === 'struct' && this.isPacked(t);
    let pos = 0;
    for (const m of t.members) {
      if (t.kind === 'struct') {
        const natural = this.naturalOffset(pos, m.type, m.bitfieldSize, packed);
        if (m.bitOffset > natural) {
          for (const l of paddingLines(pos, m.bitOffset, pad)) lines.push(l);
          pos = m.bitOffset;
        }
      }
      const bits = m.bitfieldSize ? `: ${m.bitfieldSize}` : '';
      lines.push(`${pad}${this.decl(m.type, this.memberName(m.name), indent + 1)}${bits};`);
      const end = m.bitOffset + (m.bitfieldSize || this.sizeBits(m.type));
      if (t.kind === 'struct') pos = Math.max(pos, end);
    }
    if (t.kind === 'struct') {
      const align = packed ? 8 : this.align(id) * 8;
      const naturalSize = roundUp(pos, align);
      if (t.size * 8 > naturalSize) for (const l of paddingLines(pos, t.size * 8, pad)) lines.push(l);
    }
    const attr = packed ? ' __attribute__((packed))' : '';
    return `${t.kind}${nm} {\n${lines.join('\n')}${lines.length ? '\n' : ''}${close}}${attr}`;
  }

  private memberName(name: string): string {
    return name;
  }

  /**
   * A C declarator: the type `id` applied to `inner` (a name, possibly with `*`,
   * `[]`, `()`). Pointer, array and qualifier chains are followed in a loop;
   * only inline declarations (anonymous aggregates, function-pointer
   * parameters) nest, and that nesting is bounded.
   */
  private decl(id: BtfTypeId, inner: string, indent: number): string {
    let prefix = '';
    for (let steps = 0; ; steps++) {
      if (steps > this.g.nextId) throw new BtfError('BTF_CYCLE', `type [${id}]: declarator chain loops back on itself (cyclic BTF)`);
      if (id === 0) return prefix + joinDecl(inner, 'void');
      const t = this.g.get(id);
      if (!t) return prefix + joinDecl(inner, `void /* missing type ${id} */`);
      switch (t.kind) {
        case 'int': case 'float':
          return prefix + joinDecl(inner, t.name);
        case 'struct': case 'union':
          return prefix + joinDecl(inner, t.name === '' ? this.nested(() => this.body(id, t, indent)) : `${t.kind} ${this.name(id)}`);
        case 'enum': case 'enum64':
          return prefix + joinDecl(inner, t.name === '' ? this.nested(() => this.body(id, t, indent)) : `enum ${this.name(id)}`);
        case 'fwd':
          return prefix + joinDecl(inner, `${t.fwdKind} ${this.name(id)}`);
        case 'typedef':
          return prefix + joinDecl(inner, this.name(id));
        case 'ptr': {
          const target = this.g.get(this.skipQualifiers(t.type));
          const wrap = target?.kind === 'array' || target?.kind === 'func_proto';
          inner = wrap ? `(*${inner})` : `*${inner}`;
          id = t.type;
          continue;
        }
        case 'array':
          inner = `${inner}[${t.nelems}]`;
          id = t.type;
          continue;
        case 'const': case 'volatile': case 'restrict': case 'type_tag': {
          const q = t.kind === 'type_tag' ? `__attribute__((btf_type_tag("${t.name.replace(/["\\]/g, '\\$&')}")))` : t.kind;
          if (t.kind !== 'type_tag' && this.hasQualifier(t.type, t.kind)) {
            id = t.type;
            continue;
          }
          const target = this.g.get(this.skipQualifiers(t.type));
          if (target?.kind === 'ptr') inner = `${q} ${inner}`.trimEnd();
          else prefix += `${q} `;
          id = t.type;
          continue;
        }
        case 'func_proto': {
          const params = t.params.map((p, i) =>
            p.type === 0 && p.name === '' && i === t.params.length - 1 ? '...' : this.nested(() => this.decl(p.type, p.name, indent)),
          );
          inner = `${inner}(${params.length ? params.join(', ') : 'void'})`;
          id = t.returnType;
          continue;
        }
        case 'func': case 'var':
          id = t.type;
          continue;
        default:
          return prefix + joinDecl(inner, `void /* ${t.kind} */`);
      }
    }
  }

  /** Runs `print` one inline level deeper; refuses absurd nesting (only crafted BTF has it) with a typed error. */
  private nested(print: () => string): string {
    if (++this.inlineNesting > MAX_INLINE_NESTING) {
      this.inlineNesting = 0;
      throw new BtfError('BTF_TOO_DEEP', `inline declarations (anonymous structs, function-pointer parameters) nest deeper than ${MAX_INLINE_NESTING} levels`);
    }
    try {
      return print();
    } finally {
      if (this.inlineNesting > 0) this.inlineNesting--;
    }
  }

  /** Whether the qualifier chain starting at `id` already has `kind` (C forbids `const const`). */
  private hasQualifier(id: BtfTypeId, kind: string): boolean {
    for (let i = 0; i <= this.g.nextId; i++) {
      const t = this.g.get(id);
      if (t?.kind === 'array') {
        // A qualified array qualifies its elements.
        id = t.type;
        continue;
      }
      if (!t || !(t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag')) return false;
      if (t.kind === kind) return true;
      id = t.type;
    }
    return false;
  }

  private skipQualifiers(id: BtfTypeId): BtfTypeId {
    for (let i = 0; i <= this.g.nextId; i++) {
      const t = this.g.get(id);
      if (!t || !(t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag')) return id;
      id = t.type;
    }
    return id;
  }

  // ---------------------------------------------------------------- layout

  private sizeBits(id: BtfTypeId): number {
    try {
      return this.g.sizeOf(id) * 8;
    } catch {
      return 0;
    }
  }

  /** C alignment in bytes on the BPF target (LP64; 128-bit ints align to 16); by-value nesting of any depth. */
  private align(id: BtfTypeId): number {
    const cached = this.alignCache.get(id);
    if (cached !== undefined) return cached;
    // Post-order over what the alignment depends on, with an explicit stack.
    const stack: BtfTypeId[] = [id];
    const expanded = new Set<BtfTypeId>();
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (!expanded.has(top)) {
        expanded.add(top);
        this.alignCache.set(top, 1); // provisional: cuts cycles (a struct containing itself is corrupt anyway)
        for (const d of this.alignDeps(top)) if (!this.alignCache.has(d)) stack.push(d);
        continue;
      }
      stack.pop();
      this.alignCache.set(top, this.alignOf(top));
    }
    return this.alignCache.get(id)!;
  }

  /** The types whose alignment decides `id`'s. */
  private alignDeps(id: BtfTypeId): BtfTypeId[] {
    const t = this.g.get(id);
    if (!t) return [];
    switch (t.kind) {
      case 'array': case 'typedef': case 'const': case 'volatile': case 'restrict': case 'type_tag':
        return [t.type];
      case 'struct': case 'union':
        return t.members.map((m) => m.type);
      default:
        return [];
    }
  }

  /** Alignment of `id` once its dependencies' are known. */
  private alignOf(id: BtfTypeId): number {
    const t = this.g.get(id);
    if (!t) return 1;
    switch (t.kind) {
      case 'int': case 'float': case 'enum': case 'enum64':
        return Math.min(Math.max(t.size, 1), 16);
      case 'ptr':
        return 8;
      case 'array': case 'typedef': case 'const': case 'volatile': case 'restrict': case 'type_tag':
        return this.align(t.type);
      case 'struct': case 'union': {
        if (t.kind === 'struct' && this.isPacked(t)) return 1;
        let a = 1;
        for (const m of t.members) a = Math.max(a, this.align(m.type));
        return a;
      }
      default:
        return 1;
    }
  }

  /** Where C would put a member after `pos` bits (bitfields stay inside their storage unit). */
  private naturalOffset(pos: number, type: BtfTypeId, bitfieldSize: number, packed: boolean): number {
    if (packed) return pos;
    if (bitfieldSize === 0) return roundUp(pos, this.align(type) * 8);
    const unit = this.sizeBits(type) || 8;
    const start = pos;
    return Math.floor(start / unit) === Math.floor((start + bitfieldSize - 1) / unit) ? start : roundUp(start, unit);
  }

  /**
   * A struct needs `packed` when natural C layout cannot reproduce it: a member
   * would land after its real offset, or the size is not a multiple of the
   * alignment (bitfields' declared types count, as in C).
   */
  private isPacked(t: Extract<BtfType, { kind: 'struct' }>): boolean {
    let maxAlign = 1;
    let pos = 0;
    for (const m of t.members) {
      maxAlign = Math.max(maxAlign, this.align(m.type));
      if (this.naturalOffset(pos, m.type, m.bitfieldSize, false) > m.bitOffset) return true;
      pos = Math.max(pos, m.bitOffset + (m.bitfieldSize || this.sizeBits(m.type)));
    }
    return t.size % maxAlign !== 0;
  }
}

/** `base inner` (a type and its declarator), or just `base` for an abstract declarator. */
function joinDecl(inner: string, base: string): string {
  return inner === '' ? base : `${base} ${inner}`;
}

function roundUp(x: number, to: number): number {
  return to <= 1 ? x : Math.ceil(x / to) * to;
}

const HUGE_GAP_BITS = 65536 * 8;

/** Unnamed bitfields filling [from, to) bits, in storage-unit-aligned pieces. */
function paddingLines(from: number, to: number, pad: string): string[] {
  const lines: string[] = [];
  let pos = from;
  while (pos < to) {
    // Huge gaps (only corrupt or exotic BTF) become one named byte array instead of millions of lines.
    if (pos % 8 === 0 && to - pos > HUGE_GAP_BITS) {
      const bytes = Math.floor((to - pos) / 8);
      lines.push(`${pad}unsigned char __pad_${pos / 8}[${bytes}];`);
      pos += bytes * 8;
      continue;
    }
    const gap = to - pos;
    if (pos % 8 !== 0) {
      const n = Math.min(gap, 8 - (pos % 8));
      lines.push(`${pad}unsigned char: ${n};`);
      pos += n;
      continue;
    }
    const w = [64, 32, 16, 8].find((x) => pos % x === 0 && x <= gap);
    if (w === undefined) {
      lines.push(`${pad}unsigned char: ${gap};`);
      pos += gap;
      continue;
    }
    const ty = w === 64 ? 'long' : w === 32 ? 'int' : w === 16 ? 'short' : 'char';
    lines.push(`${pad}${ty}: ${w};`);
    pos += w;
  }
  return lines;
}

