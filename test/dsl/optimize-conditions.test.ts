/**
 * The IR clean-ups (dsl/lower/optimize.ts) over combined conditions: the lazy
 * `before` part of an and/or runs on some paths only. Hand-made IR, so each case
 * pins one rule: a read in a lazy part is a real use (the store or definition
 * feeding it stays), a write in a lazy part is conditional (it neither overwrites
 * an earlier store nor makes a value known after the condition), and what every
 * path to an exit ran is known there.
 */
import { describe, expect, it } from 'vitest';
import type { CondExpr, IrFunction, Node } from '../../dsl/ir/index.js';
import { optimize } from '../../dsl/lower/index.js';

const R = 16; // first virtual register: the context parameter
const fn = (body: Node[], objects: IrFunction['objects'] = []): IrFunction => ({
  name: 't',
  kind: 'program',
  params: [R],
  body,
  frameSize: 16,
  objects,
  nextVReg: 64,
});
const eq = (a: number, b: bigint | number): CondExpr => ({ cmp: 'eq', a, b: typeof b === 'number' ? b : b, width: 64 });
const lazy = (before: Node[], cond: CondExpr): CondExpr => ({ before, cond });
const ret = (value: bigint | number): Node => ({ op: 'return', value });

/** Every node of a body, nested ones (condition parts, arms, loop bodies) included. */
function all(nodes: readonly Node[]): Node[] {
  const out: Node[] = [];
  const walkCond = (e: CondExpr): void => {
    if ('before' in e) out.push(...all(e.before)), walkCond(e.cond);
    else if ('not' in e) walkCond(e.not);
    else if ('all' in e) e.all.forEach(walkCond);
    else if ('any' in e) e.any.forEach(walkCond);
  };
  for (const n of nodes) {
    out.push(n);
    if (n.op === 'if') walkCond(n.cond), out.push(...all(n.then), ...all(n.else));
    if (n.op === 'loop') out.push(...all(n.body));
  }
  return out;
}
const stores = (body: readonly Node[]) => all(body).filter((n) => n.op === 'store');
const LOCAL = [{ off: -8, size: 8 }];

describe('dead stack stores and combined conditions', () => {
  it('a store read only by the lazy right-hand side of an and stays (later overwritten or not)', () => {
    const body: Node[] = [
      { op: 'store', base: 'fp', off: -8, size: 8, value: 7n },
      { op: 'load', dst: 20, base: R, off: 0, size: 4 },
      { op: 'if', cond: { all: [eq(20, 0n), lazy([{ op: 'load', dst: 21, base: 'fp', off: -8, size: 8 }], eq(21, 7n))] }, then: [ret(1)], else: [] },
      { op: 'store', base: 'fp', off: -8, size: 8, value: 9n },
      { op: 'load', dst: 22, base: 'fp', off: -8, size: 8 },
      ret(22),
    ];
    const out = optimize(fn(body, LOCAL)).body;
    expect(stores(out).map((s) => s.op === 'store' && s.value)).toEqual([7n, 9n]);
  });

  it('a store whose address only a lazy helper call gets stays', () => {
    const body: Node[] = [
      { op: 'store', base: 'fp', off: -8, size: 4, value: 3n },
      { op: 'load', dst: 20, base: R, off: 0, size: 4 },
      {
        op: 'if',
        cond: {
          any: [
            eq(20, 1n),
            lazy(
              [
                { op: 'mapref', dst: 23, map: 'm' },
                { op: 'frameaddr', dst: 24, off: -8 },
                { op: 'call', helper: 1, name: 'map_lookup_elem', args: [23, 24], dst: 25 },
              ],
              { cmp: 'ne', a: 25, b: 0n, width: 64 },
            ),
          ],
        },
        then: [ret(1)],
        else: [],
      },
      { op: 'store', base: 'fp', off: -8, size: 4, value: 4n },
      { op: 'load', dst: 26, base: 'fp', off: -8, size: 4 },
      ret(26),
    ];
    const out = optimize(fn(body, LOCAL)).body;
    expect(stores(out).map((s) => s.op === 'store' && s.value)).toEqual([3n, 4n]);
  });

  it('a store in a lazy part does not overwrite an earlier store (the part may be skipped)', () => {
    const body: Node[] = [
      { op: 'store', base: 'fp', off: -8, size: 8, value: 1n },
      { op: 'load', dst: 20, base: R, off: 0, size: 4 },
      { op: 'if', cond: { any: [eq(20, 0n), lazy([{ op: 'store', base: 'fp', off: -8, size: 8, value: 2n }], eq(20, 5n))] }, then: [], else: [] },
      { op: 'load', dst: 21, base: 'fp', off: -8, size: 8 },
      ret(21),
    ];
    const out = optimize(fn(body, LOCAL)).body;
    expect(stores(out).map((s) => s.op === 'store' && s.value)).toEqual([1n, 2n]);
  });

  it('a store overwritten inside the same lazy part before any read is dropped there', () => {
    const body: Node[] = [
      { op: 'load', dst: 20, base: R, off: 0, size: 4 },
      {
        op: 'if',
        cond: {
          all: [
            eq(20, 0n),
            lazy(
              [
                { op: 'store', base: 'fp', off: -8, size: 8, value: 0n },
                { op: 'store', base: 'fp', off: -8, size: 8, value: 5n },
                { op: 'load', dst: 21, base: 'fp', off: -8, size: 8 },
              ],
              eq(21, 5n),
            ),
          ],
        },
        then: [ret(1)],
        else: [],
      },
      ret(0),
    ];
    const out = optimize(fn(body, LOCAL)).body;
    expect(stores(out).map((s) => s.op === 'store' && s.value)).toEqual([5n]);
  });
});

