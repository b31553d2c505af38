/**
 * Maps against the real kernel: every type the datapath needs is created and
 * checked against BPF_OBJ_GET_INFO_BY_FD and bpftool; CRUD, update modes with
 * their errnos, iteration, batch operations, per-CPU values, freeze.
 */
import { describe, expect, it } from 'vitest';
import { BpfError, BpfMap, FdScope, LoaderError, MapFlag, possibleCpus, type MapSpec } from '../../loader/index.js';
import { need } from '../support/env.js';
import { bpftoolDump, bpftoolMapShow, fromLe, le } from './helpers.js';

const kernel = need({ kernel: true });
const bpftool = kernel && need({ tools: ['bpftool'] });

/** Asserts `fn` throws a BpfError with errno `errno`. */
function expectErrno(fn: () => unknown, errno: string, command?: string): BpfError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BpfError);
    const err = e as BpfError;
    expect(err.errno).toBe(errno);
    if (command) expect(err.command).toBe(command);
    return err;
  }
  throw new Error(`expected ${errno}, nothing was thrown`);
}

describe.skipIf(!kernel)('map creation: every type, as the kernel reports it', () => {
  const specs: MapSpec[] = [
    { type: 'HASH', name: 'm_hash', key: 4, value: 8, maxEntries: 64 },
    { type: 'ARRAY', name: 'm_array', key: 4, value: 16, maxEntries: 8 },
    { type: 'PERCPU_HASH', name: 'm_pc_hash', key: 8, value: 4, maxEntries: 32 },
    { type: 'PERCPU_ARRAY', name: 'm_pc_array', key: 4, value: 12, maxEntries: 4 },
    { type: 'LRU_HASH', name: 'm_lru', key: 16, value: 8, maxEntries: 128 },
    { type: 'LRU_PERCPU_HASH', name: 'm_lru_pc', key: 4, value: 8, maxEntries: 128 },
    { type: 'LPM_TRIE', name: 'm_lpm', key: 8, value: 4, maxEntries: 16 },
    { type: 'PROG_ARRAY', name: 'm_progs', key: 4, maxEntries: 4 },
    { type: 'ARRAY_OF_MAPS', name: 'm_aom', key: 4, maxEntries: 4, innerMap: { type: 'HASH', key: 4, value: 4, maxEntries: 8 } },
    { type: 'HASH_OF_MAPS', name: 'm_hom', key: 4, maxEntries: 4, innerMap: { type: 'ARRAY', key: 4, value: 4, maxEntries: 2 } },
    { type: 'RINGBUF', name: 'm_ring', maxEntries: 4096 },
    { type: 'SOCKMAP', name: 'm_sockmap', key: 4, maxEntries: 4 },
    { type: 'SOCKHASH', name: 'm_sockhash', key: 4, maxEntries: 4 },
  ];

  for (const spec of specs) {
    it(`${spec.type}`, () => {
      using m = BpfMap.create(spec);
      const info = m.info();
      expect(info.typeName).toBe(spec.type);
      expect(info.name).toBe(spec.name);
      expect(info.keySize).toBe(m.keySize);
      expect(info.valueSize).toBe(m.valueSize);
      expect(info.maxEntries).toBe(spec.maxEntries);
      expect(info.flags).toBe(spec.type === 'LPM_TRIE' ? MapFlag.NO_PREALLOC : 0);
      expect(info.id).toBeGreaterThan(0);
      if (bpftool) {
        const shown = bpftoolMapShow(info.id);
        expect(shown.bytes_key).toBe(m.keySize);
        expect(shown.bytes_value).toBe(m.valueSize);
        expect(shown.max_entries).toBe(spec.maxEntries);
        expect(shown.name).toBe(spec.name);
      }
    });
  }

  it('reports bad specs before any syscall, and kernel refusals as BpfError', () => {
    expect(() => BpfMap.create({ type: 'HASH', key: 4, maxEntries: 1 } as MapSpec)).toThrow(LoaderError);
    expect(() => BpfMap.create({ type: 'HASH', name: 'bad name!', key: 4, value: 4, maxEntries: 1 })).toThrow(/name/);
    expect(() => BpfMap.create({ type: 'ARRAY_OF_MAPS', key: 4, maxEntries: 1 })).toThrow(/innerMap/);
    const err = expectErrno(() => BpfMap.create({ type: 'HASH', name: 'zero_key', key: 0, value: 4, maxEntries: 1 }), 'EINVAL', 'BPF_MAP_CREATE');
    expect(err.message).toContain('zero_key');
    expect(err.code).toBe('BPF_EINVAL');
  });
});

