/**
 * One map spec: the MapSpec a DSL build puts in its ObjectSpec (what the ELF
 * writer serialises) is what BpfMap.create takes, unchanged; fields of the
 * former loader-only spec are refused with a message saying where they went,
 * not silently ignored.
 */
import { describe, expect, it } from 'vitest';
import { arrayMap, buildObject, hashMap, program } from '../../dsl/program/index.js';
import { struct, u32, u64 } from '../../dsl/types/index.js';
import { BpfMap, LoaderError } from '../../loader/index.js';
import { need } from '../support/env.js';

const Flow = struct('ms_flow', { addr: u32, port: u32 });
const Stats = struct('ms_stats', { packets: u64, bytes: u64 });
const flows = hashMap('ms_flows', Flow, Stats, { maxEntries: 8 });
const slots = arrayMap('ms_slots', u64, { maxEntries: 2 });
const prog = program('tc', 'ms_prog', (b) => {
  b.lookup(flows, { addr: 1, port: 2 }).ifPresent((s) => s.packets.set(s.packets.add(1)));
  b.lookup(slots, 0).ifPresent((v) => v.set(v.add(1)));
  b.return(0);
});

describe('one map spec', () => {
  it('refuses fields of the former loader spec before touching the kernel', () => {
    expect(() => BpfMap.create({ type: 'HASH', keySize: 4, value: 4, maxEntries: 1 } as never)).toThrow(/'keySize' is not a map spec field; give key: <bytes>/);
    expect(() => BpfMap.create({ type: 'HASH', key: 4, valueSize: 4, maxEntries: 1 } as never)).toThrow(LoaderError);
    expect(() => BpfMap.create({ type: 'HASH', key: 4, value: 4, maxEntries: 1, btf: { fd: 0, keyTypeId: 1, valueTypeId: 1 } } as never)).toThrow(/options\.btf/);
    expect(() => BpfMap.create({ type: 'NOPE' as never, key: 4, value: 4, maxEntries: 1 })).toThrow(/unknown map type 'NOPE'/);
  });

  it.skipIf(!need({ kernel: true }))('an ObjectSpec MapSpec creates the map as is, typed by its schemas', () => {
    const spec = buildObject([prog], { target: '6.6' });
    const [flowSpec, slotSpec] = ['ms_flows', 'ms_slots'].map((n) => spec.maps!.find((m) => m.name === n)!);
    expect(flowSpec!.type).toBe('HASH');
    using m = BpfMap.create(flowSpec!);
    expect(m.type).toBe('HASH');
    expect([m.keySize, m.valueSize]).toEqual([Flow.size, Stats.size]);
    m.set({ addr: 7, port: 9 } as never, { packets: 3n, bytes: 100n } as never);
    expect(m.get({ addr: 7, port: 9 } as never)).toEqual({ packets: 3n, bytes: 100n });
    using a = BpfMap.create(slotSpec!);
    expect(a.info().typeName).toBe('ARRAY');
    // A numeric type and byte sizes are the same model.
    using raw = BpfMap.create({ type: 1, name: 'ms_raw', key: 4, value: 8, maxEntries: 2 });
    expect(raw.type).toBe('HASH');
    expect(raw.info()).toMatchObject({ keySize: 4, valueSize: 8 });
  });
});
