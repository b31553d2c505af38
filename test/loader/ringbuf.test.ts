/**
 * Ring buffers: records a program emits with bpf_ringbuf_output (under
 * BPF_PROG_TEST_RUN) are read back in user space through the mmap'ed pages, in
 * order, across the wrap of the data area.
 */
import { describe, expect, it } from 'vitest';
import { asm } from '../../dsl/isa/index.js';
import { BpfMap, LoaderError, Program, RingBuffer } from '../../loader/index.js';
import { need } from '../support/env.js';
import { fromLe } from './helpers.js';

const kernel = need({ kernel: true });
const FN_RINGBUF_OUTPUT = 130;

describe.skipIf(!kernel)('ring buffer reader', () => {
  it('reads what bpf_ringbuf_output wrote, in order, also after the data area wraps', () => {
    using ring = BpfMap.create({ type: 'RINGBUF', name: 'events', maxEntries: 4096 });
    using counter = BpfMap.create({ type: 'ARRAY', name: 'seq', key: 4, value: 8, maxEntries: 1 });
    // Each run: seq += 1; emit 24 bytes {seq, 0xabcd, packet length}.
    const insns = asm()
      .mov64('r6', 'r1')
      .ldMapValue('r7', 'seq', 0)
      .ldxdw('r2', 'r7', 0)
      .add64('r2', 1)
      .stxdw('r7', 0, 'r2')
      .stxdw('r10', -24, 'r2')
      .mov64('r3', 0xabcd)
      .stxdw('r10', -16, 'r3')
      .ldxw('r3', 'r6', 0) // __sk_buff.len
      .stxdw('r10', -8, 'r3')
      .ldMapFd('r1', 'events')
      .mov64('r2', 'r10')
      .add64('r2', -24)
      .mov64('r3', 24)
      .mov64('r4', 0)
      .call(FN_RINGBUF_OUTPUT)
      .mov64('r0', 0)
      .exit()
      .build();
    using prog = Program.load({ section: 'socket', name: 'emit', instructions: insns }, { maps: { events: ring, seq: counter } });
    using reader = new RingBuffer(ring);
    expect(reader.read()).toEqual([]);

    prog.run({ data: new Uint8Array(64), repeat: 3 });
    expect(reader.pending).toBe(3 * 32);
    const first = reader.read();
    expect(first.map((r) => [fromLe(r.subarray(0, 8)), fromLe(r.subarray(8, 16)), r.length])).toEqual([
      [1n, 0xabcdn, 24],
      [2n, 0xabcdn, 24],
      [3n, 0xabcdn, 24],
    ]);
    expect(reader.pending).toBe(0);

    // 4096 bytes hold 128 records of 32; run 300 times in batches of 100, draining between.
    let seq = 3n;
    for (let round = 0; round < 3; round++) {
      prog.run({ data: new Uint8Array(64), repeat: 100 });
      const got = reader.read();
      expect(got).toHaveLength(100);
      for (const r of got) expect(fromLe(r.subarray(0, 8))).toBe(++seq);
    }
    reader.close();
    reader.close();
    expect(() => reader.read()).toThrow(LoaderError);
  });

  it('refuses a map that is not a ring buffer', () => {
    using m = BpfMap.create({ type: 'ARRAY', key: 4, value: 4, maxEntries: 1 });
    expect(() => new RingBuffer(m)).toThrow(/not a ringbuf/);
  });
});
