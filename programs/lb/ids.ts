/**
 * Allocation of backend ids and reverse-NAT indexes: O(1) allocate and
 * release. Fresh ids are handed out first and freed ones queue up in FIFO
 * order, so a freed id is reused as late as possible: a flow that still
 * carries an old id (the tc datapath's conntrack holds backend ids) is then
 * unlikely to find someone else's backend under it.
 */
export class IdAllocator {
  /** Largest id (ids are 1..max; 0 means "none" in the maps). */
  readonly max: number;
  #next: number;
  #free: number[] = [];
  #head = 0;
  #inUse: number;

  /** An allocator over 1..max with `used` already taken (a restore from the maps). */
  constructor(max: number, used: Iterable<number> = []) {
    this.max = max;
    const taken = new Set<number>();
    let top = 0;
    for (const id of used) {
      if (!Number.isInteger(id) || id < 1 || id > max) throw new RangeError(`id ${id} outside 1..${max}`);
      taken.add(id);
      if (id > top) top = id;
    }
    for (let id = 1; id < top; id++) if (!taken.has(id)) this.#free.push(id);
    this.#next = top + 1;
    this.#inUse = taken.size;
  }

  /** Ids still available. */
  get available(): number {
    return this.max - this.#inUse;
  }

  /** Ids in use. */
  get inUse(): number {
    return this.#inUse;
  }

  /** A free id, or undefined when all are in use. */
  allocate(): number | undefined {
    let id: number | undefined;
    if (this.#next <= this.max) id = this.#next++;
    else if (this.#head < this.#free.length) id = this.#free[this.#head++];
    else return undefined;
    this.#inUse++;
    return id;
  }

  /** Returns `id` to the pool (after everything that referred to it was deleted). */
  release(id: number): void {
    this.#free.push(id);
    this.#inUse--;
    // Drop the consumed prefix once it dominates, keeping release amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#free.length) {
      this.#free = this.#free.slice(this.#head);
      this.#head = 0;
    }
  }

  /** A point to return to with {@link reset}: only allocations may happen in between. */
  mark(): { readonly next: number; readonly head: number; readonly inUse: number } {
    return { next: this.#next, head: this.#head, inUse: this.#inUse };
  }

  /** Undoes the allocations made since `mark` (a rolled-back transaction). */
  reset(mark: { readonly next: number; readonly head: number; readonly inUse: number }): void {
    this.#next = mark.next;
    this.#head = mark.head;
    this.#inUse = mark.inUse;
  }
}
