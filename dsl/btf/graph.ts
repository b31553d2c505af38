/**
 * A decoded (or built) BTF type graph: types by id, lookup by name, and an
 * optional base graph for split BTF (module BTF on top of vmlinux).
 */
import { BtfError } from './errors.js';
import type { BtfKind } from './kinds.js';
import type { BtfStringReader } from './strings.js';
import type { BtfOfKind, BtfSpec, BtfType, BtfTypeId } from './types.js';

/** A type together with its id. */
export interface BtfEntry<T extends BtfType = BtfType> {
  readonly id: BtfTypeId;
  readonly type: T;
}

/**
 * A BTF type graph. `types[i]` has id `firstId + i`; ids below `firstId` live in
 * `base`. It is also a {@link BtfSpec}, so it can be re-encoded as is.
 */
export class Btf implements BtfSpec {
  private nameIndex: Map<string, BtfTypeId[]> | undefined;

  constructor(
    /** This graph's own types, in id order. */
    readonly types: readonly BtfType[],
    /** The graph split BTF builds on (vmlinux for a module). */
    readonly base?: Btf,
    /** The raw string section this graph was decoded from, if any (keeps table order). */
    readonly stringReader?: BtfStringReader,
  ) {}

  /** Id of `types[0]`. */
  get firstId(): BtfTypeId {
    return this.base ? this.base.nextId : 1;
  }

  /** One past the last id (so also the number of ids including void). */
  get nextId(): BtfTypeId {
    return this.firstId + this.types.length;
  }

  /** Start offset of this graph's string table (non-zero only for split BTF). */
  get firstStringOffset(): number {
    return this.base?.stringReader?.end ?? 0;
  }

  /** The decoded string table in order (so `encodeBtf(graph)` is byte-identical). */
  get strings(): readonly string[] | undefined {
    return this.stringReader?.list();
  }

  /** The type with `id`, or undefined for void (0) and unknown ids. */
  get(id: BtfTypeId): BtfType | undefined {
    if (id >= this.firstId) return this.types[id - this.firstId];
    return this.base?.get(id);
  }

  /** The type with `id`; throws `BTF_BAD_TYPE_ID` for void or unknown ids. */
  typeById(id: BtfTypeId): BtfType {
    const t = this.get(id);
    if (!t) throw new BtfError('BTF_BAD_TYPE_ID', `no type with id ${id} (ids run from 1 to ${this.nextId - 1})`);
    return t;
  }

  /** Ids of every type named `name` (base first), optionally of one kind. */
  idsByName(name: string, kind?: BtfKind): BtfTypeId[] {
    if (!this.nameIndex) {
      const index = new Map<string, BtfTypeId[]>();
      const first = this.firstId;
      for (let i = 0; i < this.types.length; i++) {
        const n = this.types[i]!.name;
        if (n === '') continue;
        const list = index.get(n);
        if (list) list.push(first + i);
        else index.set(n, [first + i]);
      }
      this.nameIndex = index;
    }
    const own = this.nameIndex.get(name) ?? [];
    const all = this.base ? [...this.base.idsByName(name), ...own] : own;
    return kind ? all.filter((id) => this.get(id)!.kind === kind) : [...all];
  }

  /** The first type named `name` (of `kind` when given), or undefined. */
  find<K extends BtfKind = BtfKind>(name: string, kind?: K): BtfEntry<BtfOfKind<K>> | undefined {
    const id = this.idsByName(name, kind)[0];
    return id === undefined ? undefined : { id, type: this.get(id) as BtfOfKind<K> };
  }

  /** Like {@link find} but throws `BTF_NOT_FOUND`. */
  lookup<K extends BtfKind = BtfKind>(name: string, kind?: K): BtfEntry<BtfOfKind<K>> {
    const e = this.find(name, kind);
    if (!e) throw new BtfError('BTF_NOT_FOUND', `no ${kind ?? 'type'} named '${name}' in BTF`);
    return e;
  }

  /** Every own type with its id. */
  *entries(): IterableIterator<BtfEntry> {
    const first = this.firstId;
    for (let i = 0; i < this.types.length; i++) yield { id: first + i, type: this.types[i]! };
  }

  /** Number of own types of each kind. */
  countByKind(): Map<BtfKind, number> {
    const counts = new Map<BtfKind, number>();
    for (const t of this.types) counts.set(t.kind, (counts.get(t.kind) ?? 0) + 1);
    return counts;
  }

  /** Follows typedefs and modifiers (const, volatile, restrict, type_tag) to the underlying id. */
  resolve(id: BtfTypeId): BtfTypeId {
    const start = id;
    // A chain longer than the graph has ids must revisit one: a loop (only possible in a hand-built graph).
    for (let hops = 0; hops <= this.nextId; hops++) {
      const t = this.get(id);
      if (!t || !(t.kind === 'typedef' || t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag')) return id;
      id = t.type;
    }
    throw new BtfError('BTF_CYCLE', `the typedef/modifier chain from type id ${start} loops back on itself`);
  }

  /** Size in bytes of a type (following modifiers; arrays multiply), or throws for sizeless kinds. */
  sizeOf(id: BtfTypeId): number {
    const seen = new Set<number>();
    let mult = 1;
    for (;;) {
      if (seen.has(id)) throw new BtfError('BTF_CYCLE', `type id ${id} refers to itself without a pointer`);
      seen.add(id);
      const t = this.get(id);
      if (!t) throw new BtfError('BTF_BAD_TYPE_ID', `cannot size type id ${id}`);
      switch (t.kind) {
        case 'int':
        case 'struct':
        case 'union':
        case 'enum':
        case 'enum64':
        case 'float':
        case 'datasec':
          return mult * t.size;
        case 'ptr':
          return mult * 8;
        case 'array':
          mult *= t.nelems;
          id = t.type;
          break;
        case 'typedef':
        case 'const':
        case 'volatile':
        case 'restrict':
        case 'type_tag':
        case 'var':
          id = t.type;
          break;
        default:
          throw new BtfError('BTF_BAD_TYPE', `type [${id}] ${t.kind} '${t.name}' has no size`);
      }
    }
  }
}
