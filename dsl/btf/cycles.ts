/**
 * Cycle check of a BTF type graph. C types may only refer back to themselves
 * through a pointer (`struct list { struct list *next; }`); a loop of
 * typedefs, modifiers, arrays or by-value members has no size and no C
 * spelling, so such a graph is rejected when decoded. The walk is iterative:
 * chains of any depth are fine.
 */
import { BtfError } from './errors.js';
import { typeReferences } from './references.js';
import type { BtfType, BtfTypeId } from './types.js';

/**
 * The ids of a cycle that does not pass through both a pointer and a struct or union, in walk order, or
 * undefined. Only own types (`firstId` …) are walked; references into a base
 * graph end the walk there (the base was checked when it was decoded).
 */
export function findValueCycle(types: readonly BtfType[], firstId: BtfTypeId): BtfTypeId[] | undefined {
  return findCycle(types, firstId, (t) => t.kind === 'ptr') ?? findCycle(types, firstId, (t) => t.kind === 'struct' || t.kind === 'union');
}

/** A cycle of `types` whose edges do not start at a type `cut` accepts. */
function findCycle(types: readonly BtfType[], firstId: BtfTypeId, cut: (t: BtfType) => boolean): BtfTypeId[] | undefined {
  const n = types.length;
  // 0 = unvisited, 1 = on the current path, 2 = finished.
  const state = new Uint8Array(n);
  const edges = (i: number): BtfTypeId[] => (cut(types[i]!) ? [] : typeReferences(types[i]!));
  for (let root = 0; root < n; root++) {
    if (state[root] !== 0) continue;
    const path: number[] = [root];
    const pending: BtfTypeId[][] = [edges(root)];
    state[root] = 1;
    while (path.length) {
      const next = pending[pending.length - 1]!.pop();
      if (next === undefined) {
        state[path.pop()!] = 2;
        pending.pop();
        continue;
      }
      const j = next - firstId;
      if (j < 0 || j >= n || state[j] === 2) continue;
      if (state[j] === 1) return path.slice(path.indexOf(j)).map((i) => firstId + i);
      state[j] = 1;
      path.push(j);
      pending.push(edges(j));
    }
  }
  return undefined;
}

/** Throws `BTF_CYCLE` if `types` has a cycle C cannot express (see {@link findValueCycle}), naming the types on it. */
export function assertNoValueCycle(types: readonly BtfType[], firstId: BtfTypeId): void {
  const cycle = findValueCycle(types, firstId);
  if (!cycle) return;
  const show = (id: BtfTypeId): string => {
    const t = types[id - firstId]!;
    return `[${id}] ${t.kind}${t.name ? ` '${t.name}'` : ''}`;
  };
  const shown = cycle.length > 6 ? [...cycle.slice(0, 5).map(show), `… (${cycle.length - 5} more)`] : cycle.map(show);
  throw new BtfError('BTF_CYCLE', `type ${show(cycle[0]!)} refers back to itself without a pointer to a struct or union: ${shown.join(' -> ')} -> [${cycle[0]}] (cyclic BTF)`);
}

/** Type lists already found acyclic (graphs are immutable, so once is enough). */
const acyclic = new WeakSet<readonly BtfType[]>();

/** {@link assertNoValueCycle} for a whole graph, remembered per graph so repeated checks are free. */
export function assertGraphAcyclic(graph: { readonly types: readonly BtfType[]; readonly firstId: BtfTypeId }): void {
  if (acyclic.has(graph.types)) return;
  assertNoValueCycle(graph.types, graph.firstId);
  acyclic.add(graph.types);
}