describe.skipIf(!kernel)('element operations', () => {
  it('hash: set/get/has/delete, NOEXIST → EEXIST, EXIST → ENOENT, iteration', () => {
    using m = BpfMap.create({ type: 'HASH', name: 'crud', key: 4, value: 8, maxEntries: 16 });
    expect(m.get(1)).toBeUndefined();
    m.set(1, 100n);
    expect(fromLe(m.get(1)!)).toBe(100n);
    expect(m.has(1)).toBe(true);
    expectErrno(() => m.set(1, 5n, 'noexist'), 'EEXIST', 'BPF_MAP_UPDATE_ELEM');
    expect(fromLe(m.get(1)!)).toBe(100n);
    expectErrno(() => m.set(2, 5n, 'exist'), 'ENOENT', 'BPF_MAP_UPDATE_ELEM');
    expect(m.has(2)).toBe(false);
    m.set(1, 7n, 'exist');
    m.set(2, 8n, 'noexist');
    expect(fromLe(m.get(1)!)).toBe(7n);
    const keys = [...m.keys()].map((k) => Number(fromLe(k))).sort();
    expect(keys).toEqual([1, 2]);
    const entries = new Map([...m.entries()].map(([k, v]) => [Number(fromLe(k)), fromLe(v)]));
    expect(entries).toEqual(new Map([[1, 7n], [2, 8n]]));
    expect(m.delete(1)).toBe(true);
    expect(m.delete(1)).toBe(false);
    expect(m.get(1)).toBeUndefined();
    // wrong key length is caught before the syscall
    expect(() => m.get(new Uint8Array(3))).toThrow(LoaderError);
    if (bpftool) expect(bpftoolDump(m.info().id)).toEqual([{ key: [...le(2, 4)], value: [...le(8, 8)] }]);
  });

  it('hash full → E2BIG with a message saying so', () => {
    using m = BpfMap.create({ type: 'HASH', name: 'full', key: 4, value: 4, maxEntries: 2 });
    m.set(1, 1).set(2, 2);
    const err = expectErrno(() => m.set(3, 3), 'E2BIG');
    expect(err.message).toMatch(/BPF_MAP_UPDATE_ELEM \(update of map "full" \(HASH\)\) failed: E2BIG.*full/);
  });

  it('array: every index exists; NOEXIST → EEXIST; delete → EINVAL; out of range → E2BIG', () => {
    using m = BpfMap.create({ type: 'ARRAY', name: 'arr', key: 4, value: 4, maxEntries: 4 });
    expect(fromLe(m.get(3)!)).toBe(0n);
    expectErrno(() => m.set(0, 1, 'noexist'), 'EEXIST');
    m.set(2, 0xdeadbeef);
    expect(fromLe(m.get(2)!)).toBe(0xdeadbeefn);
    expectErrno(() => m.delete(2), 'EINVAL', 'BPF_MAP_DELETE_ELEM');
    expectErrno(() => m.set(4, 1), 'E2BIG');
    expect([...m.keys()].map((k) => Number(fromLe(k)))).toEqual([0, 1, 2, 3]);
    if (bpftool) {
      const dump = bpftoolDump(m.info().id);
      expect(dump.map((e) => Number(fromLe(e.value!)))).toEqual([0, 0, 0xdeadbeef, 0]);
    }
  });

  it('per-CPU maps: one value per possible CPU, agreeing with bpftool', () => {
    const cpus = possibleCpus();
    expect(cpus).toBeGreaterThanOrEqual(1);
    for (const type of ['PERCPU_HASH', 'PERCPU_ARRAY', 'LRU_PERCPU_HASH'] as const) {
      // 12-byte values: each CPU's slot is rounded up to 16 bytes in the syscall buffer
      using m = BpfMap.create({ type, name: `pc_${type}`.slice(0, 15), key: 4, value: 12, maxEntries: 4 });
      expect(m.valueBufferSize).toBe(16 * cpus);
      const values = Array.from({ length: cpus }, (_, cpu) => le(0x1000 + cpu, 12));
      m.set(1, values);
      const got = m.get(1)!;
      expect(got).toHaveLength(cpus);
      got.forEach((v, cpu) => expect(fromLe(v)).toBe(BigInt(0x1000 + cpu)));
      // a single value is replicated to every CPU
      m.set(2, le(42, 12));
      expect(m.get(2)!.map((v) => Number(fromLe(v)))).toEqual(Array(cpus).fill(42));
      expect(() => m.set(3, [le(1, 12)].concat(values))).toThrow(/possible CPUs/);
      if (bpftool) {
        const entry = bpftoolDump(m.info().id).find((e) => fromLe(e.key) === 1n)!;
        expect(entry.values!.map((v) => Number(fromLe(v)))).toEqual(values.map((_, cpu) => 0x1000 + cpu));
      }
    }
  });

  it('LRU hash evicts instead of failing when full', () => {
    using m = BpfMap.create({ type: 'LRU_HASH', name: 'lru', key: 4, value: 4, maxEntries: 64, flags: MapFlag.NO_COMMON_LRU });
    for (let i = 0; i < 1000; i++) m.set(i, i);
    const n = [...m.keys()].length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(64);
    expect(m.has(999)).toBe(true);
  });

  it('LPM trie: longest-prefix lookup', () => {
    using m = BpfMap.create({ type: 'LPM_TRIE', name: 'lpm', key: 8, value: 4, maxEntries: 8 });
    const key = (prefix: number, ip: number[]) => new Uint8Array([...le(prefix, 4), ...ip]);
    m.set(key(8, [10, 0, 0, 0]), 8);
    m.set(key(24, [10, 1, 2, 0]), 24);
    expect(fromLe(m.get(key(32, [10, 1, 2, 3]))!)).toBe(24n);
    expect(fromLe(m.get(key(32, [10, 9, 9, 9]))!)).toBe(8n);
    expect(m.get(key(32, [11, 0, 0, 0]))).toBeUndefined();
    expect([...m.keys()]).toHaveLength(2);
    expect(m.delete(key(24, [10, 1, 2, 0]))).toBe(true);
    expect(fromLe(m.get(key(32, [10, 1, 2, 3]))!)).toBe(8n);
  });

  it('array/hash of maps: inner map fds in, inner map ids out', () => {
    using scope = new FdScope();
    const inner = scope.add(BpfMap.create({ type: 'HASH', name: 'inner', key: 4, value: 4, maxEntries: 8 }));
    const outerA = scope.add(BpfMap.create({ type: 'ARRAY_OF_MAPS', name: 'outer_a', key: 4, maxEntries: 2 }, { innerMap: inner }));
    const outerH = scope.add(BpfMap.create({ type: 'HASH_OF_MAPS', name: 'outer_h', key: 4, maxEntries: 2 }, { innerMap: inner }));
    outerA.set(1, inner);
    outerH.set(77, inner.fd);
    const id = inner.info().id;
    expect(outerA.get(1)).toBe(id);
    expect(outerH.get(77)).toBe(id);
    expect(outerA.get(0)).toBeUndefined();
    // an inner map of another shape is refused
    using odd = BpfMap.create({ type: 'HASH', name: 'odd', key: 8, value: 4, maxEntries: 8 });
    expectErrno(() => outerH.set(1, odd), 'EINVAL');
    expect(outerH.delete(77)).toBe(true);
  });

  it('sockhash/sockmap: socket fds in, socket cookies out', async () => {
    const dgram = await import('node:dgram');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    try {
      const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
      expect(fd).toBeGreaterThan(2);
      using sh = BpfMap.create({ type: 'SOCKHASH', name: 'sh', key: 4, maxEntries: 2 });
      using sm = BpfMap.create({ type: 'SOCKMAP', name: 'sm', key: 4, maxEntries: 2 });
      sh.set(5, fd);
      sm.set(1, fd);
      const cookie = sh.get(5);
      expect(typeof cookie).toBe('bigint');
      expect(cookie).toBeGreaterThan(0n);
      expect(sm.get(1)).toBe(cookie);
      expect(sh.delete(5)).toBe(true);
      expect(sm.get(0)).toBeUndefined();
    } finally {
      sock.close();
    }
  });

  it('freeze: user-space writes fail with EPERM afterwards, reads still work', () => {
    using m = BpfMap.create({ type: 'ARRAY', name: 'frozen', key: 4, value: 4, maxEntries: 2 });
    m.set(0, 9);
    m.freeze();
    expectErrno(() => m.set(0, 1), 'EPERM', 'BPF_MAP_UPDATE_ELEM');
    expect(fromLe(m.get(0)!)).toBe(9n);
    if (bpftool) expect(bpftoolMapShow(m.info().id).frozen).toBe(1);
  });

  it('lookupAndDelete on a hash map', () => {
    using m = BpfMap.create({ type: 'HASH', name: 'lad', key: 4, value: 4, maxEntries: 4 });
    m.set(3, 33);
    expect(fromLe(m.lookupAndDelete(3)!)).toBe(33n);
    expect(m.has(3)).toBe(false);
    expect(m.lookupAndDelete(3)).toBeUndefined();
  });
});

