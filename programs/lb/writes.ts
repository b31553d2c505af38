/**
 * The writes of one request, in the order they go out, packed as the kernel's
 * batch operations take them. Plans (plan.ts) append their writes here as
 * they are made; the manager then checks capacity against the groups, sends
 * each group as one batch (or element by element) and, on a failure, undoes
 * the groups in reverse from the previous values kept alongside.
 *
 * Order: deletions of services first (they free entries), then upserts;
 * within each stage the services advance phase by phase together (plan.ts),
 * so each one still sees its own writes in order while one phase of many
 * services goes to the kernel as one batch. Packing here, rather than per
 * write objects, keeps a 10,000-service sync from allocating (and the
 * garbage collector from copying) a few hundred thousand small arrays.
 */
import type { AddressFamily } from './spec.js';

/** Which of a family's three maps a write goes to. */
export type TableName = 'services' | 'backends' | 'revNat';

/** Writes of one kind (update or delete) to one map in one phase, back to back. */
export class WriteGroup {
  readonly family: AddressFamily;
  readonly table: TableName;
  readonly remove: boolean;
  readonly keySize: number;
  readonly valueSize: number;
  /** Entries in the group. */
  count = 0;
  /** Entries that did not exist before (updates without a previous value). */
  created = 0;
  /** Keys, `keySize` bytes each. */
  keys: Uint8Array;
  /** New values, `valueSize` bytes each (updates only). */
  values: Uint8Array;
  /** Previous values (for rollback), where `hadPrev` says there was one. */
  prevs: Uint8Array;
  hadPrev: Uint8Array;
  /** Frontends with writes here, each once (for messages). */
  readonly services: string[] = [];

  constructor(family: AddressFamily, table: TableName, remove: boolean, keySize: number, valueSize: number) {
    this.family = family;
    this.table = table;
    this.remove = remove;
    this.keySize = keySize;
    this.valueSize = valueSize;
    this.keys = new Uint8Array(16 * keySize);
    this.values = new Uint8Array(remove ? 0 : 16 * valueSize);
    this.prevs = new Uint8Array(16 * valueSize);
    this.hadPrev = new Uint8Array(16);
  }

  /** Appends one write (bytes are copied). */
  add(service: string, key: Uint8Array, value: Uint8Array | undefined, prev: Uint8Array | undefined): void {
    if (this.count === this.hadPrev.length) this.#grow();
    const i = this.count++;
    copyInto(this.keys, i * this.keySize, key, this.keySize);
    if (value) copyInto(this.values, i * this.valueSize, value, this.valueSize);
    if (prev) {
      copyInto(this.prevs, i * this.valueSize, prev, this.valueSize);
      this.hadPrev[i] = 1;
    } else this.created++;
    if (this.services[this.services.length - 1] !== service) this.services.push(service);
  }

  /** The key of entry `i` (a view). */
  key(i: number): Uint8Array {
    return this.keys.subarray(i * this.keySize, (i + 1) * this.keySize);
  }

  /** The new value of entry `i` (a view). */
  value(i: number): Uint8Array {
    return this.values.subarray(i * this.valueSize, (i + 1) * this.valueSize);
  }

  /** The previous value of entry `i` (a view), or undefined if it did not exist. */
  prev(i: number): Uint8Array | undefined {
    return this.hadPrev[i] ? this.prevs.subarray(i * this.valueSize, (i + 1) * this.valueSize) : undefined;
  }

  #grow(): void {
    const n = this.hadPrev.length * 2;
    this.keys = grown(this.keys, n * this.keySize);
    if (!this.remove) this.values = grown(this.values, n * this.valueSize);
    this.prevs = grown(this.prevs, n * this.valueSize);
    this.hadPrev = grown(this.hadPrev, n);
  }
}

function grown(b: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(b);
  return out;
}

// A byte loop: for entries of a dozen bytes it beats TypedArray.set, whose fixed cost dominates.
function copyInto(out: Uint8Array, at: number, part: Uint8Array, size: number): void {
  for (let i = 0; i < size; i++) out[at + i] = part[i]!;
}

/** Key and value sizes of one family's tables. */
export type TableSizes = Record<TableName, { readonly key: number; readonly value: number }>;

const TABLE_INDEX: Record<TableName, number> = { services: 0, backends: 1, revNat: 2 };

/**
 * Where plans put their writes. `begin` names the service (and whether it is
 * being deleted, which puts its writes in the first stage) before its plan
 * runs; `write` appends one write of that service.
 */
export class WriteSchedule {
  readonly #sizes: Record<AddressFamily, TableSizes | undefined>;
  /** stage (0: deletions, 1: upserts) → phase → 12 slots: family (2) × table (3) × kind (2). */
  readonly #stages: (WriteGroup | undefined)[][][] = [[], []];
  #stage = 1;
  #family: AddressFamily = 'ipv4';
  #service = '';

  constructor(sizes: Partial<Record<AddressFamily, TableSizes>>) {
    this.#sizes = { ipv4: sizes.ipv4, ipv6: sizes.ipv6 };
  }

  /** Writes that follow belong to `service` of `family`; `removed`: it is being deleted. */
  begin(service: string, family: AddressFamily, removed: boolean): void {
    this.#service = service;
    this.#family = family;
    this.#stage = removed ? 0 : 1;
  }

  /** One write (`value` undefined deletes) at step `phase` of the current service's plan; `prev` is what the entry held. */
  write(phase: number, table: TableName, key: Uint8Array, value: Uint8Array | undefined, prev: Uint8Array | undefined): void {
    const row = (this.#stages[this.#stage]![phase] ??= []);
    const remove = value === undefined;
    const slot = (this.#family === 'ipv4' ? 0 : 6) + TABLE_INDEX[table] * 2 + (remove ? 1 : 0);
    let g = row[slot];
    if (!g) {
      const size = this.#sizes[this.#family]![table];
      row[slot] = g = new WriteGroup(this.#family, table, remove, size.key, size.value);
    }
    g.add(this.#service, key, value, prev);
  }

  /** The groups in the order they must go out. */
  groups(): WriteGroup[] {
    const out: WriteGroup[] = [];
    for (const phases of this.#stages) for (const row of phases) if (row) for (const g of row) if (g) out.push(g);
    return out;
  }
}