describe('value forwarding and combined conditions', () => {
  const field = (dst: number): Node => ({ op: 'load', dst, base: 30, off: 4, size: 4 });
  const ptr: Node = { op: 'load', dst: 30, base: R, off: 0, size: 8 };

  for (const kind of ['all', 'any'] as const) {
    it(`a load made in a lazy part of ${kind}(...) is not reused after the condition (the part may be skipped)`, () => {
      const parts = [eq(20, 0n), lazy([field(21)], eq(21, 1n))];
      const body: Node[] = [
        ptr,
        { op: 'load', dst: 20, base: R, off: 8, size: 4 },
        { op: 'if', cond: kind === 'all' ? { all: parts } : { any: parts }, then: [], else: [] },
        field(22),
        ret(22),
      ];
      const out = optimize(fn(body)).body;
      expect(out.filter((n) => n.op === 'load' && n.dst === 22)).toHaveLength(1);
      expect(all(out).some((n) => n.op === 'mov' && n.dst === 22)).toBe(false);
    });
  }

  it('where every path ran the lazy part (the false exit of an or), its load is reused', () => {
    const body: Node[] = [
      ptr,
      { op: 'load', dst: 20, base: R, off: 8, size: 4 },
      { op: 'if', cond: { any: [eq(20, 0n), lazy([field(21)], eq(21, 1n))] }, then: [ret(1)], else: [field(22), ret(22)] },
      ret(0),
    ];
    const out = optimize(fn(body)).body;
    const ifNode = out.find((n) => n.op === 'if')!;
    // The second load became a copy of the first, which the return then reads directly.
    expect(ifNode.op === 'if' && ifNode.else).toEqual([expect.objectContaining({ op: 'return', value: 21 })]);
  });

  it('a register written in a lazy part is no longer a copy afterwards', () => {
    const body: Node[] = [
      { op: 'load', dst: 20, base: R, off: 8, size: 4 },
      { op: 'mov', dst: 21, a: 20, width: 64 },
      { op: 'if', cond: { all: [eq(20, 3n), lazy([{ op: 'mov', dst: 21, a: 5n, width: 64 }], eq(21, 5n))] }, then: [], else: [] },
      ret(21),
    ];
    const out = optimize(fn(body)).body;
    expect(out[out.length - 1]).toEqual(expect.objectContaining({ op: 'return', value: 21 }));
    expect(all(out).filter((n) => n.op === 'mov' && n.dst === 21)).toHaveLength(2);
  });

  it('a comparison after a lazy part reads a copy\'s original only if the part kept it', () => {
    const body: Node[] = [
      { op: 'load', dst: 20, base: R, off: 8, size: 4 },
      { op: 'mov', dst: 21, a: 20, width: 64 },
      { op: 'if', cond: { all: [lazy([{ op: 'mov', dst: 21, a: 9n, width: 64 }], eq(20, 1n)), eq(21, 9n)] }, then: [ret(1)], else: [] },
      { op: 'if', cond: { all: [eq(20, 2n), eq(21, 2n)] }, then: [ret(2)], else: [] },
      ret(0),
    ];
    const out = optimize(fn(body)).body;
    const ifs = out.filter((n) => n.op === 'if');
    // First if: r21 was rewritten in the lazy part before it is compared.
    expect(JSON.stringify(ifs[0]!.op === 'if' && ifs[0]!.cond, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))).toContain('"a":21');
    // Second if: the lazy part of the first ran on every path, so r21 is 9 there, not a copy of r20.
    expect(JSON.stringify(ifs[1]!.op === 'if' && ifs[1]!.cond, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))).toContain('"a":21');
  });
});

describe('dead code and combined conditions', () => {
  it('a value read only in a lazy part stays; an unused one computed there goes', () => {
    const body: Node[] = [
      { op: 'load', dst: 20, base: R, off: 8, size: 4 },
      { op: 'alu', alu: 'add', dst: 21, a: 20, b: 1n, width: 64 },
      {
        op: 'if',
        cond: {
          all: [
            { cmp: 'ne', a: 20, b: 0n, width: 64 },
            lazy(
              [
                { op: 'alu', alu: 'mul', dst: 22, a: 21, b: 2n, width: 64 },
                { op: 'alu', alu: 'xor', dst: 23, a: 20, b: 7n, width: 64 },
              ],
              eq(22, 4n),
            ),
          ],
        },
        then: [ret(1)],
        else: [],
      },
      ret(0),
    ];
    const out = all(optimize(fn(body)).body);
    expect(out.some((n) => n.op === 'alu' && n.dst === 21)).toBe(true);
    expect(out.some((n) => n.op === 'alu' && n.dst === 22)).toBe(true);
    expect(out.some((n) => n.op === 'alu' && n.dst === 23)).toBe(false);
  });
});