describe.skipIf(!kernel)('batch operations', () => {
  const batchable = ['HASH', 'LRU_HASH', 'PERCPU_HASH', 'LRU_PERCPU_HASH', 'ARRAY', 'PERCPU_ARRAY'] as const;
  for (const type of batchable) {
    it(`${type}: update, lookup (small batches), delete, lookup-and-delete`, () => {
      const isArray = type.endsWith('ARRAY');
      const n = 300;
      using m = BpfMap.create({ type, name: `b_${type}`.slice(0, 15), key: 4, value: 8, maxEntries: 512 });
      const cpus = m.valuesPerKey;
      const entries = Array.from({ length: n }, (_, i) => [i, le(i * 3 + 1, 8)] as const);
      expect(m.updateBatch(entries)).toBe(n);
      const read = m.lookupBatch({ batchSize: 7 });
      const want = isArray ? 512 : n;
      expect(read).toHaveLength(want);
      const byKey = new Map(read.map(([k, v]) => [Number(fromLe(k)), v]));
      for (let i = 0; i < n; i++) {
        const v = byKey.get(i)!;
        const vals = Array.isArray(v) ? v : [v];
        expect(vals).toHaveLength(cpus);
        for (const x of vals) expect(fromLe(x as Uint8Array)).toBe(BigInt(i * 3 + 1));
      }
      // Cross-check with the element-wise path and with bpftool.
      expect(fromLe((m.perCpu ? (m.get(123) as Uint8Array[])[0] : (m.get(123) as Uint8Array))!)).toBe(370n);
      if (bpftool) expect(bpftoolDump(m.info().id)).toHaveLength(want);
      if (isArray) {
        expectErrno(() => m.deleteBatch([1, 2]), 'ENOTSUPP', 'BPF_MAP_DELETE_BATCH');
      } else {
        expect(m.deleteBatch([0, 1, 2, 3, 4])).toBe(5);
        expect(m.has(4)).toBe(false);
        expectErrno(() => m.deleteBatch([4]), 'ENOENT');
        const drained = m.lookupBatch({ batchSize: 50, delete: true });
        expect(drained).toHaveLength(n - 5);
        expect([...m.keys()]).toHaveLength(0);
      }
    });
  }

  it('update batch replaces existing entries; a full map stops it with E2BIG and the count done', () => {
    using m = BpfMap.create({ type: 'HASH', name: 'b_full', key: 4, value: 4, maxEntries: 3 });
    m.set(2, 1);
    expect(m.updateBatch([[1, 1], [2, 2]])).toBe(2);
    expect(fromLe(m.get(2)!)).toBe(2n);
    const err = expectErrno(() => m.updateBatch([[3, 3], [4, 4], [5, 5]]), 'E2BIG', 'BPF_MAP_UPDATE_BATCH');
    expect(err.message).toContain('after 1 element(s)');
    expect(err.message).toContain('full');
  });

  it('LPM trie: batch update, lookup, delete', () => {
    using m = BpfMap.create({ type: 'LPM_TRIE', name: 'b_lpm', key: 8, value: 4, maxEntries: 8 });
    const k = (p: number, a: number) => new Uint8Array([...le(p, 4), 10, a, 0, 0]);
    expect(m.updateBatch([[k(16, 1), 1], [k(16, 2), 2]])).toBe(2);
    expect([...m.keys()]).toHaveLength(2);
    expect(m.lookupBatch().map(([key, v]) => [key[5], Number(fromLe(v))]).sort()).toEqual([[1, 1], [2, 2]]);
    expect(m.deleteBatch([k(16, 1)])).toBe(1);
    expect(m.lookupBatch()).toHaveLength(1);
  });

  it('types without batch support say so with a typed error naming the command', () => {
    using progs = BpfMap.create({ type: 'PROG_ARRAY', name: 'nb_progs', key: 4, maxEntries: 2 });
    using socks = BpfMap.create({ type: 'SOCKHASH', name: 'nb_socks', key: 4, maxEntries: 2 });
    for (const m of [progs, socks]) {
      const err = expectErrno(() => m.lookupBatch(), 'ENOTSUPP', 'BPF_MAP_LOOKUP_BATCH');
      expect(err.message).toMatch(/not supported/);
    }
    using ring = BpfMap.create({ type: 'RINGBUF', name: 'nb_ring', maxEntries: 4096 });
    expect(() => ring.lookupBatch()).toThrow(BpfError);
  });

  it('map-in-map batch lookup returns inner ids', () => {
    using inner = BpfMap.create({ type: 'ARRAY', name: 'bi', key: 4, value: 4, maxEntries: 1 });
    using outer = BpfMap.create({ type: 'HASH_OF_MAPS', name: 'bo', key: 4, maxEntries: 4 }, { innerMap: inner });
    outer.set(1, inner).set(2, inner);
    const got = outer.lookupBatch();
    expect(got.map(([, v]) => v)).toEqual([inner.info().id, inner.info().id]);
  });
});
