/**
 * Resource discipline: after creating, loading, failing to load and closing
 * hundreds of maps and programs, the process has exactly as many fds open as
 * before.
 */
import { describe, expect, it } from 'vitest';
import { asm } from '../../dsl/isa/index.js';
import { BpfMap, Fd, FdScope, LoaderError, Program, VerifierError } from '../../loader/index.js';
import { need } from '../support/env.js';
import { fdCount } from './helpers.js';

const kernel = need({ kernel: true });

describe.skipIf(!kernel)('fd discipline', () => {
  it('500 create/load/run/close cycles leave the fd count at its baseline', () => {
    const baseline = fdCount();
    const ok = asm().mov64('r0', 1).exit().build();
    const bad = asm().exit().build(); // r0 unset: the verifier rejects it
    for (let i = 0; i < 500; i++) {
      using scope = new FdScope();
      const m = scope.add(BpfMap.create({ type: i % 2 ? 'HASH' : 'ARRAY', name: `leak${i}`, key: 4, value: 8, maxEntries: 4 }));
      m.set(0, BigInt(i));
      const p = scope.add(
        Program.load({ section: 'socket', name: `leak${i}`, instructions: asm().ldMapFd('r1', 'm').mov64('r0', 1).exit().build() }, { maps: { m } }),
      );
      if (i % 50 === 0) {
        expect(p.run({ data: new Uint8Array(64) }).retval).toBe(1);
        expect(() => Program.load({ name: 'bad', section: 'socket', instructions: bad })).toThrow(VerifierError);
        expect(() => BpfMap.create({ type: 'HASH', key: 0, value: 4, maxEntries: 1 })).toThrow();
        // a map-in-map with a spec template creates and closes a temporary inner map
        scope.add(BpfMap.create({ type: 'ARRAY_OF_MAPS', key: 4, maxEntries: 1, innerMap: { type: 'ARRAY', key: 4, value: 4, maxEntries: 1 } }));
        // a pinned-looking open of a bad path fails without leaking
        expect(() => BpfMap.fromPin('/nonexistent/x')).toThrow();
      }
      const extra = Program.load({ name: 'ok', section: 'socket', instructions: ok });
      extra.close();
      extra.close(); // double close is safe
      if (i === 0) expect(fdCount()).toBeGreaterThan(baseline);
    }
    expect(fdCount()).toBe(baseline);
  });

  it('FdScope closes newest first, once, and refuses additions after close', () => {
    const order: string[] = [];
    const scope = new FdScope();
    scope.add({ close: () => order.push('a') });
    scope.add({ close: () => order.push('b') });
    scope.close();
    scope.close();
    expect(order).toEqual(['b', 'a']);
    expect(() => scope.add({ close: () => order.push('c') })).toThrow(LoaderError);
    expect(order).toEqual(['b', 'a', 'c']);
  });

  it('a closed object refuses use instead of passing a stale fd number', () => {
    const m = BpfMap.create({ type: 'ARRAY', key: 4, value: 4, maxEntries: 1 });
    m.close();
    expect(m.closed).toBe(true);
    expect(() => m.get(0)).toThrow(/closed/);
    expect(() => new Fd(-1)).toThrow(LoaderError);
  });
});
